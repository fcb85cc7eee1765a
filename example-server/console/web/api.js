/**
 * The admin API as the console calls it: same origin, the token only in `Authorization: Bearer`,
 * never in a URL; nothing cached; the tenant as `?tenantDomain=`.
 */

/**
 * An answer other than 2xx: `error`, `description` and `field` as the admin API sends them, and for an
 * expression that does not compile, `position` (`{start, end}`, character offsets into the expression).
 */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error_description) || `The server answered ${status}.`);
    this.status = status;
    this.error = body && body.error;
    this.field = body && body.field;
    this.position = body && body.position && Number.isInteger(body.position.start) ? body.position : undefined;
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {}

const DEFAULT_TENANT = 'carbon.super';

/**
 * @param {{ token: string, tenant?: string, onUnauthorized?: () => void }} options
 */
export function createApi({ token, tenant = DEFAULT_TENANT, onUnauthorized }) {
  async function call(method, path, { body, query = {}, tenantScoped = true } = {}) {
    const params = new URLSearchParams();
    if (tenantScoped && tenant !== DEFAULT_TENANT) params.set('tenantDomain', tenant);
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, value);
    const search = params.toString();
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(`/admin${path}${search ? `?${search}` : ''}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        redirect: 'error',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new NetworkError('The server cannot be reached. Is it still running?');
    }
    if (res.status === 204) return null;
    const answer = await res.json().catch(() => null);
    if (res.status === 401 && onUnauthorized) onUnauthorized();
    if (!res.ok) throw new ApiError(res.status, answer);
    return answer;
  }
  return {
    tenant,
    get: (path, options) => call('GET', path, options),
    post: (path, body, options) => call('POST', path, { ...options, body }),
    patch: (path, body, options) => call('PATCH', path, { ...options, body }),
    del: (path, options) => call('DELETE', path, options),
  };
}

/** The WSO2 page's curl command, with `?tenantDomain=` for another tenant than carbon.super. */
export function curlCommand({ clientId, clientSecret, tokenEndpointUrl, tenant }) {
  const url = tenant && tenant !== DEFAULT_TENANT ? `${tokenEndpointUrl}?tenantDomain=${encodeURIComponent(tenant)}` : tokenEndpointUrl;
  return `curl -i -X POST -u ${clientId}:${clientSecret} -k -d 'grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>' -H 'Content-Type: application/x-www-form-urlencoded' ${url}`;
}

/** The first name of an API `field` (`certificates[1]` → `certificates`, `algorithms[0]` → `algorithms`). */
export function fieldRoot(field) {
  return typeof field === 'string' ? field.split(/[.[]/)[0] : '';
}

/** A JWT's header and claims, decoded without any verification (null when it is not a JWT). */
export function decodeJwt(text) {
  const parts = text.trim().split('.');
  if (parts.length !== 3) return null;
  try {
    const part = (s) => {
      const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    };
    return { header: part(parts[0]), claims: part(parts[1]) };
  } catch {
    return null;
  }
}

/** A certificate file as the admin API takes it: PEM text (one entry per certificate block), or the base64 of DER bytes. */
export async function certificateEntries(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder('utf-8').decode(bytes);
  if (text.includes('-----BEGIN')) {
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) || [];
    const others = text.replace(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g, '').includes('-----BEGIN');
    // Anything else in the file (a private key…) goes to the API whole, so that it refuses it and says why.
    return blocks.length > 0 && !others ? blocks : [text];
  }
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return [btoa(binary)];
}
