import type { IncomingMessage } from 'node:http';
import { JwtBearerError, StoreUnavailableError } from '../errors';
import { DEFAULT_TENANT, resolveTenant } from '../grant/request-context';
import { invokeModel, type HostModel } from '../host';
import type { GrantStore } from '../store/types';
import type { Tenant } from '../types';
import { answerFor } from './failure';
import { FormBodyError, readFormBody, type FormFields } from './form-body';

/**
 * Client authentication at an endpoint of the authorization server (RFC 6749 §2.3): the work the token
 * endpoint does before node-oauth2-server runs, as one reusable piece, so that RFC 7009 revocation, RFC
 * 7662 introspection or any other client-facing endpoint of a host authenticates the calling client in
 * exactly the same way.
 *
 * Steps, in order, each failing with a {@link ClientAuthenticationFailure} of a stable `code`:
 * 1. `POST` only (`method_not_allowed`) with an `application/x-www-form-urlencoded` body
 *    (`content_type_invalid`), at most `bodyLimitBytes` bytes (`body_too_large`), each parameter once
 *    (RFC 6749 §3.2: `parameter_repeated`; a nested `a[b]=c` from a host body parser: `parameter_malformed`).
 * 2. `?tenantDomain=` names a known tenant; none means the default one (`tenant_unknown`).
 * 3. The credentials: HTTP Basic with form-url-decoded id and secret (RFC 6749 §2.3.1), or `client_id` and
 *    `client_secret` in the body; never both methods (RFC 6749 §2.3: `client_auth_multiple`). An unreadable
 *    Basic header, or no credentials at all: `invalid_client`.
 * 4. The host model's `getClient(clientId, clientSecret)`, called on the tenant-bound model
 *    (`Object.create(model, { tenant })`, so it reads the tenant as `this.tenant`): no client is
 *    `invalid_client` (401, `WWW-Authenticate: Basic`, RFC 6749 §5.2).
 *
 * @packageDocumentation
 */

/** The authentication methods of RFC 6749 §2.3.1, by their registered names (RFC 7591 §2). */
export type ClientAuthenticationMethod = 'client_secret_basic' | 'client_secret_post';

/** Client credentials as the request presents them, decoded. */
export interface ClientCredentials {
  clientId: string;
  /** Absent when the body names a `client_id` without a `client_secret` (a public client). */
  clientSecret?: string;
  method: ClientAuthenticationMethod;
}

/** Stable codes of {@link ClientAuthenticationFailure}; they double as log and metric reasons. */
export type ClientAuthenticationErrorCode =
  | 'method_not_allowed'
  | 'content_type_invalid'
  | 'body_too_large'
  | 'parameter_repeated'
  | 'parameter_malformed'
  | 'tenant_unknown'
  | 'client_auth_multiple'
  | 'invalid_client'
  | 'store_unavailable'
  | 'server_error';

/**
 * A refusal, as a value: what to answer (`status`, OAuth `error` and a fixed `description` that never
 * echoes the request) and, for 401, the `WWW-Authenticate` challenge. `cause` is for logs only.
 */
export interface ClientAuthenticationFailure {
  ok: false;
  code: ClientAuthenticationErrorCode;
  status: number;
  error: string;
  description: string;
  /** The `WWW-Authenticate` challenge to send with a 401 (RFC 6749 §5.2). */
  wwwAuthenticate?: string;
  /** The `Allow` header to send with a 405 (RFC 9110 §15.5.6). */
  allow?: string;
  cause?: unknown;
}

/** What the request carried, before any client lookup: see {@link readClientRequest}. */
export interface ClientRequest {
  ok: true;
  /** The form parameters, one value each. */
  body: FormFields;
  /** The `tenantDomain` query value as sent (unvalidated; `undefined` for none). */
  tenantDomain: unknown;
  /** The decoded credentials; `undefined` when the request carries none. */
  credentials?: ClientCredentials;
  /** Why the credentials cannot be used, when they cannot: to report after the tenant (see {@link bindTenant}). */
  credentialsFailure?: ClientAuthenticationFailure;
}

/** A client that authenticated, with its tenant and the request's parameters. */
export interface AuthenticatedClient<Client = unknown> {
  ok: true;
  /** What the host model's `getClient` returned. */
  client: Client;
  clientId: string;
  method: ClientAuthenticationMethod;
  tenant: Tenant;
  /** The form parameters, one value each (`client_id` and `client_secret` included when sent there). */
  body: FormFields;
  /** The host model bound to the tenant: call further model methods on it. */
  model: HostModel & { tenant: Tenant };
}

/** Options of {@link authenticateClient}. */
export interface ClientAuthenticationOptions {
  /** The host model; `getClient(clientId, clientSecret)` may return a promise or (3.x) call back. */
  model: HostModel;
  /** Resolves `?tenantDomain=` (the package's {@link GrantStore}, e.g. `KnexGrantStore`). */
  store: Pick<GrantStore, 'findTenant'>;
  /** Largest accepted body in bytes (default {@link DEFAULT_FORM_BODY_LIMIT_BYTES}); larger is 413. */
  bodyLimitBytes?: number;
}

