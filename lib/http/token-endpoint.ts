import type { ServerResponse } from 'node:http';
import { ConfigurationError, JwtBearerError } from '../errors';
import { assertHostModule, type HostModel, type HostModule } from '../host';
import type { GrantFacts } from '../grant/request-context';
import type { GrantStore } from '../store/types';
import type { Tenant } from '../types';
import {
  basicAuthorizationFor,
  bindTenant,
  DEFAULT_FORM_BODY_LIMIT_BYTES,
  readClientRequest,
  type ClientAuthenticationFailure,
  type ClientAuthenticationRequest,
} from './client-authentication';
import { answerFor, type ErrorAnswer } from './failure';
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
  /** Time spent in docs/validation.md steps 1–6, when the grant got that far. */
  verifyMs?: number;
  /**
   * Name of the IdP's enforced trust rule that admitted the assertion (docs/workload-identity.md), when one
   * did: on issued answers, and on refusals after the rules (e.g. `scope_not_allowed`, `jti_replayed`).
   * A name from the configuration, never from the assertion.
   */
  rule?: string;
  /**
   * What the IdP's shadow rules would have decided, when it has any and the grant got as far as the rules
   * (docs/validation.md step 6): `would_allow` when one of them matches, else `would_deny`. Reported on
   * issued and refused answers alike (a `no_rule_matched` refusal carries it too); it never changes the answer.
   */
  shadow?: 'would_allow' | 'would_deny';
  /** The shadow rule that would have admitted the assertion, with `shadow: 'would_allow'`. */
  shadowRule?: string;
  /** The underlying error of a 5xx answer, for the log only. */
  cause?: unknown;
}

/** Options of {@link tokenEndpoint}; validated when the handler is built (a `ConfigurationError` says what to fix). */
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
export const TOKEN_ENDPOINT_DEFAULTS = { bodyLimitBytes: DEFAULT_FORM_BODY_LIMIT_BYTES } as const;

type Req = ClientAuthenticationRequest;

/**
 * The token endpoint (RFC 6749 §3.2) as an Express (4 or 5) handler: the intake of client
 * authentication as `authenticateClient` (client-authentication.ts) does it (form body with a limit, one value per parameter,
 * `?tenantDomain=`, form-url-decoded Basic credentials, one method only), then node-oauth2-server on
 * the tenant-bound model (the host looks the client up itself); `no-store` on every answer, and RFC 6749
 * §5.2 JSON errors that never carry a stack trace or a driver message.
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
      // Client authentication up to the host's own lookup (see client-authentication.ts): the host's
      // token handler calls getClient itself, with its per-grant `requireClientAuthentication` rules.
      const read = await readClientRequest(req, { bodyLimitBytes: bodyLimit });
      if (!read.ok) return refuse(res, report, ...intakeRefusal(res, read));
      const { body } = read;
      grantType = body.grant_type;
      if (limiter) {
        // Before the grant runs: a key over its limit costs no database read and no signature check.
        limitKeys = limiter.keysOf(req.headers.authorization, body, read.tenantDomain);
        const retryAfter = limiter.check(limitKeys);
        if (retryAfter !== undefined) {
          res.setHeader('Retry-After', String(retryAfter));
          return refuse(res, report, RATE_LIMITED, 'rate_limited', { grantType });
        }
      }
      const bound = await bindTenant(read, { model, store });
      if (!bound.ok)
        return refuse(res, report, answerOf(bound), bound.code, { grantType, cause: bound.status >= 500 ? bound.cause : undefined });
      tenant = bound.tenant;
      if (read.credentialsFailure) {
        if (read.credentialsFailure.wwwAuthenticate) res.setHeader('WWW-Authenticate', read.credentialsFailure.wwwAuthenticate);
        return refuse(res, report, answerOf(read.credentialsFailure), read.credentialsFailure.code, { tenant: tenant.domain, grantType });
      }

      const headers: Record<string, unknown> = { ...req.headers };
      if (read.credentials?.method === 'client_secret_basic') headers.authorization = basicAuthorizationFor(read.credentials);
      const clientId = read.credentials?.clientId;

      facts = {};
      const request = Object.assign(new host.Request({ method: 'POST', headers, query: { ...(req.query ?? {}) }, body }), {
        jwtBearerTenant: tenant,
        jwtBearer: facts,
      });
      const response = new host.Response({});

      try {
        await server.token(request, response, { model: bound.model });
      } catch (error) {
        copyHeader(response, res, 'www-authenticate');
        const answer = answerFor(error);
        return refuse(res, report, answer, facts.reason ?? answer.error, {
          tenant: tenant.domain,
          grantType,
          issuer: facts.issuer,
          clientId: answer.error === 'invalid_client' ? undefined : clientId,
          verifyMs: facts.verifyMs,
          ...ruleFields(facts),
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
        clientId,
        verifyMs: facts.verifyMs,
        ...ruleFields(facts),
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

/** The trust rule fields of an outcome: only those the grant learned (no `undefined` keys in a log line). */
function ruleFields(facts: GrantFacts): Pick<TokenOutcome, 'rule' | 'shadow' | 'shadowRule'> {
  const fields: Pick<TokenOutcome, 'rule' | 'shadow' | 'shadowRule'> = {};
  if (facts.rule !== undefined) fields.rule = facts.rule;
  if (facts.shadow) {
    fields.shadow = facts.shadow.decision;
    if (facts.shadow.decision === 'would_allow') fields.shadowRule = facts.shadow.rule;
  }
  return fields;
}

