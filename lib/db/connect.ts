import type { Knex } from 'knex';
import { resolveDatabaseOptions, type DatabaseOptions } from './options';
import { openPglite } from './pglite';
import { openPostgres } from './postgres';

export type { DatabaseOptions } from './options';
export { DATABASE_DEFAULTS } from './options';
export { DataDirLockedError } from './data-dir-lock';
export { isPglite } from './pglite';

/**
 * Opens the package's database: PostgreSQL when `databaseUrl` is given, else the embedded PGlite under
 * `dataDir` (or in memory for `':memory:'`). Options are checked first; a mistake throws
 * {@link ConfigurationError} naming the option.
 *
 * PostgreSQL: no connection is made yet (a database that is down now may be up by the first request);
 * every wait is bounded — `acquireTimeoutMs` (default 2000) for a pooled connection and for connecting,
 * `queryTimeoutMs` (default 5000) per statement — so an unreachable database fails fast.
 *
 * PGlite: resolves once the database has started. An on-disk directory is locked for this process
 * until `knex.destroy()`; a second opener (another process, or this one again) gets
 * {@link DataDirLockedError}, because two PGlite instances on one directory silently diverge.
 *
 * @example
 * const knex = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: '.data' });
 * await migrate(knex);
 * // … serve …
 * await knex.destroy();
 */
export async function openDatabase(options: DatabaseOptions): Promise<Knex> {
  const resolved = resolveDatabaseOptions(options);
  return resolved.engine === 'postgres' ? openPostgres(resolved) : openPglite(resolved);
}
