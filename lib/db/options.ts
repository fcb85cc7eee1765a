import { resolve } from 'node:path';
import { ConfigurationError } from '../errors';

/**
 * How to reach the database. With `databaseUrl`: PostgreSQL. Without it: the embedded PGlite, on disk
 * under `dataDir`, or in memory when `dataDir` is `':memory:'`.
 *
 * @example
 * await openDatabase({ databaseUrl: process.env.DATABASE_URL });           // production
 * await openDatabase({ dataDir: '.data' });                                // embedded, persisted
 * await openDatabase({ dataDir: ':memory:' });                             // embedded, throwaway
 */
export interface DatabaseOptions {
  /** A `postgres://` or `postgresql://` URL. When set, `dataDir` is ignored. */
  databaseUrl?: string;
  /**
   * The embedded database's home when no `databaseUrl` is given: its files go to `<dataDir>/pglite/`
   * (the directory may hold other things, e.g. the example server's `tls/`), guarded by
   * `<dataDir>/pglite.lock`. Relative paths are resolved against the working directory.
   * `':memory:'` keeps everything in memory.
   */
  dataDir?: string;
  /** PostgreSQL only: the pool's size. Default 10; at least 2 (`migrate()` holds one for its lock). */
  poolMax?: number;
  /**
   * How long a query waits for a pooled connection, and (PostgreSQL) how long opening a connection
   * may take, in milliseconds. Default 2000: a dead database answers within about two seconds.
   */
  acquireTimeoutMs?: number;
  /**
   * PostgreSQL only: the server cancels a statement after this many milliseconds (`statement_timeout`);
   * the client gives up {@link CLIENT_TIMEOUT_GRACE_MS} later (`query_timeout`) in case the server
   * itself is unreachable. Default 5000. PGlite runs in-process and cannot cancel a statement.
   */
  queryTimeoutMs?: number;
}

/** Defaults of {@link DatabaseOptions}. */
export const DATABASE_DEFAULTS = { poolMax: 10, acquireTimeoutMs: 2000, queryTimeoutMs: 5000 } as const;

/** The client-side query timeout exceeds the server's by this much, so the server's error wins when it can answer. */
export const CLIENT_TIMEOUT_GRACE_MS = 1000;

/** Validated options, one shape per engine. */
export type ResolvedDatabaseOptions =
  | { engine: 'postgres'; databaseUrl: string; poolMax: number; acquireTimeoutMs: number; queryTimeoutMs: number }
  | { engine: 'pglite'; dataDir: string | ':memory:'; acquireTimeoutMs: number };

const KNOWN = new Set(['databaseUrl', 'dataDir', 'poolMax', 'acquireTimeoutMs', 'queryTimeoutMs']);
// setTimeout overflows above 2^31-1 ms and then fires at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks {@link DatabaseOptions} and fills in defaults; throws {@link ConfigurationError} naming the option. */
export function resolveDatabaseOptions(options: DatabaseOptions): ResolvedDatabaseOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('openDatabase(options): options must be an object such as { databaseUrl } or { dataDir }.');
  }
  const unknown = Object.keys(options).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `openDatabase(options): unknown option ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${[...KNOWN].join(', ')}.`,
    );
  }
  const poolMax = integer(options, 'poolMax', 2, 1000) ?? DATABASE_DEFAULTS.poolMax;
  const acquireTimeoutMs = integer(options, 'acquireTimeoutMs', 1, MAX_TIMER_MS) ?? DATABASE_DEFAULTS.acquireTimeoutMs;
  const queryTimeoutMs = integer(options, 'queryTimeoutMs', 1, MAX_TIMER_MS - CLIENT_TIMEOUT_GRACE_MS) ?? DATABASE_DEFAULTS.queryTimeoutMs;

  if (options.databaseUrl !== undefined) {
    return { engine: 'postgres', databaseUrl: postgresUrl(options.databaseUrl), poolMax, acquireTimeoutMs, queryTimeoutMs };
  }
  return { engine: 'pglite', dataDir: dataDirectory(options.dataDir), acquireTimeoutMs };
}

function integer(
  options: DatabaseOptions,
  name: 'poolMax' | 'acquireTimeoutMs' | 'queryTimeoutMs',
  min: number,
  max: number,
): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`openDatabase(options): ${name} must be an integer from ${min} to ${max}; got ${describe(value)}.`);
  }
  return value;
}

function postgresUrl(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(
      'openDatabase(options): databaseUrl must be a non-empty postgres:// URL (or leave it out for the embedded database).',
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never echo the value: it may carry a password.
    throw new ConfigurationError(
      'openDatabase(options): databaseUrl is not a valid URL; expected postgres://user:password@host:5432/database.',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigurationError(
      `openDatabase(options): databaseUrl must start with postgres:// or postgresql://; got "${url.protocol}//".`,
    );
  }
  return value;
}

function dataDirectory(value: unknown): string {
  if (value === undefined) {
    throw new ConfigurationError(
      "openDatabase(options): give databaseUrl (PostgreSQL) or dataDir (the embedded database's directory, or ':memory:').",
    );
  }
  if (typeof value !== 'string' || value.trim() === '' || value.includes('\0')) {
    throw new ConfigurationError(`openDatabase(options): dataDir must be a directory path or ':memory:'; got ${describe(value)}.`);
  }
  return value === ':memory:' ? value : resolve(value);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
