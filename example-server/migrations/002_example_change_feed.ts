import type { Knex } from 'knex';

/**
 * Applications notify the package's change feed channel like the package's own configuration tables
 * (the trigger function is the package's, from its migration 002), so the example model's client cache
 * is emptied on every instance whoever writes: the admin API, a script, a hand-written UPDATE.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TRIGGER example_applications_changed
      AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON example_applications
      FOR EACH STATEMENT EXECUTE FUNCTION jwt_bearer_notify_config_change()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS example_applications_changed ON example_applications');
}
