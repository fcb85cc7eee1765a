import { Client } from 'pg';

/**
 * Fresh Postgres databases for the benchmark, created from (and dropped through) the admin URL, so that
 * every figure starts from the same empty schema and a run leaves nothing behind: the test suite's own.
 */
export { createBlankPostgresDatabase as createBenchDatabase, type BlankPostgresDatabase as BenchDatabase } from '../../helpers/database';

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface PostgresInfo {
  version: string;
  synchronousCommit: string;
}

export async function postgresInfo(adminUrl: string): Promise<PostgresInfo> {
  return withClient(adminUrl, async (c) => ({
    // Both statements answer exactly one row.
    version: (await c.query<{ version: string }>('select version()')).rows[0]!.version,
    synchronousCommit: (await c.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0]!.synchronous_commit,
  }));
}
