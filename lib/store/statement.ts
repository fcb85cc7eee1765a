import type { Knex } from 'knex';
import { isPglite } from '../db/pglite';

/** A statement run often enough to be worth preparing: a unique name and SQL with `$1…$n` parameters. */
export interface NamedStatement {
  name: string;
  text: string;
}

/** What {@link runNamedStatement} answers. */
export interface StatementResult<T> {
  rows: T[];
  rowCount: number;
}

/**
 * Runs a hot-path statement on a connection of knex's own pool, without knex's query building: on
 * PostgreSQL as a named prepared statement (parsed and planned once per connection), on PGlite as a
 * plain parameterised query. The pool's bounds still apply (acquire timeout; statement and query
 * timeouts are the connection's), and so does PGlite's one-connection rule: the statement waits for
 * the connection like any knex query, never running inside another caller's transaction.
 *
 * Measured here with 16 in flight: about 30 µs of Node CPU per statement, against 50 µs for the same
 * `knex.raw` with a statement name and 50–77 µs without one.
 *
 * @example
 * const SAVE = { name: 'my_save_token', text: 'insert into tokens (hash, expires_at) values ($1, $2)' };
 * await runNamedStatement(knex, SAVE, [hash, expiresAt]);
 */
export async function runNamedStatement<T = Record<string, unknown>>(
  knex: Knex,
  statement: NamedStatement,
  values: readonly unknown[],
): Promise<StatementResult<T>> {
  const client = knex.client as Knex.Client;
  const connection = await client.acquireConnection();
  try {
    const result = isPglite(knex)
      ? await connection.query(statement.text, values)
      : await connection.query({ name: statement.name, text: statement.text, values });
    return { rows: result.rows as T[], rowCount: Number(result.rowCount ?? result.affectedRows ?? 0) };
  } finally {
    await client.releaseConnection(connection);
  }
}
