import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { IssuanceInput } from '../../lib/store/types';

/** An IdP row (snake_case columns) plus its aliases and certificate rows. */
export type IdpRow = Record<string, unknown> & {
  tenant_id: string;
  name: string;
  aliases?: string[];
  certificates?: Array<Record<string, unknown>>;
};

/**
 * Inserts an IdP straight into the tables, each alias and certificate in a statement of its own (so
 * their `created_at` follows the given order); returns the IdP id. Certificates are not parsed here:
 * the store does not look inside the PEM.
 */
export async function insertIdp(knex: Knex, idp: IdpRow): Promise<string> {
  const { aliases = [], certificates = [], ...row } = idp;
  const [{ id }] = await knex('jwt_bearer_identity_providers').insert(row).returning('id');
  for (const alias of aliases) await knex('jwt_bearer_idp_aliases').insert({ idp_id: id, alias });
  for (const cert of certificates) await knex('jwt_bearer_idp_certificates').insert({ idp_id: id, ...cert });
  return id;
}

const hex = () => randomBytes(16).toString('hex');

/** A complete {@link IssuanceInput} with fresh token hashes; replay record until 2030-01-01T00:01Z, token until 01:00Z. */
export function issuance(over: Partial<IssuanceInput> & Pick<IssuanceInput, 'tenantId' | 'idpId' | 'idpName'>): IssuanceInput {
  return {
    clientId: 'client-1',
    subject: 'alice',
    jti: 'jti',
    replayKey: 'jti',
    replayExpiresAt: new Date('2030-01-01T00:01:00.000Z'),
    scope: null,
    accessTokenSha256: `at-${hex()}`,
    refreshTokenSha256: `rt-${hex()}`,
    expiresAt: new Date('2030-01-01T01:00:00.000Z'),
    ...over,
  };
}
