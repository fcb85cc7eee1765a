import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigurationError, JwtBearerError, StoreUnavailableError } from '../errors';
import { assertHostModule, type HostModel, type HostModule } from '../host';
import { DEFAULT_TENANT, resolveTenant, type GrantFacts } from '../grant/request-context';
import type { GrantStore } from '../store/types';
import type { Tenant } from '../types';
import { normaliseBasicAuthorization, usesTwoAuthenticationMethods } from './client-credentials';
import { answerFor, type ErrorAnswer } from './failure';
import { FormBodyError, readFormBody } from './form-body';
import { createFailureLimiter, RATE_LIMITED, type FailureKeys, type FailureLimitOptions } from './rate-limit';

/** One token request, as logs and metrics see it. Never carries assertions, tokens or secrets. */
export interface TokenOutcome {
  outcome: 'issued' | 'refused';
  status: number;
  /** OAuth error code, when refused. */
  error?: string;
  /** Stable reason code: ours (e.g. `assertion_expired`) or the host's OAuth error name. */
  reason?: string;
  grantType?: string;
  tenant?: string;
  /** Name of the IdP that the assertion named, when it is a known, enabled one. */
  issuer?: string;
  /** The client, when it authenticated. */
  clientId?: string;
  durationMs: number;
  /** Time spent in SPEC §3 steps 1–6, when the grant got that far. */
  verifyMs?: number;
  /** The underlying error of a 5xx answer, for the log only. */
  cause?: unknown;
}

export interface TokenEndpointOptions {
  /** The host's `OAuth2Server` instance, built with our grant in `extendedGrantTypes`. */
  server: { token(request: unknown, response: unknown, options?: Record<string, unknown>): Promise<unknown> };
  /** The node-oauth2-server module the server was built from. */
  host: HostModule;
  /**
   * The host model. Each request runs with `Object.create(model, { tenant })`, so model methods (written
   * as ordinary methods, not arrow functions) read the request's tenant as `this.tenant`.
   */
  model: HostModel;
  store: GrantStore;
  /** Largest accepted body in bytes (default {@link TOKEN_ENDPOINT_DEFAULTS}: 65536). Larger → 413 `invalid_request`. */
  bodyLimitBytes?: number;
  /** Called once per request when the answer is known. Must not throw. */
  onOutcome?: (outcome: TokenOutcome) => void;
  /** Limits on failed attempts per client and per issuer (429 + `Retry-After`); off by default. See {@link FailureLimitOptions}. */
  failureLimit?: FailureLimitOptions;
}

/** Defaults of {@link TokenEndpointOptions}. */
export const TOKEN_ENDPOINT_DEFAULTS = { bodyLimitBytes: 64 * 1024 } as const;

type Req = IncomingMessage & { query?: Record<string, unknown>; is?(type: string): string | false | null; body?: unknown; _body?: boolean };

/**
 * The token endpoint (SPEC §4) as an Express (4 or 5) handler: form parsing with a body limit, one
 * value per parameter, `?tenantDomain=`, form-url-decoded Basic credentials, `no-store` on every
 * answer, and RFC 6749 §5.2 JSON errors that never carry a stack trace or a driver message.
 *
 * @example
 * app.post('/oauth2/token', tokenEndpoint({ server, host: OAuth2Server, model, store }));
 */
export function tokenEndpoint(options: TokenEndpointOptions): (req: Req, res: ServerResponse) => Promise<void> {
  validateOptions(options);
  const { server, host, model, store, onOutcome } = options;
  const bodyLimit = options.bodyLimitBytes ?? TOKEN_ENDPOINT_DEFAULTS.bodyLimitBytes;
  const limiter = options.failureLimit === undefined ? undefined : createFailureLimiter(options.failureLimit);

  return async function handleTokenRequest(req, res) {
    const started = performance.now();
    // Before anything can fail (RFC 6749 §5.1).
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    let limitKeys: FailureKeys | undefined;
    const report = (outcome: Omit<TokenOutcome, 'durationMs'>) => {
      if (limitKeys) limiter?.record(limitKeys, outcome);
      try {
        onOutcome?.({ ...outcome, durationMs: performance.now() - started });
      } catch {
        // Observability must never change the answer.
      }
    };

    let tenant: Tenant | undefined;
    let facts: GrantFacts | undefined;
    let grantType: string | undefined;
    try {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return refuse(res, report, { status: 405, error: 'invalid_request', description: 'The token endpoint accepts POST only.' }, 'method_not_allowed');
      }
      if (!req.is?.('application/x-www-form-urlencoded')) {
        return refuse(res, report, { status: 400, error: 'invalid_request', description: 'The body must be application/x-www-form-urlencoded.' }, 'content_type_invalid');
      }
      const body = await readFormBody(req, bodyLimit);
      grantType = body.grant_type;
      if (limiter) {
        // Before the grant runs: a key over its limit costs no database read and no signature check.
        limitKeys = limiter.keysOf(req.headers.authorization, body, queryValue(req, 'tenantDomain'));
        const retryAfter = limiter.check(limitKeys);
        if (retryAfter !== undefined) {
          res.setHeader('Retry-After', String(retryAfter));
          return refuse(res, report, RATE_LIMITED, 'rate_limited', { grantType });
        }
      }
      tenant = await resolveTenant(store, queryValue(req, 'tenantDomain') ?? DEFAULT_TENANT);

      const headers: Record<string, unknown> = { ...req.headers };
      const authorization = normaliseBasicAuthorization(req.headers.authorization);
      if (authorization === null) {
        res.setHeader('WWW-Authenticate', 'Basic realm="token"');
        return refuse(res, report, { status: 401, error: 'invalid_client', description: 'The client credentials could not be read.' }, 'invalid_client', { tenant: tenant.domain, grantType });
      }
      if (authorization) headers.authorization = authorization;
      if (authorization && usesTwoAuthenticationMethods(authorization, body)) {
        return refuse(res, report, { status: 400, error: 'invalid_request', description: 'The client must authenticate by one method only.' }, 'client_auth_multiple', { tenant: tenant.domain, grantType });
      }

      const request = new host.Request({ method: 'POST', headers, query: { ...(req.query ?? {}) }, body });
      request.jwtBearerTenant = tenant;
      facts = request.jwtBearer = {};
      const response = new host.Response({});
      const tenantModel = Object.create(model, { tenant: { value: tenant, enumerable: true } });

      try {
        await server.token(request, response, { model: tenantModel });
      } catch (error) {
        copyHeader(response, res, 'www-authenticate');
        const answer = answerFor(error);
        return refuse(res, report, answer, facts.reason ?? answer.error, {
          tenant: tenant.domain,
          grantType,
          issuer: facts.issuer,
          clientId: answer.error === 'invalid_client' ? undefined : clientIdOf(request),
          verifyMs: facts.verifyMs,
          cause: answer.status >= 500 ? error : undefined,
        });
      }
      send(res, 200, response.body);
      report({
        outcome: 'issued',
        status: 200,
        grantType,
        tenant: tenant.domain,
        issuer: facts.issuer,
        clientId: clientIdOf(request),
        verifyMs: facts.verifyMs,
      });
    } catch (error) {
      const answer = earlyAnswer(error);
      return refuse(res, report, answer.answer, answer.reason, {
        tenant: tenant?.domain,
        grantType,
        cause: answer.answer.status >= 500 ? error : undefined,
      });
    }
  };
}

