import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Fresh Postgres databases for the benchmark, created from (and dropped through) the admin URL, so that
 * every figure starts from the same empty schema and a run leaves nothing behind.
 */
export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  // Lower case, digits and underscores only: safe to quote.
  const name = `jwtb_bench_${process.pid}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    // FORCE (PostgreSQL 13+) ends the sessions of a server that did not stop cleanly.
    drop: () => (dropped ??= withClient(adminUrl, async (c) => void (await c.query(`drop database if exists "${name}" with (force)`)))),
  };
}

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
    version: (await c.query<{ version: string }>('select version()')).rows[0].version,
    synchronousCommit: (await c.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0].synchronous_commit,
  }));
}