/** The default `bodyLimitBytes`: 64 KiB, room for an assertion with a certificate chain. */
export const DEFAULT_FORM_BODY_LIMIT_BYTES = 64 * 1024;

/** The challenge sent with every 401 `invalid_client` (RFC 6749 §5.2, RFC 7617). */
export const CLIENT_BASIC_CHALLENGE = 'Basic realm="oauth2"';

/** An Express (4 or 5) request, or a bare Node request with `query` unset. */
export type ClientAuthenticationRequest = IncomingMessage & {
  query?: Record<string, unknown>;
  is?(type: string): string | false | null;
  body?: unknown;
  _body?: boolean;
};

/**
 * Authenticates the client calling an endpoint, as the token endpoint does (steps in the module
 * comment above): resolves to the client, its tenant and the form parameters, or to a failure value
 * with a stable `code`. It never throws for anything the request sent; an unreachable database is
 * `store_unavailable` (503), any other fault `server_error` (500), with the error in `cause`.
 *
 * A request without a secret (`client_id` alone) is refused: endpoints that take public clients should
 * use {@link readClientRequest} and decide themselves.
 *
 * @example
 * // RFC 7009 revocation in an Express app, for clients of the host model
 * app.post('/oauth2/revoke', async (req, res) => {
 *   const auth = await authenticateClient(req, { model, store });
 *   res.setHeader('Cache-Control', 'no-store');
 *   if (!auth.ok) {
 *     if (auth.wwwAuthenticate) res.setHeader('WWW-Authenticate', auth.wwwAuthenticate);
 *     return res.status(auth.status).json({ error: auth.error, error_description: auth.description });
 *   }
 *   await revokeToken(auth.tenant, auth.client, auth.body.token);
 *   res.status(200).end();
 * });
 */
export async function authenticateClient<Client = unknown>(
  req: ClientAuthenticationRequest,
  options: ClientAuthenticationOptions,
): Promise<AuthenticatedClient<Client> | ClientAuthenticationFailure> {
  const read = await readClientRequest(req, options);
  if (!read.ok) return read;
  const bound = await bindTenant(read, options);
  if (!bound.ok) return bound;
  if (read.credentialsFailure) return read.credentialsFailure;
  const { credentials } = read;
  if (!credentials || !credentials.clientSecret) return INVALID_CLIENT;
  let client: Client | null | undefined;
  try {
    client = await invokeModel<Client | null | undefined>(options.model, 'getClient', bound.model, [
      credentials.clientId,
      credentials.clientSecret,
    ]);
  } catch (error) {
    return unexpected(error);
  }
  if (!client) return INVALID_CLIENT;
  return {
    ok: true,
    client,
    clientId: credentials.clientId,
    method: credentials.method,
    tenant: bound.tenant,
    body: read.body,
    model: bound.model,
  };
}

/**
 * Steps 1 and 3 without the database: method, content type, the form body and the credentials it and
 * the Authorization header carry. A credentials problem is kept in `credentialsFailure` rather than
 * returned, so that an unknown tenant is reported first whatever the header says: report it after
 * {@link bindTenant}.
 */
export async function readClientRequest(
  req: ClientAuthenticationRequest,
  options: { bodyLimitBytes?: number } = {},
): Promise<ClientRequest | ClientAuthenticationFailure> {
  if (req.method !== 'POST')
    return { ...failure('method_not_allowed', 405, 'invalid_request', 'The endpoint accepts POST only.'), allow: 'POST' };
  if (!isForm(req)) return failure('content_type_invalid', 400, 'invalid_request', 'The body must be application/x-www-form-urlencoded.');
  let body: FormFields;
  try {
    body = await readFormBody(req, options.bodyLimitBytes ?? DEFAULT_FORM_BODY_LIMIT_BYTES);
  } catch (error) {
    if (!(error instanceof FormBodyError)) return unexpected(error);
    if (error.kind === 'too_large') return failure('body_too_large', 413, 'invalid_request', 'The request body is too large.');
    if (error.kind === 'repeated')
      return failure('parameter_repeated', 400, 'invalid_request', new JwtBearerError('parameter_repeated').description);
    return failure('parameter_malformed', 400, 'invalid_request', 'A request parameter is malformed.');
  }
  const tenantDomain = queryValue(req, 'tenantDomain');
  const basic = readBasicCredentials(req.headers.authorization);
  if (basic === null) return { ok: true, body, tenantDomain, credentialsFailure: INVALID_CLIENT };
  if (basic) {
    // RFC 6749 §2.3: one method per request. The body may still name the same client (§3.2.1), but
    // carry no secret and name no other client: else a wrong body secret would ride on the header.
    if (body.client_secret !== undefined || (body.client_id !== undefined && body.client_id !== basic.clientId)) {
      return { ok: true, body, tenantDomain, credentials: basic, credentialsFailure: CLIENT_AUTH_MULTIPLE };
    }
    return { ok: true, body, tenantDomain, credentials: basic };
  }
  if (typeof body.client_id === 'string' && body.client_id !== '') {
    const credentials: ClientCredentials = { clientId: body.client_id, method: 'client_secret_post' };
    if (body.client_secret !== undefined) credentials.clientSecret = body.client_secret;
    return { ok: true, body, tenantDomain, credentials };
  }
  return { ok: true, body, tenantDomain };
}

