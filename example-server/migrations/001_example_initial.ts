import type { Knex } from 'knex';

/**
 * The example host's own tables, beside the package's `jwt_bearer_*` ones (applications belong to a
 * tenant of the package's tenants table). Tokens are kept as SHA-256 hashes only: a leaked table
 * cannot be replayed as bearer tokens.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('example_applications', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('id').inTable('jwt_bearer_tenants').onDelete('CASCADE');
    t.text('owner').notNullable();
    t.text('name').notNullable();
    t.text('key_type').notNullable();
    t.text('service_provider').notNullable(); // <owner>_<name>_<keyType>, as WSO2 names it
    t.text('client_id').notNullable().unique();
    t.text('client_secret_hash').notNullable();
    t.specificType('grants', 'text[]').notNullable();
    t.specificType('scopes', 'text[]'); // null: any scope
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tenant_id', 'service_provider']);
  });
  await knex.raw(`
    ALTER TABLE example_applications
      ADD CONSTRAINT example_applications_key_type CHECK (key_type IN ('PRODUCTION', 'SANDBOX')),
      ADD CONSTRAINT example_applications_client_id_chars CHECK (client_id ~ '^[A-Za-z0-9]+$')`);

  await knex.schema.createTable('example_tokens', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('id').inTable('jwt_bearer_tenants').onDelete('CASCADE');
    t.text('client_id').notNullable().references('client_id').inTable('example_applications').onDelete('CASCADE');
    t.text('access_token_sha256').notNullable().unique();
    t.timestamp('access_token_expires_at', { useTz: true }).notNullable();
    t.text('refresh_token_sha256').unique();
    t.timestamp('refresh_token_expires_at', { useTz: true });
    t.jsonb('user').notNullable();
    t.specificType('scope', 'text[]').notNullable().defaultTo('{}');
    t.text('idp'); // name of the IdP whose assertion the grant rests on; null for client_credentials
    t.timestamp('issued_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true });
    t.index(['client_id'], 'example_tokens_client');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('example_tokens');
  await knex.schema.dropTableIfExists('example_applications');
}
