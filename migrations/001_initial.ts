import type { Knex } from 'knex';

/**
 * The schema of docs/storage.md. Every name carries the `jwt_bearer_` prefix so the tables sit beside a host's
 * own without collisions. Correctness that must hold across processes (one replay record per
 * (IdP, jti), one IdP name per tenant) lives in these constraints, never in process memory.
 */

const FORBIDDEN_ALGS = "ARRAY['none','HS256','HS384','HS512']";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('jwt_bearer_tenants', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('domain').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex('jwt_bearer_tenants').insert({ domain: 'carbon.super' });

  await knex.schema.createTable('jwt_bearer_identity_providers', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('id').inTable('jwt_bearer_tenants').onDelete('CASCADE');
    t.text('name').notNullable(); // the JWT `iss`
    t.text('display_name');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.specificType('algorithms', 'text[]'); // null: the default asymmetric list
    t.text('jwks_uri');
    t.boolean('require_jti').notNullable().defaultTo(true);
    t.integer('max_assertion_lifetime_seconds').notNullable().defaultTo(86400);
    t.integer('iat_max_age_seconds');
    t.integer('clock_skew_seconds').notNullable().defaultTo(60);
    t.specificType('allowed_subjects', 'text[]');
    t.specificType('allowed_clients', 'text[]');
    t.specificType('allowed_scopes', 'text[]');
    t.boolean('issue_refresh_token').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tenant_id', 'name']);
  });
  await knex.raw(`
    ALTER TABLE jwt_bearer_identity_providers
      ADD CONSTRAINT jwt_bearer_idp_name_nonempty CHECK (length(name) > 0),
      ADD CONSTRAINT jwt_bearer_idp_no_symmetric_algs CHECK (NOT (algorithms && ${FORBIDDEN_ALGS})),
      ADD CONSTRAINT jwt_bearer_idp_lifetime_positive CHECK (max_assertion_lifetime_seconds > 0),
      ADD CONSTRAINT jwt_bearer_idp_iat_age_positive CHECK (iat_max_age_seconds IS NULL OR iat_max_age_seconds > 0),
      ADD CONSTRAINT jwt_bearer_idp_skew_nonnegative CHECK (clock_skew_seconds >= 0)`);

  await knex.schema.createTable('jwt_bearer_idp_aliases', (t) => {
    t.uuid('idp_id').notNullable().references('id').inTable('jwt_bearer_identity_providers').onDelete('CASCADE');
    t.text('alias').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['idp_id', 'alias']);
  });

  await knex.schema.createTable('jwt_bearer_idp_certificates', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('idp_id').notNullable().references('id').inTable('jwt_bearer_identity_providers').onDelete('CASCADE');
    t.text('pem').notNullable();
    t.text('thumbprint').notNullable(); // base64url SHA-256 of the DER: the x5t#S256 form
    t.text('subject').notNullable();
    t.timestamp('not_before', { useTz: true }).notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.text('kid');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['idp_id', 'thumbprint']);
  });

  // Replay records: the primary key is what makes "exactly one of many concurrent uses" true.
  await knex.schema.createTable('jwt_bearer_used_assertions', (t) => {
    t.uuid('idp_id').notNullable().references('id').inTable('jwt_bearer_identity_providers').onDelete('CASCADE');
    t.text('jti').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['idp_id', 'jti']);
    t.index(['expires_at'], 'jwt_bearer_used_assertions_expires_at');
  });

  // Audit of issued tokens: SHA-256 hashes only, never a raw token. The IdP name is kept so the audit
  // outlives the IdP; idp_id goes NULL on delete, which is also how refresh is refused afterwards.
  await knex.schema.createTable('jwt_bearer_issued_tokens', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('id').inTable('jwt_bearer_tenants').onDelete('CASCADE');
    t.uuid('idp_id').references('id').inTable('jwt_bearer_identity_providers').onDelete('SET NULL');
    t.text('idp_name').notNullable();
    t.text('client_id').notNullable();
    t.text('subject').notNullable();
    t.text('jti');
    t.text('scope');
    t.text('access_token_sha256').notNullable().unique();
    t.text('refresh_token_sha256').unique();
    t.uuid('parent_id').references('id').inTable('jwt_bearer_issued_tokens').onDelete('SET NULL');
    t.timestamp('issued_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.index(['tenant_id', 'idp_name'], 'jwt_bearer_issued_tokens_tenant_idp');
    t.index(['tenant_id', 'subject'], 'jwt_bearer_issued_tokens_tenant_subject');
    t.index(['tenant_id', 'client_id'], 'jwt_bearer_issued_tokens_tenant_client');
    // Foreign keys with ON DELETE SET NULL: without these, deleting an IdP or an audit row (undoIssuance)
    // scans the whole audit table for rows pointing at it.
    t.index(['idp_id'], 'jwt_bearer_issued_tokens_idp');
    t.index(['parent_id'], 'jwt_bearer_issued_tokens_parent');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'jwt_bearer_issued_tokens',
    'jwt_bearer_used_assertions',
    'jwt_bearer_idp_certificates',
    'jwt_bearer_idp_aliases',
    'jwt_bearer_identity_providers',
    'jwt_bearer_tenants',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
