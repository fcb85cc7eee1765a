/**
 * The rule for where a JWKS may be fetched from (SPEC §6), applied again at fetch time: the admin API
 * and the CLI check `jwksUri` when it is stored, but the database could hold anything (an older row, a
 * hand edit, another writer), and a key source must never be talked into plain HTTP over the network.
 */

/**
 * Whether a WHATWG-normalised host name is the loopback interface: `localhost`, 127.0.0.0/8, or `[::1]`.
 * The URL parser has already rewritten `127.1`, `0x7f.1` and `2130706433` to dotted quads and
 * `[0:0:0:0:0:0:0:1]` to `[::1]`, so exact forms suffice. (Same rule as the admin API's.)
 */
export function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  const quad = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return quad !== null && quad.slice(1).every((octet) => Number(octet) <= 255);
}

/** A JWKS URI that may be fetched, or why not (a fixed sentence that never echoes the URI). */
export type JwksUrlCheck = { ok: true; url: URL } | { ok: false; problem: string };

/**
 * SPEC §6 at fetch time: `https:`, or `http:` on a loopback host only (keys fetched over plain HTTP
 * across a network could be swapped on the way); no `user:password@` (it would be sent to the server
 * and shown to every admin); no `#fragment` (meaningless to a server; refused as the admin API does).
 *
 * @example
 * const check = checkJwksUrl(idp.jwksUri);
 * if (!check.ok) throw new JwtBearerError('key_source_unavailable', { detail: `jwks_uri refused: ${check.problem}` });
 */
export function checkJwksUrl(value: string): JwksUrlCheck {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: 'not an absolute URL' };
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHostname(url.hostname)) return { ok: false, problem: 'http: on a host that is not loopback (https: is required)' };
  } else if (url.protocol !== 'https:') {
    return { ok: false, problem: 'a scheme other than https: (or http: on loopback)' };
  }
  if (url.username || url.password) return { ok: false, problem: 'credentials in the URL' };
  if (url.hash) return { ok: false, problem: 'a #fragment' };
  return { ok: true, url };
}
