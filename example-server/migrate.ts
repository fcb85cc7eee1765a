import type { Knex } from 'knex';
import { withMigrationLock } from '../lib';
import * as initial from './migrations/001_example_initial';
import * as changeFeed from './migrations/002_example_change_feed';

/**
 * The example host's migrations, kept apart from the package's: their own table
 * (`example_migrations`) and extension-less names, so the same database works whether the server runs
 * from TypeScript (tsx) or from compiled JavaScript. Run after the package's `migrate()` (the
 * applications reference its tenants).
 */
const MIGRATIONS: Record<string, Knex.Migration> = {
  '001_example_initial': initial,
  '002_example_change_feed': changeFeed,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = MIGRATIONS[name];
    if (!migration) throw new Error(`example migrations: no migration named ${JSON.stringify(name)}.`);
    return migration;
  },
};

const CONFIG: Knex.MigratorConfig = { migrationSource: source, tableName: 'example_migrations' };

/**
 * Applies the example server's pending migrations; returns the names applied now. Under the package's
 * migration lock, so instances started together on an empty database do not race to create the tables.
 */
export async function migrateExample(knex: Knex): Promise<string[]> {
  const [, applied] = await withMigrationLock(knex, () => knex.migrate.latest(CONFIG));
  return applied as string[];
}

/** Undoes all of the example server's migrations (for tests and `down` scripts). */
export async function rollbackExample(knex: Knex): Promise<void> {
  await knex.migrate.rollback(CONFIG, true);
}
