import { knex as createKnex, type Knex } from 'knex';
import { markDriverFailures } from './failure';
import { CLIENT_TIMEOUT_GRACE_MS } from './options';

/** What {@link openPostgres} needs: validated options. */
export interface PostgresOptions {
  databaseUrl: string;
  poolMax: number;
  acquireTimeoutMs: number;
  queryTimeoutMs: number;
}

/**
 * A knex on PostgreSQL whose every wait is bounded, so that a dead or stuck database turns into an
 * error within seconds instead of a hung request:
 * - waiting for a pooled connection: `acquireConnectionTimeout`;
 * - opening a connection: pg `connectionTimeoutMillis` (same value);
 * - a statement: server-side `statement_timeout`, and client-side `query_timeout` a little later for a
 *   server that cannot answer at all (network gone).
 * No connection is opened here: a database that is down at start is not an error until it is used, and
 * the pool recovers by itself when it returns.
 */
export function openPostgres(options: PostgresOptions): Knex {
  const knex = createKnex({
    client: 'pg',
    connection: {
      connectionString: options.databaseUrl,
      connectionTimeoutMillis: options.acquireTimeoutMs,
      statement_timeout: options.queryTimeoutMs,
      query_timeout: options.queryTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
      // Notice a peer that vanished without closing the socket.
      keepAlive: true,
      application_name: 'oauth2-jwt-bearer',
    } as Knex.PgConnectionConfig,
    acquireConnectionTimeout: options.acquireTimeoutMs,
    // knex would print every failed connection attempt (with a stack) to the console; the store already
    // reports those as StoreUnavailableError to its caller, who logs them once in its own format.
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
    pool: {
      // min 0: idle connections are closed, so a restarted server leaves no dead sockets behind.
      min: 0,
      max: options.poolMax,
      idleTimeoutMillis: 30_000,
      // After a client-side query timeout the query is still in flight on that socket: never reuse it.
      validate: (connection: { readyForQuery?: boolean }) => connection.readyForQuery === true,
    } as Knex.PoolConfig,
  });
  return markDriverFailures(knex);
}