/**
 * Step 2: the tenant of `?tenantDomain=` (the default tenant without it) and the host model bound to
 * it. The caller then reports `read.credentialsFailure`, if any (as {@link authenticateClient} does).
 */
export async function bindTenant(
  read: ClientRequest,
  options: Pick<ClientAuthenticationOptions, 'model' | 'store'>,
): Promise<{ ok: true; tenant: Tenant; model: HostModel & { tenant: Tenant } } | ClientAuthenticationFailure> {
  let tenant: Tenant;
  try {
    tenant = await resolveTenant(options.store as GrantStore, read.tenantDomain ?? DEFAULT_TENANT);
  } catch (error) {
    if (error instanceof JwtBearerError) {
      const code = error.reason === 'parameter_repeated' ? 'parameter_repeated' : 'tenant_unknown';
      return failure(code, error.status, error.error, error.description);
    }
    return unexpected(error);
  }
  return { ok: true, tenant, model: bindModel(options.model, tenant) };
}

/**
 * The host model as one request sees it: `Object.create(model, { tenant })`. Model methods (ordinary
 * methods, not arrow functions) read the request's tenant as `this.tenant`; nothing is copied.
 */
export function bindModel<M extends HostModel>(model: M, tenant: Tenant): M & { tenant: Tenant } {
  return Object.create(model, { tenant: { value: tenant, enumerable: true } }) as M & { tenant: Tenant };
}

/**
 * Reads an HTTP Basic Authorization header (RFC 7617) carrying client credentials, form-url-decoded
 * (RFC 6749 §2.3.1: openid-client and oauth4webapi encode, `-` → `%2D`; `curl -u` does not, and both
 * must work). `undefined`: no Basic header at all; `null`: a Basic header that cannot name a client
 * (not base64, no colon, an empty id, a colon in the decoded id, or characters outside VSCHAR, RFC
 * 6749 Appendix A.1 and A.2). An empty secret is kept as `''` and fails the lookup.
 */
export function readBasicCredentials(header: string | undefined): ClientCredentials | null | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match) return /^Basic(\s|$)/i.test(header) ? null : undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (
    clientId === null ||
    clientSecret === null ||
    clientId.includes(':') ||
    !VSCHAR.test(clientId) ||
    !(clientSecret === '' || VSCHAR.test(clientSecret))
  )
    return null;
  return { clientId, clientSecret, method: 'client_secret_basic' };
}

/**
 * The Authorization header to hand node-oauth2-server for decoded Basic credentials: the host does not
 * form-decode (RFC 6749 §2.3.1), so it gets the decoded values, base64-encoded again.
 */
export function basicAuthorizationFor(credentials: ClientCredentials): string {
  return `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret ?? ''}`, 'utf8').toString('base64')}`;
}

const VSCHAR = /^[\x20-\x7E]+$/;

const INVALID_CLIENT: ClientAuthenticationFailure = Object.freeze({
  ok: false,
  code: 'invalid_client',
  status: 401,
  error: 'invalid_client',
  description: 'Client authentication failed.',
  wwwAuthenticate: CLIENT_BASIC_CHALLENGE,
});

const CLIENT_AUTH_MULTIPLE: ClientAuthenticationFailure = Object.freeze({
  ok: false,
  code: 'client_auth_multiple',
  status: 400,
  error: 'invalid_request',
  description: 'The client must authenticate by one method only.',
});

function failure(code: ClientAuthenticationErrorCode, status: number, error: string, description: string): ClientAuthenticationFailure {
  return { ok: false, code, status, error, description };
}

/**
 * A fault of the server or its database: never its message in the answer, only in `cause`. A model
 * that throws an OAuth client error (4xx) from `getClient` has refused the client.
 */
function unexpected(error: unknown): ClientAuthenticationFailure {
  const answer = answerFor(error);
  if (answer.status < 500) return { ...INVALID_CLIENT, cause: error };
  const unavailable = error instanceof StoreUnavailableError || answer.status === 503;
  return { ok: false, code: unavailable ? 'store_unavailable' : 'server_error', ...answer, cause: error };
}

function isForm(req: ClientAuthenticationRequest): boolean {
  if (typeof req.is === 'function') return Boolean(req.is('application/x-www-form-urlencoded'));
  const type = req.headers['content-type'];
  return typeof type === 'string' && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type);
}

function queryValue(req: ClientAuthenticationRequest, name: string): unknown {
  if (req.query) return req.query[name];
  const params = new URL(req.url ?? '/', 'http://localhost').searchParams.getAll(name);
  return params.length > 1 ? params : params[0];
}

function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
