/**
 * Configuration for the knex CLI, for operators who prefer it to `oauth2-jwt-bearer migrate` (which does
 * the same, plus a lock against concurrent migrators). PostgreSQL only, from `DATABASE_URL`; the
 * package's own migrations table, so a host's `knex migrate:latest` never mixes with ours.
 *
 * The migrations are TypeScript in a checkout; let tsx load them:
 *
 *   DATABASE_URL=postgres://user@host/db NODE_OPTIONS='--import tsx' npx knex --knexfile knexfile.ts migrate:latest
 *   DATABASE_URL=… NODE_OPTIONS='--import tsx' npx knex --knexfile knexfile.ts migrate:status
 *   DATABASE_URL=… NODE_OPTIONS='--import tsx' npx knex --knexfile knexfile.ts migrate:rollback --all
 *
 * The extension-less migration names match what `migrate()` records, so either tool can take over from
 * the other, from TypeScript or from compiled JavaScript.
 */
import type { Knex } from 'knex';
import { MIGRATIONS_TABLE, migrationSource } from './lib/db/migrate';

function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('knexfile: set DATABASE_URL to a postgres:// URL.');
  return url;
}

const config: Knex.Config = {
  client: 'pg',
  get connection() {
    return databaseUrl();
  },
  pool: { min: 0, max: 2 },
  migrations: { tableName: MIGRATIONS_TABLE, migrationSource },
};

export default config;
