/** Records for the rule engine's unit tests: trust rules and the IdP that carries them, no database. */
import type { IdentityProviderRecord, TrustRuleRecord } from '../../lib/types';
import { IDP_DEFAULTS } from '../helpers/records';

let ruleIds = 0;

/** A trust rule with the table's defaults (enforced, any client, no scope bound, subject `claims.sub`). */
export function rule(name: string, condition: string, overrides: Partial<TrustRuleRecord> = {}): TrustRuleRecord {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    id: `00000000-0000-4000-8000-${String(++ruleIds).padStart(12, '0')}`,
    name,
    condition,
    subject: null,
    clients: [],
    scopes: null,
    mode: 'enforce',
    position: 0,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/** An IdP record carrying `rules` (in the order given: the engine orders them itself). */
export function idpWith(rules: TrustRuleRecord[]): IdentityProviderRecord {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    ...IDP_DEFAULTS,
    id: '00000000-0000-4000-8000-00000000aaaa',
    tenantId: '00000000-0000-4000-8000-00000000bbbb',
    name: 'https://issuer.example.test',
    aliases: [],
    certificates: [],
    rules,
    createdAt: at,
    updatedAt: at,
  };
}
