/**
 * The replay+audit statement alone, in process, against a fresh Postgres database: issuances per second
 * and the Postgres backends' CPU per issuance (read from /proc for this database's own backends, so that
 * other load on the machine does not count), with `IN_FLIGHT` concurrent callers. For comparing schema
 * and batching variants A,B,A,B in one sitting:
 *   ISSUANCE_MIGRATIONS=002 ISSUANCE_N=6000 IN_FLIGHT=16 npx tsx test/bench/issuance-statement.ts
 * (ISSUANCE_MIGRATIONS: apply the package's migrations up to this number only; default all).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openDatabase } from '../../lib/db/connect';
import { migrationSource, MIGRATIONS_TABLE } from '../../lib/db/migrate';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { createBenchDatabase } from './lib/database';
import { CLOCK_TICKS_PER_SECOND } from './lib/cpu';
import { DEFAULT_ADMIN_URL } from './lib/options';

const env = process.env;
const upTo = env.ISSUANCE_MIGRATIONS ?? 'all';
const n = Number(env.ISSUANCE_N ?? 6000);
const inFlight = Number(env.IN_FLIGHT ?? 16);

const ticksOf = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
};

async function main() {
  const db = await createBenchDatabase(env.BENCH_DATABASE_URL || DEFAULT_ADMIN_URL);
  const knex = await openDatabase({ databaseUrl: db.url, poolMax: inFlight, acquireTimeoutMs: 15_000 });
  try {
    const names = await migrationSource.getMigrations([]);
    for (const name of names) {
      if (upTo !== 'all' && name.slice(0, 3) > upTo) break;
      await knex.migrate.up({ migrationSource, tableName: MIGRATIONS_TABLE, name });
    }
    const tenantId = (await knex('jwt_bearer_tenants').first('id')).id;
    const [{ id: idpId }] = await knex('jwt_bearer_identity_providers').insert({ tenant_id: tenantId, name: 'bench' }).returning('id');
    const store = new KnexGrantStore(knex, { cache: false });
    const hex = () => randomBytes(32).toString('hex');
    const one = () =>
      store.recordIssuance(
        {
          tenantId,
          idpId,
          idpName: 'bench',
          clientId: 'client',
          subject: 'admin',
          jti: hex(),
          replayKey: hex(),
          replayExpiresAt: new Date(Date.now() + 600_000),
          scope: null,
          accessTokenSha256: hex(),
          refreshTokenSha256: hex(),
          expiresAt: new Date(Date.now() + 3_600_000),
        },
        new Date(),
      );
    // Warm up: every pool connection opened and its statement prepared.
    await Promise.all(Array.from({ length: inFlight * 4 }, one));
    const pids: number[] = (await knex.raw('select pid from pg_stat_activity where datname = current_database()')).rows.map(
      (r: { pid: number }) => r.pid,
    );
    const before = pids.map(ticksOf);
    let left = n;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (left-- > 0) await one();
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = pids.map(ticksOf);
    const pgMs = ((after.reduce((s, t) => s + t, 0) - before.reduce((s, t) => s + t, 0)) * 1000) / CLOCK_TICKS_PER_SECOND;
    console.log(
      JSON.stringify({ migrations: upTo, inFlight, n, perSecond: Math.round(n / seconds), pgUsPerIssuance: Math.round((pgMs * 1000) / n) }),
    );
    await store.close();
  } finally {
    await knex.destroy();
    await db.drop();
  }
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
