/**
 * RFC 6749 §2.3.1: the client id and secret are form-url-encoded before they go into HTTP Basic.
 * openid-client and oauth4webapi encode (`-` → `%2D`); `curl -u` does not. node-oauth2-server does not
 * decode, so we hand it an Authorization header rebuilt from the decoded values: both kinds of client
 * then authenticate with the same credentials.
 */

/** `undefined`: no Basic header (leave it to the host); `null`: a Basic header we cannot read. */
export function normaliseBasicAuthorization(header: string | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match) return /^Basic(\s|$)/i.test(header) ? null : undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  // After decoding, a colon in the id could not be told apart from the separator by the host.
  if (id === null || secret === null || id.includes(':')) return null;
  return `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
}

function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
