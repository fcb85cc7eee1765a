import type { Knex } from 'knex';

/**
 * The one classifier of database failures: is this "the database cannot answer now" (`unavailable`:
 * answer 503 and try again later), a statement the database refused (`rejected`: a constraint, a
 * type, a missing table), or something else (`other`: a bug in JavaScript, an error from elsewhere)? It reads structured fields only — SQLSTATE (PostgreSQL Appendix A), Node's `errno` codes,
 * knex's `KnexTimeoutError` — never a message text, which drivers reword between versions.
 */
export type DatabaseFailureKind = 'unavailable' | 'rejected' | 'other';

/**
 * SQLSTATEs that mean "cannot answer now", not "the statement is wrong":
 * - class 08 connection exception (the connection failed or was lost);
 * - class 53 insufficient resources (disk full, out of memory, too many connections);
 * - 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, in recovery);
 * - 57014 query_canceled: our `statement_timeout` expired (or an operator cancelled the statement);
 * - class 58 system error (an I/O error on the server).
 * Serialization failures and deadlocks (40001, 40P01) are not outages: a caller that retries its
 * transaction handles them; one that does not, reports them as the failure they are.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|58)[0-9A-Z]{3}$|^57P0[123]$|^57014$/;

/** Node `errno` codes of a socket that could not be opened or was lost (DNS included). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** JavaScript's own error classes: thrown by code (ours or a driver's) that is wrong, never by an outage. */
function isProgrammingError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError;
}

/** The SQLSTATE of a PostgreSQL (pg or PGlite) error, if it has one: five digits or capitals. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Errors raised by a knex that {@link markDriverFailures} watches: pg and PGlite report a lost
 * connection, a client-side query timeout, a closed PGlite or a destroyed pool as plain `Error`s with no
 * code, so where an error came from is the only structured fact about it.
 */
const driverFailures = new WeakSet<object>();

/**
 * Marks every error that `knex`'s driver raises (a failed statement, a failed connection) so that
 * {@link isDatabaseUnavailable} can tell a code-less driver failure from any other plain `Error`.
 * {@link openDatabase} does this for the knex it opens; call it on a knex you open yourself.
 */
export function markDriverFailures(knex: Knex): Knex {
  const client = knex.client as Knex.Client & { acquireConnection(): Promise<unknown> };
  // Every statement, in or out of a transaction (transaction clients forward the event to this one).
  client.on('query-error', (error: unknown) => {
    if (typeof error === 'object' && error !== null) driverFailures.add(error);
  });
  // Connecting and waiting for a pooled connection (transactions acquire through this client too).
  const acquire = client.acquireConnection.bind(client);
  client.acquireConnection = async () => {
    try {
      return await acquire();
    } catch (error) {
      if (typeof error === 'object' && error !== null) driverFailures.add(error);
      throw error;
    }
  };
  return knex;
}

/**
 * What one error means, looking through wrappers (`cause`, and `inner` where node-oauth2-server keeps
 * the original of a `ServerError`). `fromDatabaseCall: true` says the caller knows the error came out of
 * a database call (a store method), so a code-less plain `Error` is the driver's connection failure.
 */
export function classifyDatabaseFailure(error: unknown, options: { fromDatabaseCall?: boolean } = {}): DatabaseFailureKind {
  let plainDriverError = false;
  for (let e = error as Record<string, unknown> | null | undefined, depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    if ((e as { code?: unknown }).code === 'store_unavailable' || e.name === 'KnexTimeoutError') return 'unavailable';
    const state = sqlStateOf(e);
    if (state !== undefined) return UNAVAILABLE_SQLSTATE.test(state) ? 'unavailable' : 'rejected';
    if (typeof e.code === 'string' && SOCKET_CODES.has(e.code)) return 'unavailable';
    if (isProgrammingError(e)) return 'other';
    if (driverFailures.has(e)) plainDriverError = true;
    e = (e.cause ?? e.inner) as typeof e;
  }
  return plainDriverError || options.fromDatabaseCall === true ? 'unavailable' : 'other';
}

/**
 * Whether `error` (or what it wraps) says the database cannot answer now: a connection or resource
 * failure, a shutdown, a statement timeout, a pool that gave no connection in time, or a failure that
 * a watched driver raised without a SQLSTATE. Anything else — a refused statement, a bug, an error
 * from elsewhere — is not.
 *
 * @example
 * catch (error) { res.status(isDatabaseUnavailable(error) ? 503 : 500); }
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return classifyDatabaseFailure(error) === 'unavailable';
}
