import { JwtBearerError } from '../errors';
import { SCOPE_TOKEN } from '../shared/patterns';

/**
 * Parses the `scope` form parameter into its distinct tokens; `undefined` when absent.
 * A malformed value is `invalid_scope` (RFC 6749 §5.2), not a reason to ignore it.
 */
export function parseRequestedScope(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new JwtBearerError('scope_invalid', { detail: 'scope is not a string' });
  const tokens = value.split(' ').filter((t) => t.length > 0);
  if (tokens.length === 0) return undefined;
  if (!tokens.every((t) => SCOPE_TOKEN.test(t)))
    throw new JwtBearerError('scope_invalid', { detail: 'scope has characters outside RFC 6749 §3.3' });
  return [...new Set(tokens)];
}

/**
 * docs/validation.md step 7 (policy part): every requested scope must lie within the IdP's allowed scopes, the
 * client's and the admitting trust rule's, where any is set. Nothing requested is always within policy.
 */
export function checkScopePolicy(
  requested: string[] | undefined,
  idpAllowed: string[] | null,
  clientAllowed: string[] | null,
  ruleAllowed: string[] | null = null,
): void {
  if (!requested) return;
  for (const [allowed, who] of [
    [idpAllowed, 'identity provider'],
    [clientAllowed, 'client'],
    [ruleAllowed, 'trust rule'],
  ] as const) {
    if (allowed && requested.some((s) => !allowed.includes(s))) {
      throw new JwtBearerError('scope_not_allowed', { detail: `scope outside the ${who}'s allowed scopes` });
    }
  }
}

/** A granted scope as the audit stores it: space-separated (v5 hosts hand an array, v3 a string); none → null. */
export function scopeText(scope: unknown): string | null {
  const text = Array.isArray(scope) ? scope.join(' ') : scope;
  return typeof text === 'string' && text.length > 0 ? text : null;
}

/** The client's allowed scopes as a host client object may carry them (`scopes` array or `scope` string). */
export function clientScopes(client: Record<string, unknown>): string[] | null {
  if (Array.isArray(client.scopes)) return client.scopes.map(String);
  if (typeof client.scope === 'string') return client.scope.split(' ').filter(Boolean);
  if (Array.isArray(client.scope)) return client.scope.map(String);
  return null;
}