/**
 * The token endpoint's answer to a refused intake: as {@link readClientRequest} says, except that a
 * nested parameter from a host body parser keeps this endpoint's older reason, `assertion_malformed`.
 */
function intakeRefusal(res: ServerResponse, failure: ClientAuthenticationFailure): [ErrorAnswer, string, Partial<TokenOutcome>] {
  if (failure.allow) res.setHeader('Allow', failure.allow);
  if (failure.code === 'parameter_malformed') {
    const refusal = new JwtBearerError('assertion_malformed');
    return [{ status: 400, error: 'invalid_request', description: refusal.description }, refusal.reason, {}];
  }
  const description = failure.code === 'method_not_allowed' ? 'The token endpoint accepts POST only.' : failure.description;
  return [{ ...answerOf(failure), description }, failure.code, { cause: failure.status >= 500 ? failure.cause : undefined }];
}

function answerOf(failure: ClientAuthenticationFailure): ErrorAnswer {
  return { status: failure.status, error: failure.error, description: failure.description };
}

/** Answers for what fails unexpectedly outside the host. */
function earlyAnswer(error: unknown): { answer: ErrorAnswer; reason: string } {
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

function validateOptions(options: TokenEndpointOptions): void {
  if (!options || typeof options !== 'object') throw new ConfigurationError('tokenEndpoint(options): options must be an object.');
  assertHostModule(options.host);
  if (typeof options.server?.token !== 'function') {
    throw new ConfigurationError(
      'options.server must be the host OAuth2Server instance (new OAuth2Server({ model, extendedGrantTypes })).',
    );
  }
  if (!options.model || typeof options.model !== 'object') throw new ConfigurationError('options.model must be the host model object.');
  if (!options.store || typeof options.store.findTenant !== 'function') throw new ConfigurationError('options.store must be a GrantStore.');
  if (options.bodyLimitBytes !== undefined && !(Number.isInteger(options.bodyLimitBytes) && options.bodyLimitBytes > 0)) {
    throw new ConfigurationError(`options.bodyLimitBytes must be a positive whole number of bytes; got ${String(options.bodyLimitBytes)}.`);
  }
  if (options.onOutcome !== undefined && typeof options.onOutcome !== 'function')
    throw new ConfigurationError('options.onOutcome must be a function.');
}
