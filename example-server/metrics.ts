import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { JWT_BEARER_GRANT_TYPE, type TokenOutcome } from '../lib';

/** Grant types worth a label of their own; anything else a client sends is counted as `other`. */
const KNOWN_GRANTS: Record<string, string> = {
  [JWT_BEARER_GRANT_TYPE]: 'jwt-bearer',
  refresh_token: 'refresh_token',
  client_credentials: 'client_credentials',
};

/** A reason is one of our codes or a host error name: short snake_case; anything else is folded. */
const REASON = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The Prometheus metrics of the example server, on a registry of its own (so several apps in one
 * process, as in tests, never collide on the global one).
 *
 * - `oauth2_token_requests_total{grant_type, outcome, reason}`: every token request, by outcome
 *   (`issued`/`refused`) and stable reason code (`assertion_expired`, `jti_replayed`, …; `none` when issued).
 * - `oauth2_jwt_bearer_verification_seconds`: time spent verifying assertions (docs/validation.md steps 1–6).
 * - `oauth2_token_request_duration_seconds{grant_type, outcome}`: the whole token request.
 * - `jwt_bearer_rule_matches_total{idp, rule}`: tokens issued under a trust rule (docs/workload-identity.md), by
 *   the IdP and the rule that admitted the assertion.
 * - `jwt_bearer_shadow_decisions_total{idp, decision}`: the shadow rules' verdicts (`would_allow`/`would_deny`)
 *   on requests of IdPs that have shadow rules, issued or refused.
 *
 * The `idp` and `rule` labels are names from the configuration (the grant reports only a known, enabled
 * IdP's name and its own rules' names), never values of the assertion, so their number is bounded by what
 * an administrator configured.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'oauth2_token_requests_total',
    help: 'Token endpoint requests by grant type, outcome and reason code.',
    labelNames: ['grant_type', 'outcome', 'reason'] as const,
    registers: [registry],
  });
  const verification = new Histogram({
    name: 'oauth2_jwt_bearer_verification_seconds',
    help: 'Time spent verifying JWT bearer assertions (decode, key, signature, claims, policy).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'oauth2_token_request_duration_seconds',
    help: 'Token endpoint request duration by grant type and outcome.',
    labelNames: ['grant_type', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  const ruleMatches = new Counter({
    name: 'jwt_bearer_rule_matches_total',
    help: 'JWT bearer tokens issued under a trust rule, by IdP and rule.',
    labelNames: ['idp', 'rule'] as const,
    registers: [registry],
  });
  const shadowDecisions = new Counter({
    name: 'jwt_bearer_shadow_decisions_total',
    help: "What the IdP's shadow trust rules would have decided, by IdP and decision (would_allow, would_deny).",
    labelNames: ['idp', 'decision'] as const,
    registers: [registry],
  });

  return {
    registry,
    /** Records one token request; label values are bounded whatever the client sent. */
    observe(outcome: TokenOutcome): void {
      const grantType =
        (outcome.grantType && Object.hasOwn(KNOWN_GRANTS, outcome.grantType) ? KNOWN_GRANTS[outcome.grantType] : undefined) ??
        (outcome.grantType ? 'other' : 'none');
      const reason = outcome.outcome === 'issued' ? 'none' : outcome.reason && REASON.test(outcome.reason) ? outcome.reason : 'other';
      requests.inc({ grant_type: grantType, outcome: outcome.outcome, reason });
      duration.observe({ grant_type: grantType, outcome: outcome.outcome }, outcome.durationMs / 1000);
      if (typeof outcome.verifyMs === 'number') verification.observe(outcome.verifyMs / 1000);
      // Both come with the IdP's name: the grant learns a rule only after it found the IdP.
      if (outcome.issuer === undefined) return;
      if (outcome.outcome === 'issued' && outcome.rule !== undefined) ruleMatches.inc({ idp: outcome.issuer, rule: outcome.rule });
      if (outcome.shadow !== undefined) shadowDecisions.inc({ idp: outcome.issuer, decision: outcome.shadow });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
