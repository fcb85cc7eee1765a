import type { Knex } from 'knex';

/**
 * 1. Replay records are keyed by (tenant, IdP name, jti) instead of the IdP's row id, so they outlive the
 *    IdP row: deleting an IdP and creating it again with the same name and certificate must not let an
 *    already used, unexpired assertion work once more (RFC 7523 §3 item 7: the `jti` is single-use for
 *    its issuer, and the issuer is the name, not our row). Existing records are kept.
 * 2. Every change to the configuration tables notifies the channel `jwt_bearer_config` from the database
 *    itself (statement-level triggers), so that every writer — the admin API on any instance, the CLI, a
 *    migration, a hand-written UPDATE — invalidates every process's configuration cache. The payload is
 *    the table's name; PostgreSQL folds identical notifications of one transaction into one.
 */

export const CONFIG_CHANNEL = 'jwt_bearer_config';
/** The configuration tables whose changes notify CONFIG_CHANNEL (the store's cache listens for these). */
export const CONFIG_TABLES: readonly string[] = [
  'jwt_bearer_tenants',
  'jwt_bearer_identity_providers',
  'jwt_bearer_idp_aliases',
  'jwt_bearer_idp_certificates',
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE jwt_bearer_used_assertions
      ADD COLUMN tenant_id uuid,
      ADD COLUMN idp_name text`);
  await knex.raw(`
    UPDATE jwt_bearer_used_assertions u
       SET tenant_id = i.tenant_id, idp_name = i.name
      FROM jwt_bearer_identity_providers i
     WHERE i.id = u.idp_id`);
  await knex.raw(`
    ALTER TABLE jwt_bearer_used_assertions
      DROP CONSTRAINT jwt_bearer_used_assertions_pkey,
      DROP COLUMN idp_id,
      ALTER COLUMN tenant_id SET NOT NULL,
      ALTER COLUMN idp_name SET NOT NULL,
      ADD CONSTRAINT jwt_bearer_used_assertions_pkey PRIMARY KEY (tenant_id, idp_name, jti),
      ADD CONSTRAINT jwt_bearer_used_assertions_tenant_id_foreign
        FOREIGN KEY (tenant_id) REFERENCES jwt_bearer_tenants(id) ON DELETE CASCADE`);

  await knex.raw(`
    CREATE FUNCTION jwt_bearer_notify_config_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('${CONFIG_CHANNEL}', TG_TABLE_NAME);
      RETURN NULL;
    END $$`);
  for (const table of CONFIG_TABLES) {
    await knex.raw(`
      CREATE TRIGGER ${table}_changed
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION jwt_bearer_notify_config_change()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of CONFIG_TABLES) await knex.raw(`DROP TRIGGER IF EXISTS ${table}_changed ON ${table}`);
  await knex.raw('DROP FUNCTION IF EXISTS jwt_bearer_notify_config_change()');

  // Back to (IdP row, jti): records of IdPs that no longer exist have no row to point at and are dropped.
  await knex.raw('ALTER TABLE jwt_bearer_used_assertions ADD COLUMN idp_id uuid');
  await knex.raw(`
    UPDATE jwt_bearer_used_assertions u
       SET idp_id = i.id
      FROM jwt_bearer_identity_providers i
     WHERE i.tenant_id = u.tenant_id AND i.name = u.idp_name`);
  await knex.raw('DELETE FROM jwt_bearer_used_assertions WHERE idp_id IS NULL');
  await knex.raw(`
    ALTER TABLE jwt_bearer_used_assertions
      DROP CONSTRAINT jwt_bearer_used_assertions_pkey,
      DROP CONSTRAINT jwt_bearer_used_assertions_tenant_id_foreign,
      DROP COLUMN tenant_id,
      DROP COLUMN idp_name,
      ALTER COLUMN idp_id SET NOT NULL,
      ADD CONSTRAINT jwt_bearer_used_assertions_pkey PRIMARY KEY (idp_id, jti),
      ADD CONSTRAINT jwt_bearer_used_assertions_idp_id_foreign
        FOREIGN KEY (idp_id) REFERENCES jwt_bearer_identity_providers(id) ON DELETE CASCADE`);
}
