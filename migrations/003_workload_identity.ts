import type { Knex } from 'knex';

/**
 * Workload identity (docs/workload-identity.md):
 * 1. Trust rules per IdP (`jwt_bearer_idp_rules`): a CEL condition over the verified assertion, the
 *    clients that may present it (empty: any client of the tenant), the scopes it allows (NULL: no
 *    bound of its own), the subject handed to the host (a CEL string expression; NULL: `claims.sub`),
 *    and a mode: `enforce` rules decide, `shadow` rules are only evaluated and reported. A configuration
 *    table, so its changes notify CONFIG_CHANNEL like the others.
 * 2. Replay policy per IdP: `once` (every assertion single-use) or `reuse` (tokens reused by design,
 *    e.g. Kubernetes projected service account tokens), the latter only with a lifetime cap of at most
 *    an hour, enforced here so that no writer can store the combination.
 * 3. OIDC discovery: the IdP's keys may be named by an OpenID Provider configuration document
 *    (OpenID Connect Discovery 1.0 §4), instead of a JWKS URI (at most one of the two).
 * 4. The audit row records which rule admitted the assertion.
 */

export const RULES_TABLE = 'jwt_bearer_idp_rules';
/**
 * The lifetime cap of an IdP with replay policy `reuse`, in seconds (one hour): its
 * `maxAssertionLifetimeSeconds` may not exceed it (a database check), and its assertions are held to
 * `exp ≤ now + min(maxAssertionLifetimeSeconds, this) + skew` and, where `iat` is present, `exp − iat ≤` the
 * same cap (docs/validation.md step 5). A token that may be presented again and again is worth less to a
 * thief the shorter it lives.
 */
export const REUSE_MAX_LIFETIME_SECONDS = 3600;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE jwt_bearer_identity_providers
      ADD COLUMN replay_policy text NOT NULL DEFAULT 'once',
      ADD COLUMN discovery_url text,
      ADD CONSTRAINT jwt_bearer_idp_replay_policy CHECK (replay_policy IN ('once', 'reuse')),
      ADD CONSTRAINT jwt_bearer_idp_reuse_lifetime
        CHECK (replay_policy = 'once' OR max_assertion_lifetime_seconds <= ${REUSE_MAX_LIFETIME_SECONDS}),
      ADD CONSTRAINT jwt_bearer_idp_one_key_url CHECK (jwks_uri IS NULL OR discovery_url IS NULL)`);

  await knex.schema.createTable(RULES_TABLE, (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('idp_id').notNullable().references('id').inTable('jwt_bearer_identity_providers').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('condition').notNullable(); // CEL, boolean
    t.text('subject'); // CEL, string; NULL: claims.sub
    t.specificType('clients', 'text[]').notNullable().defaultTo('{}'); // empty: any client of the tenant
    t.specificType('scopes', 'text[]'); // NULL: no bound of the rule's own
    t.text('mode').notNullable().defaultTo('enforce');
    t.integer('position').notNullable().defaultTo(0); // evaluation order, then name
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['idp_id', 'name']);
  });
  await knex.raw(`
    ALTER TABLE ${RULES_TABLE}
      ADD CONSTRAINT jwt_bearer_rule_name_nonempty CHECK (length(name) > 0),
      ADD CONSTRAINT jwt_bearer_rule_condition_nonempty CHECK (length(condition) > 0),
      ADD CONSTRAINT jwt_bearer_rule_mode CHECK (mode IN ('enforce', 'shadow'))`);
  await knex.raw(`
    CREATE TRIGGER ${RULES_TABLE}_changed
      AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${RULES_TABLE}
      FOR EACH STATEMENT EXECUTE FUNCTION jwt_bearer_notify_config_change()`);

  await knex.raw('ALTER TABLE jwt_bearer_issued_tokens ADD COLUMN rule_name text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE jwt_bearer_issued_tokens DROP COLUMN rule_name');
  await knex.schema.dropTable(RULES_TABLE);
  await knex.raw(`
    ALTER TABLE jwt_bearer_identity_providers
      DROP CONSTRAINT jwt_bearer_idp_one_key_url,
      DROP CONSTRAINT jwt_bearer_idp_reuse_lifetime,
      DROP CONSTRAINT jwt_bearer_idp_replay_policy,
      DROP COLUMN discovery_url,
      DROP COLUMN replay_policy`);
}
