/**
 * The one rule for where a JWKS may be fetched from, used when a `jwksUri` is stored (admin API, CLI)
 * and again at fetch time (the database could hold anything: an older row, a hand edit, another writer),
 * so a key source is never talked into plain HTTP over the network.
 */

/**
 * Whether a WHATWG-normalised host name is the loopback interface: `localhost`, 127.0.0.0/8, or `[::1]`.
 * The URL parser has already rewritten `127.1`, `0x7f.1` and `2130706433` to dotted quads and
 * `[0:0:0:0:0:0:0:1]` to `[::1]`, so exact forms suffice.
 */
export function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  const quad = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return quad !== null && quad.slice(1).every((octet) => Number(octet) <= 255);
}

/** Why a JWKS URI is refused, as a stable code. */
export type JwksUriProblemCode = 'not_absolute' | 'http_not_loopback' | 'scheme_not_https' | 'credentials' | 'fragment';

/** A JWKS URI that may be fetched, or why not (`problem`: a fixed sentence that never echoes the URI). */
export type JwksUrlCheck = { ok: true; url: URL } | { ok: false; code: JwksUriProblemCode; problem: string };

const PROBLEMS: Record<JwksUriProblemCode, string> = {
  not_absolute: 'not an absolute URL',
  http_not_loopback: 'http: on a host that is not loopback (https: is required)',
  scheme_not_https: 'a scheme other than https: (or http: on loopback)',
  credentials: 'credentials in the URL',
  fragment: 'a #fragment',
};

/**
 * `https:`, or `http:` on a loopback host only (keys fetched over plain HTTP across a network could be
 * swapped on the way, RFC 7517 §9.1); no `user:password@` (it would be sent to the
 * server and shown to every admin); no `#fragment` (meaningless to a server, RFC 3986 §3.5).
 *
 * @example
 * const check = checkJwksUrl(idp.jwksUri);
 * if (!check.ok) throw new JwtBearerError('key_source_unavailable', { detail: `jwks_uri refused: ${check.problem}` });
 */
export function checkJwksUrl(value: string): JwksUrlCheck {
  const refuse = (code: JwksUriProblemCode): JwksUrlCheck => ({ ok: false, code, problem: PROBLEMS[code] });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse('not_absolute');
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHostname(url.hostname)) return refuse('http_not_loopback');
  } else if (url.protocol !== 'https:') {
    return refuse('scheme_not_https');
  }
  if (url.username || url.password) return refuse('credentials');
  if (url.hash) return refuse('fragment');
  return { ok: true, url };
}
