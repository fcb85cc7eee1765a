/**
 * Abuse limits for the token endpoint: a cap on FAILED attempts per client and per issuer within a
 * window, answered with 429 and `Retry-After` before the grant runs (so a flood of refused requests
 * costs no database read and no signature check once its key is over the limit).
 *
 * Why here and by hand rather than a library: the counters must be keyed by values read from the form
 * body and the unverified assertion, counted only on failure (after the answer is known), and bounded
 * in memory whatever an attacker sends. `express-rate-limit` counts requests (before the body is read)
 * and `rate-limiter-flexible`'s memory limiter keeps every key in a plain object with one timer each,
 * with no bound on the number of keys; a flood of distinct client ids or issuers would grow it for a
 * whole window. A fixed-window counter in an LRU map is a few lines and has neither problem.
 *
 * The counts are per process: N instances behind a load balancer allow N × `max` failures per window.
 * Counting across instances would need a shared store (a table in the package's database) — the
 * follow-up when that matters more than the extra round trip per failure.
 */
import { ConfigurationError } from '../errors';
import { DEFAULT_TENANT } from '../grant/request-context';
import { LruMap } from '../lru';
import { parseJsonObject } from '../shared/json';
import { readBasicCredentials } from './client-authentication';
import type { ErrorAnswer } from './failure';

/** One limit: at most `max` failed attempts per key within `windowSeconds`. */
export interface FailureLimitRule {
  /** Failed attempts allowed per window; the next request of that key is answered 429. */
  max: number;
  /** Length of the (fixed) window in seconds, counted from the key's first failure in it. */
  windowSeconds: number;
}

/**
 * `tokenEndpoint({ failureLimit })`. Off unless given; each rule is off unless set.
 *
 * @example
 * tokenEndpoint({ server, host, model, store, failureLimit: {
 *   perClient: { max: 20, windowSeconds: 60 },   // a client id guessing secrets or assertions
 *   perIssuer: { max: 200, windowSeconds: 60 },  // a flood of forged assertions naming one IdP
 * } });
 */
export interface FailureLimitOptions {
  /**
   * Keyed by tenant and client id, as the request states it (HTTP Basic or `client_id`), before the
   * client is authenticated: failed authentication counts too (secret guessing). Note that anyone who
   * knows a client id can then use up that client's allowance; set `max` with that in mind.
   */
  perClient?: FailureLimitRule;
  /**
   * Keyed by tenant and issuer. Failures are counted only under the name of a known, enabled IdP of the
   * tenant (so random `iss` values cannot fill the table); requests are checked by the unverified `iss`
   * of the assertion, which is used for nothing else. Like any per-target limit, it lets a flood of
   * forged assertions naming an IdP hold that IdP's requests off for a window: a circuit breaker, to be
   * set well above the IdP's normal failure rate.
   */
  perIssuer?: FailureLimitRule;
  /** Most keys remembered per rule (default 10000); past it the least recently touched are forgotten. */
  maxKeys?: number;
  /** The clock in milliseconds, for tests (default `Date.now`). */
  now?: () => number;
}

/** What a request is counted under; computed once, before the grant runs. */
export interface FailureKeys {
  client?: string;
  /** Tenant and unverified `iss`, for the check. */
  issuer?: string;
  /** The tenant part, to count a failure under the known IdP the grant found. */
  tenant: string;
}

/** What the limiter needs to know of an answered request (a subset of `TokenOutcome`). */
export interface CountedOutcome {
  outcome: 'issued' | 'refused';
  status: number;
  /** Name of the known, enabled IdP the assertion named, if any. */
  issuer?: string;
}

export interface FailureLimiter {
  /** The keys of a request, from its Authorization header, form fields and `tenantDomain`. */
  keysOf(authorization: string | undefined, body: Record<string, string>, tenantDomain: unknown): FailureKeys;
  /** Seconds to wait when any of the request's keys is over its limit; `undefined` to go ahead. */
  check(keys: FailureKeys): number | undefined;
  /** Counts the answer if it was a refusal of the client's making (4xx other than 429). */
  record(keys: FailureKeys, outcome: CountedOutcome): void;
}

/**
 * The answer when over a limit. RFC 6749 §5.2 has no error code for "too many attempts";
 * `temporarily_unavailable` (RFC 6749 §4.1.2.1) is the one code whose meaning — try again later —
 * fits and that clients already treat as retryable, where `invalid_request` would say the request
 * itself is wrong. 429 (RFC 6585 §4) with `Retry-After` says when.
 */
export const RATE_LIMITED: ErrorAnswer = {
  status: 429,
  error: 'temporarily_unavailable',
  description: 'Too many failed attempts; try again later.',
};

/** Longest client id or issuer kept as a key; longer ones are truncated (they then share a counter). */
export const MAX_KEY_PART = 256;
const MAX_TENANT = 253;
const DEFAULT_MAX_KEYS = 10_000;

interface Window {
  count: number;
  resetAt: number;
}

/**
 * Builds the limiter of {@link FailureLimitOptions}; throws {@link ConfigurationError} for bad options.
 */
