import type { Knex } from 'knex';
import * as m001 from '../../migrations/001_initial';
import * as m002 from '../../migrations/002_replay_namespace_and_change_feed';
import * as m003 from '../../migrations/003_workload_identity';
import { ConfigurationError } from '../errors';
import { isPglite } from './pglite';

/**
 * Our own bookkeeping table (and `<name>_lock`), so that a host's `knex migrate:latest` never sees our
 * rows and ours never sees the host's.
 */
export const MIGRATIONS_TABLE = 'jwt_bearer_migrations';

/**
 * The package's migrations, in order, by extension-less name. Static imports make the list the same
 * whether this runs from TypeScript (jest, tsx) or compiled JavaScript in dist/: knex would otherwise
 * record `001_initial.ts` in one and look for `001_initial.js` in the other.
 */
const MIGRATIONS: ReadonlyArray<readonly [string, Knex.Migration]> = [
  ['001_initial', m001],
  ['002_replay_namespace_and_change_feed', m002],
  ['003_workload_identity', m003],
];

/** The migration source for knex (also used by knexfile.ts): names without extension, modules statically imported. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = MIGRATIONS.find(([candidate]) => candidate === name);
    if (!found) throw new Error(`Unknown oauth2-jwt-bearer migration "${name}".`);
    return found[1];
  },
};

const CONFIG: Knex.MigratorConfig = { migrationSource, tableName: MIGRATIONS_TABLE };

/** Any 64-bit number unlikely to collide with a host's own advisory locks: "RFC 7523", then "m" for migrate. */
const ADVISORY_LOCK_KEY = '7523000109';

/** Options of {@link migrate} and {@link rollback}. */
export interface MigrateOptions {
  /** PostgreSQL: how long to wait for another process's migration to finish, in ms. Default 60000. */
  lockTimeoutMs?: number;
}

/**
 * Brings the database up to the package's latest schema; returns the names applied now (`[]` when it
 * was already current). Safe to run on every start, and from several processes at once: on PostgreSQL
 * the migration runs under an advisory lock held on a dedicated connection (so the pool needs at least
 * two connections); on PGlite there is only this process.
 *
 * @example
 * const knex = await openDatabase({ databaseUrl: process.env.DATABASE_URL });
 * await migrate(knex); // ['001_initial'] the first time, [] afterwards
 */
export async function migrate(knex: Knex, options: MigrateOptions = {}): Promise<string[]> {
  return exclusively(knex, options, async () => {
    const [, applied] = (await knex.migrate.latest(CONFIG)) as [number, string[]];
    return applied;
  });
}

/**
 * Undoes the last batch of the package's migrations, or all of them with `{ all: true }` (dropping every
 * `jwt_bearer_` table and its data); returns the names undone. Our bookkeeping table stays.
 */
export async function rollback(knex: Knex, options: MigrateOptions & { all?: boolean } = {}): Promise<string[]> {
  return exclusively(knex, options, async () => {
    const [, undone] = (await knex.migrate.rollback(CONFIG, options.all === true)) as [number, string[]];
    return undone;
  });
}

/** What {@link migrationStatus} reports. */
export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/** Which migrations have run and which are pending. Read-only: it creates nothing, not even our table. */
export async function migrationStatus(knex: Knex): Promise<MigrationStatus> {
  const { rows } = await knex.raw<{ rows: Array<{ present: boolean }> }>('select to_regclass(?) is not null as present', [
    MIGRATIONS_TABLE,
  ]);
  const applied = rows[0]?.present ? ((await knex(MIGRATIONS_TABLE).orderBy('id').pluck('name')) as string[]) : [];
  return { applied, pending: MIGRATIONS.map(([name]) => name).filter((name) => !applied.includes(name)) };
}

/**
 * Runs `work` under the same exclusion as {@link migrate}: on PostgreSQL a session advisory lock (so one
 * process at a time, whichever runs it), on PGlite one at a time in this process. For a host's own
 * migrations that must not race between instances starting together, e.g. `knex.migrate.latest()` of
 * tables that reference ours.
 *
 * @example
 * await migrate(knex);
 * await withMigrationLock(knex, () => knex.migrate.latest({ tableName: 'my_migrations' }));
 */
export function withMigrationLock<T>(knex: Knex, work: () => Promise<T>, options: MigrateOptions = {}): Promise<T> {
  return exclusively(knex, options, work);
}

// One migration at a time per knex within this process: on PGlite's single connection a second
// concurrent migrator would otherwise wait out its acquire timeout behind the first's transaction.
const running = new WeakMap<object, Promise<unknown>>();

async function exclusively<T>(knex: Knex, options: MigrateOptions, work: () => Promise<T>): Promise<T> {
  const before = running.get(knex.client) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => (isPglite(knex) ? work() : underAdvisoryLock(knex, options, work)));
  running.set(knex.client, mine);
  try {
    return await mine;
  } finally {
    if (running.get(knex.client) === mine) running.delete(knex.client);
  }
}

/**
 * Runs `work` while holding a session advisory lock on a connection of its own, so that concurrent
 * migrators (other processes, other pools) queue instead of racing to create the same tables. The lock
 * is polled with `pg_try_advisory_lock` rather than awaited, so no statement outlives `statement_timeout`.
 */
async function underAdvisoryLock<T>(knex: Knex, options: MigrateOptions, work: () => Promise<T>): Promise<T> {
  const poolMax = (knex.client.pool as { max?: number } | undefined)?.max;
  if (typeof poolMax === 'number' && poolMax < 2) {
    throw new ConfigurationError('migrate(knex): on PostgreSQL the pool needs at least 2 connections (one holds the migration lock).');
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
  const connection = await knex.client.acquireConnection();
  try {
    await takeAdvisoryLock(knex, connection, lockTimeoutMs);
    try {
      return await work();
    } finally {
      await knex
        .raw('select pg_advisory_unlock(?::bigint)', [ADVISORY_LOCK_KEY])
        .connection(connection)
        .catch((error: unknown) => {
          // Never hand a connection that may still hold the lock back to the pool.
          connection.__knex__disposed = error;
        });
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

async function takeAdvisoryLock(knex: Knex, connection: unknown, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await knex
      .raw<{ rows: Array<{ locked: boolean }> }>('select pg_try_advisory_lock(?::bigint) as locked', [ADVISORY_LOCK_KEY])
      .connection(connection);
    if (rows[0]?.locked) return;
    if (Date.now() >= deadline) {
      throw new Error(`migrate: another process has held the oauth2-jwt-bearer migration lock for over ${timeoutMs} ms; try again.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
  }
}
