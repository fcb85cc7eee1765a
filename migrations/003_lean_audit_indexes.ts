import type { Knex } from 'knex';

/**
 * Cheaper audit rows on the token endpoint's hot insert: the two indexes of jwt_bearer_issued_tokens
 * whose column is NULL in many rows no longer hold those rows.
 *
 * - `parent_id` is set only on rows of the host's refresh grant; a JWT bearer issuance has none. The index
 *   serves only the foreign key's `ON DELETE SET NULL` (`WHERE parent_id = $1`, which implies NOT NULL),
 *   so a partial index serves it just as well.
 * - `refresh_token_sha256` is NULL whenever no refresh token is issued. It stays unique (a unique index
 *   never held NULLs equal anyway), and its readers (`WHERE refresh_token_sha256 = $1`) imply NOT NULL.
 *
 * Every other index is read by a query: the id (primary key, undo), the access token hash (unique,
 * revocation), (tenant, IdP name | subject | client) by the admin API's audit listing and tenant
 * deletion, and idp_id by the IdP foreign key's `ON DELETE SET NULL`. No row changes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX jwt_bearer_issued_tokens_parent');
  await knex.raw('CREATE INDEX jwt_bearer_issued_tokens_parent ON jwt_bearer_issued_tokens (parent_id) WHERE parent_id IS NOT NULL');
  await knex.raw('ALTER TABLE jwt_bearer_issued_tokens DROP CONSTRAINT jwt_bearer_issued_tokens_refresh_token_sha256_unique');
  await knex.raw(`
    CREATE UNIQUE INDEX jwt_bearer_issued_tokens_refresh_token_sha256_unique
      ON jwt_bearer_issued_tokens (refresh_token_sha256) WHERE refresh_token_sha256 IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX jwt_bearer_issued_tokens_refresh_token_sha256_unique');
  await knex.raw(`
    ALTER TABLE jwt_bearer_issued_tokens
      ADD CONSTRAINT jwt_bearer_issued_tokens_refresh_token_sha256_unique UNIQUE (refresh_token_sha256)`);
  await knex.raw('DROP INDEX jwt_bearer_issued_tokens_parent');
  await knex.raw('CREATE INDEX jwt_bearer_issued_tokens_parent ON jwt_bearer_issued_tokens (parent_id)');
}