export function createFailureLimiter(options: FailureLimitOptions): FailureLimiter {
  validate(options);
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  const perClient = options.perClient ? counter(options.perClient, maxKeys) : undefined;
  const perIssuer = options.perIssuer ? counter(options.perIssuer, maxKeys) : undefined;

  return {
    keysOf(authorization, body, tenantDomain) {
      const tenant = typeof tenantDomain === 'string' && tenantDomain.length > 0 ? tenantDomain.slice(0, MAX_TENANT) : DEFAULT_TENANT;
      const clientId = perClient ? clientIdOf(authorization, body) : undefined;
      const issuer = perIssuer ? unverifiedIssuer(body.assertion) : undefined;
      return {
        tenant,
        client: clientId === undefined ? undefined : `${tenant}\n${clientId.slice(0, MAX_KEY_PART)}`,
        issuer: issuer === undefined ? undefined : `${tenant}\n${issuer.slice(0, MAX_KEY_PART)}`,
      };
    },
    check(keys) {
      const t = now();
      const waits = [
        perClient && keys.client && perClient.wait(keys.client, t),
        perIssuer && keys.issuer && perIssuer.wait(keys.issuer, t),
      ];
      const longest = Math.max(0, ...waits.map((w) => (typeof w === 'number' ? w : 0)));
      return longest > 0 ? Math.max(1, Math.ceil(longest / 1000)) : undefined;
    },
    record(keys, outcome) {
      if (outcome.outcome !== 'refused' || outcome.status < 400 || outcome.status >= 500 || outcome.status === 429) return;
      const t = now();
      if (perClient && keys.client) perClient.fail(keys.client, t);
      // Only under a known IdP's name: an unknown `iss` is not an issuer, and must not create keys.
      if (perIssuer && typeof outcome.issuer === 'string') perIssuer.fail(`${keys.tenant}\n${outcome.issuer.slice(0, MAX_KEY_PART)}`, t);
    },
  };
}

/** Fixed-window failure counts for one rule, at most `maxKeys` of them. */
function counter(rule: FailureLimitRule, maxKeys: number) {
  const windows = new LruMap<string, Window>(maxKeys);
  const windowMs = rule.windowSeconds * 1000;
  return {
    /** Milliseconds until `key` may try again, or 0. */
    wait(key: string, t: number): number {
      const w = windows.get(key);
      if (!w) return 0;
      if (t >= w.resetAt) {
        windows.delete(key);
        return 0;
      }
      return w.count >= rule.max ? w.resetAt - t : 0;
    },
    fail(key: string, t: number): void {
      const w = windows.get(key);
      if (!w || t >= w.resetAt) windows.set(key, { count: 1, resetAt: t + windowMs });
      else w.count++;
    },
  };
}

/**
 * The client id as the request states it: HTTP Basic (form-url-decoded, RFC 6749 §2.3.1, read as client
 * authentication reads it) or the body. An unreadable Basic header names no client: it is refused
 * without a database read anyway.
 */
function clientIdOf(authorization: string | undefined, body: Record<string, string>): string | undefined {
  const basic = readBasicCredentials(authorization);
  if (basic) return basic.clientId;
  if (basic === null) return undefined;
  return typeof body.client_id === 'string' && body.client_id.length > 0 ? body.client_id : undefined;
}

/**
 * The `iss` of an assertion, unverified: used only to pick a counter. Anything that is not a compact
 * JWS with a JSON payload holding a string `iss` has none. The assertion size is bounded by the body limit.
 */
function unverifiedIssuer(assertion: unknown): string | undefined {
  if (typeof assertion !== 'string') return undefined;
  const first = assertion.indexOf('.');
  const second = first < 0 ? -1 : assertion.indexOf('.', first + 1);
  if (second < 0) return undefined;
  try {
    // The verifier's JSON rule (no duplicate members, RFC 8259 §4), so both read the same `iss`.
    const payload = parseJsonObject(Buffer.from(assertion.slice(first + 1, second), 'base64url').toString('utf8'));
    const iss = payload.ok ? payload.value.iss : undefined;
    return typeof iss === 'string' && iss.length > 0 ? iss : undefined;
  } catch {
    return undefined;
  }
}

function validate(options: FailureLimitOptions): void {
  if (!options || typeof options !== 'object')
    throw new ConfigurationError('options.failureLimit must be an object such as { perClient: { max: 20, windowSeconds: 60 } }.');
  for (const name of ['perClient', 'perIssuer'] as const) {
    const rule = options[name];
    if (rule === undefined) continue;
    if (!rule || typeof rule !== 'object') throw new ConfigurationError(`options.failureLimit.${name} must be { max, windowSeconds }.`);
    if (!Number.isInteger(rule.max) || rule.max < 1) {
      throw new ConfigurationError(
        `options.failureLimit.${name}.max must be a positive whole number of failed attempts; got ${String(rule.max)}.`,
      );
    }
    if (
      typeof rule.windowSeconds !== 'number' ||
      !Number.isFinite(rule.windowSeconds) ||
      rule.windowSeconds <= 0 ||
      rule.windowSeconds > 86_400
    ) {
      throw new ConfigurationError(
        `options.failureLimit.${name}.windowSeconds must be a number of seconds above 0 and at most 86400; got ${String(rule.windowSeconds)}.`,
      );
    }
  }
  if (options.maxKeys !== undefined && !(Number.isInteger(options.maxKeys) && options.maxKeys > 0)) {
    throw new ConfigurationError(`options.failureLimit.maxKeys must be a positive whole number; got ${String(options.maxKeys)}.`);
  }
  if (options.now !== undefined && typeof options.now !== 'function')
    throw new ConfigurationError('options.failureLimit.now must be a function returning milliseconds.');
}