/** Answers for what fails before the host runs: body, parameters, tenant. */
function earlyAnswer(error: unknown): { answer: ErrorAnswer; reason: string } {
  if (error instanceof FormBodyError) {
    if (error.kind === 'too_large') {
      return { answer: { status: 413, error: 'invalid_request', description: 'The request body is too large.' }, reason: 'body_too_large' };
    }
    const refusal = new JwtBearerError(error.kind === 'repeated' ? 'parameter_repeated' : 'assertion_malformed');
    return { answer: { status: 400, error: 'invalid_request', description: refusal.description }, reason: refusal.reason };
  }
  if (error instanceof JwtBearerError) {
    return { answer: { status: error.status, error: error.error, description: error.description }, reason: error.reason };
  }
  if (error instanceof StoreUnavailableError) {
    // The tenant lookup failed: the same reason code as when the grant's own lookups fail.
    const refusal = new JwtBearerError('store_unavailable', { cause: error });
    return { answer: { status: refusal.status, error: refusal.error, description: refusal.description }, reason: refusal.reason };
  }
  const answer = answerFor(error);
  return { answer, reason: answer.error };
}

function refuse(
  res: ServerResponse,
  report: (o: Omit<TokenOutcome, 'durationMs'>) => void,
  answer: ErrorAnswer,
  reason: string,
  context: Partial<TokenOutcome> = {},
): void {
  if (answer.status === 413) res.setHeader('Connection', 'close');
  send(res, answer.status, { error: answer.error, error_description: answer.description });
  report({ ...context, outcome: 'refused', status: answer.status, error: answer.error, reason });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

function copyHeader(from: { headers?: Record<string, unknown> }, to: ServerResponse, name: string): void {
  const value = from.headers?.[name];
  if (typeof value === 'string') to.setHeader(name, value);
}

function queryValue(req: Req, name: string): unknown {
  if (req.query) return req.query[name];
  const params = new URL(req.url ?? '/', 'http://localhost').searchParams.getAll(name);
  return params.length > 1 ? params : params[0];
}

/** The authenticated client's id, as the host resolved it (only set once authentication succeeded). */
function clientIdOf(request: { jwtBearer?: unknown; body?: Record<string, unknown>; headers?: Record<string, unknown> }): string | undefined {
  const basic = typeof request.headers?.authorization === 'string' ? /^Basic (.+)$/i.exec(request.headers.authorization) : null;
  if (basic) return Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0];
  return typeof request.body?.client_id === 'string' ? request.body.client_id : undefined;
}

function validateOptions(options: TokenEndpointOptions): void {
  if (!options || typeof options !== 'object') throw new ConfigurationError('tokenEndpoint(options): options must be an object.');
  assertHostModule(options.host);
  if (typeof options.server?.token !== 'function') {
    throw new ConfigurationError('options.server must be the host OAuth2Server instance (new OAuth2Server({ model, extendedGrantTypes })).');
  }
  if (!options.model || typeof options.model !== 'object') throw new ConfigurationError('options.model must be the host model object.');
  if (!options.store || typeof options.store.findTenant !== 'function') throw new ConfigurationError('options.store must be a GrantStore.');
  if (options.bodyLimitBytes !== undefined && !(Number.isInteger(options.bodyLimitBytes) && options.bodyLimitBytes > 0)) {
    throw new ConfigurationError(`options.bodyLimitBytes must be a positive whole number of bytes; got ${String(options.bodyLimitBytes)}.`);
  }
  if (options.onOutcome !== undefined && typeof options.onOutcome !== 'function') throw new ConfigurationError('options.onOutcome must be a function.');
}
