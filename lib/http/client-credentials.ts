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
  // After decoding, a colon in the id could not be told apart from the separator by the host. An empty
  // id, or characters outside VSCHAR (RFC 6749 Appendix A.1, A.2), cannot name a client: bad credentials
  // in the header, so 401 (SPEC §4), rather than the host's 400 "Invalid parameter".
  if (id === null || secret === null || id.includes(':') || !VSCHAR.test(id) || !(secret === '' || VSCHAR.test(secret))) return null;
  return `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
}

const VSCHAR = /^[\x20-\x7E]+$/;

/**
 * RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request"; §5.2
 * names the answer (`invalid_request`). With HTTP Basic (`authorization`, as normalised above), the body
 * may still name the same client (§3.2.1) but carry no secret and name no other client: otherwise a
 * request with a wrong `client_secret` in its body would be served on the strength of its header.
 */
export function usesTwoAuthenticationMethods(authorization: string, body: Record<string, unknown>): boolean {
  if (body.client_secret !== undefined) return true;
  if (body.client_id === undefined) return false;
  const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
  return body.client_id !== decoded.slice(0, decoded.indexOf(':'));
}

function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
