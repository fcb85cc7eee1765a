import type { Knex } from 'knex';
import { migrate } from '../db/migrate';
import { KnexGrantStore } from '../store/knex-store';
import {
  addCertificate,
  addIdentityProvider,
  addTenant,
  listIdentityProviders,
  listTenants,
  removeCertificate,
  removeIdentityProvider,
  type AddIdpInput,
} from './identity-providers';
import { addTrustRule, listTrustRules, removeTrustRule, type AddRuleInput } from './trust-rules';

/**
 * Every database operation of the CLI, by name: run on the CLI's own connection when it opens the
 * database, or inside the running example server (see `server-bridge.ts`) when that holds the
 * embedded database, so the two always do the same thing through the same code.
 */
export const OPERATIONS = {
  migrate: (knex: Knex) => migrate(knex),
  'tenant.add': (knex: Knex, input: { domain: string }) => addTenant(knex, input.domain),
  'tenant.list': (knex: Knex) => listTenants(knex),
  'idp.add': (knex: Knex, input: AddIdpInput) => addIdentityProvider(knex, input),
  'idp.list': (knex: Knex, input: { tenant?: string }) => listIdentityProviders(knex, input.tenant),
  'idp.remove': (knex: Knex, input: { tenant: string; name: string }) => removeIdentityProvider(knex, input),
  'cert.add': (knex: Knex, input: { tenant: string; name: string; source: string; bytes: Buffer; kid?: string }) =>
    addCertificate(knex, input),
  'cert.remove': (knex: Knex, input: { tenant: string; name: string; certificate: string }) => removeCertificate(knex, input),
  'rule.add': (knex: Knex, input: AddRuleInput) => addTrustRule(knex, input),
  'rule.list': (knex: Knex, input: { tenant: string; idp: string }) => listTrustRules(knex, input),
  'rule.remove': (knex: Knex, input: { tenant: string; idp: string; name: string }) => removeTrustRule(knex, input),
  prune: (knex: Knex) => new KnexGrantStore(knex).pruneUsedAssertions(new Date()),
} as const;

export type OperationName = keyof typeof OPERATIONS;
type Operation<K extends OperationName> = (typeof OPERATIONS)[K];
/** The input of an operation (`{}` for those that take none). */
export type OperationInput<K extends OperationName> = Parameters<Operation<K>> extends [Knex, infer I] ? I : Record<string, never>;
export type OperationResult<K extends OperationName> = Awaited<ReturnType<Operation<K>>>;

export function isOperationName(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(OPERATIONS, name);
}

/** Runs `name` on `knex`. */
export function runOperation<K extends OperationName>(knex: Knex, name: K, input: OperationInput<K>): Promise<OperationResult<K>> {
  const operation = OPERATIONS[name] as (knex: Knex, input: unknown) => Promise<OperationResult<K>>;
  return operation(knex, input);
}

// ---- the wire format between the CLI and the server: JSON, with Buffers and Dates kept ------------

const DATE_FIELDS = new Set(['notBefore', 'notAfter', 'createdAt']);

/** JSON in which Buffers travel as `{ $bytes: <base64> }` (certificate files may be DER). */
export function encodeWire(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key, v) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? { $bytes: raw.toString('base64') } : v;
  });
}

/** The inverse of {@link encodeWire}; certificate validity fields come back as Dates. */
export function decodeWire(text: string): unknown {
  return JSON.parse(text, (key, v) => {
    if (v && typeof v === 'object' && typeof (v as { $bytes?: unknown }).$bytes === 'string' && Object.keys(v).length === 1)
      return Buffer.from((v as { $bytes: string }).$bytes, 'base64');
    if (DATE_FIELDS.has(key) && typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(v);
    return v;
  });
}
