import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { Client } from 'pg';
import { openDatabase } from '../../lib/db/connect';
import { migrate } from '../../lib/db/migrate';

/** A migrated database of its own for one test file (or one describe block). */
export interface TestDatabase {
  knex: Knex;
  mode: 'postgres' | 'pglite';
  /** Destroys the knex and, on PostgreSQL, drops the database. Safe to call twice. */
  close(): Promise<void>;
}

// Generous bounds: the machine is shared and slow at times. Tests of the production bounds open their
// own database with openDatabase().
const TEST_TIMEOUTS = { acquireTimeoutMs: 15_000, queryTimeoutMs: 15_000 } as const;

/**
 * A fresh, migrated database: with `TEST_DATABASE_URL` set, a new uniquely named PostgreSQL database
 * created from it (dropped in `close()`); otherwise an in-memory PGlite. Nothing is shared between
 * calls, so test files may run in parallel workers. PGlite takes 3–4 s to start: create one per file
 * (in `beforeAll`), not per test.
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase(); });
 * afterAll(() => db?.close());
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  return adminUrl ? createPostgresDatabase(adminUrl) : createPgliteDatabase();
}

async function createPgliteDatabase(): Promise<TestDatabase> {
  const knex = await openDatabase({ dataDir: ':memory:', acquireTimeoutMs: TEST_TIMEOUTS.acquireTimeoutMs });
  await migrate(knex);
  return { knex, mode: 'pglite', close: once(() => knex.destroy()) };
}

async function createPostgresDatabase(adminUrl: string): Promise<TestDatabase> {
  const blank = await createBlankPostgresDatabase(adminUrl);
  let knex: Knex | undefined;
  const close = once(async () => {
    try {
      await knex?.destroy();
    } finally {
      await blank.drop();
    }
  });
  try {
    knex = await openDatabase({ databaseUrl: blank.url, poolMax: 10, ...TEST_TIMEOUTS });
    await migrate(knex);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { knex, mode: 'postgres', close };
}

/** A new, empty (not migrated) PostgreSQL database beside `adminUrl`'s: its URL, and `drop()`. */
export interface BlankPostgresDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates a {@link BlankPostgresDatabase}, for tests of migrating itself. */
export async function createBlankPostgresDatabase(adminUrl: string): Promise<BlankPostgresDatabase> {
  // Lower case, digits and underscores only: safe to quote, no collisions between workers.
  const name = `jwtb_test_${process.pid}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE (PostgreSQL 13+) ends sessions a failed test may have left behind.
    drop: once(() => withAdmin(adminUrl, async (admin) => void (await admin.query(`drop database if exists "${name}" with (force)`)))),
  };
}

async function withAdmin<T>(adminUrl: string, fn: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** The first call's promise, for every call. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
