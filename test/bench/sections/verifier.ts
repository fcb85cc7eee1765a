import { importX509, jwtVerify } from 'jose';
import { openDatabase } from '../../../lib/db/connect';
import { migrate } from '../../../lib/db/migrate';
import { KnexGrantStore } from '../../../lib/store/knex-store';
import type { IssuanceInput } from '../../../lib/store/types';
import { createAssertionVerifier } from '../../../lib/verifier';
import { assertionClaims, makeSigningKey, signAssertion } from '../../helpers/keys';
import { seedIdp } from '../../helpers/seed';
import { deferCleanup } from '../lib/cleanup';
import { createBenchDatabase } from '../lib/database';
import { alternate, measure, type OpFigure } from '../lib/measure';
import type { BenchOptions } from '../lib/options';
import { bareReplayInsert } from '../lib/replay-row';
import { median, ms, rate, ratio, us } from '../lib/stats';
import { heading, printTable } from '../lib/table';

/**
 * Section "verifier": our `createAssertionVerifier().verify` (docs/validation.md steps 1–6, the IdP already in
 * memory) against bare jose `jwtVerify` with the same already-imported key — the floor it stands on —
 * for RS256 and ES256, one at a time and 16 in flight; then the store's two per-request queries against
 * a bare replay insert. Every pair is measured A,B,A,B,A,B; medians and the ratio of medians.
 */
const AUDIENCE = 'https://as.bench.test/oauth2/token';
const ISSUER = 'bench-verifier';

export async function verifierSection(options: BenchOptions): Promise<void> {
  heading('verifier: lib/verifier verify() vs jose jwtVerify (in process)');
  const db = await createBenchDatabase(options.adminUrl);
  const dropDb = deferCleanup(() => db.drop());
  const knex = await openDatabase({ databaseUrl: db.url, poolMax: 10 });
  const closeKnex = deferCleanup(() => knex.destroy());
  let closeStore: (() => Promise<void>) | undefined;
  try {
    await migrate(knex);
    const store = new KnexGrantStore(knex);
    const uncached = new KnexGrantStore(knex, { cache: false });
    closeStore = deferCleanup(() => store.close());
    const keys = { RS256: await makeSigningKey('RS256', { kid: 'bench-rs' }), ES256: await makeSigningKey('ES256', { kid: 'bench-es' }) };
    await seedIdp(knex, {
      name: ISSUER,
      certificates: Object.values(keys).map((k) => ({ pem: k.certificatePem, kid: k.kid })),
      aliases: [AUDIENCE],
    });
    const tenant = (await store.findTenant('carbon.super'))!;
    const idp = (await store.findIdentityProvider(tenant.id, ISSUER))!;
    const verifier = createAssertionVerifier();
    const ctx = { tenantId: tenant.id, clientId: 'bench-client', findIdentityProvider: async () => idp };
    const n = options.n;

    const rows: string[][] = [];
    const ratios: string[] = [];
    for (const alg of ['RS256', 'ES256'] as const) {
      const key = keys[alg];
      // The verifier keeps no replay state, so one set of assertions serves every round.
      const assertions = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          signAssertion(key, assertionClaims({ iss: ISSUER, aud: AUDIENCE, sub: `u${i}` }), { kid: key.kid }),
        ),
      );
      const joseKey = await importX509(key.certificatePem, alg);
      // measure() passes indexes below n, the number of assertions made.
      const ours = (i: number) => verifier.verify(assertions[i]!, ctx);
      const jose = (i: number) => jwtVerify(assertions[i]!, joseKey);
      // Warm-up: JIT, and the verifier's certificate cache (it imports each certificate once).
      await measure(Math.min(n, 500), 4, ours);
      await measure(Math.min(n, 500), 4, jose);
      for (const inFlight of [1, 16]) {
        const r = await alternate(options.rounds, { verifier: () => measure(n, inFlight, ours), jose: () => measure(n, inFlight, jose) });
        const v = summarize(r.verifier);
        const j = summarize(r.jose);
        rows.push([
          `${alg}, ${inFlight} in flight`,
          rate(v.perSecond),
          rate(j.perSecond),
          ratio(v.perSecond, j.perSecond),
          us(1000 / v.perSecond - 1000 / j.perSecond),
          `${ms(v.p50Ms)} / ${ms(v.p99Ms)}`,
          `${ms(j.p50Ms)} / ${ms(j.p99Ms)}`,
          r.verifier.map((f) => rate(f.perSecond)).join(' '),
          r.jose.map((f) => rate(f.perSecond)).join(' '),
        ]);
        ratios.push(`  verifier/jose ${alg}, ${inFlight} in flight: ${ratio(v.perSecond, j.perSecond)}`);
      }
    }
    printTable(
      [
        'case (n=' + n + ' per round)',
        'verifier op/s',
        'jose op/s',
        'ratio',
        'extra µs/op',
        'verifier p50/p99 ms',
        'jose p50/p99 ms',
        'verifier rounds',
        'jose rounds',
      ],
      rows,
    );
    console.log('\nratios of medians (verifier / jose jwtVerify; below 1.00 the verifier costs more than jose, above it is faster):');
    console.log(ratios.join('\n'));

    await storeFigures(knex, { cached: store, uncached }, idp, tenant.id, Math.min(n, 1000), options.rounds);
  } finally {
    await closeStore?.();
    await closeKnex();
    await dropDb();
  }
}

/** The store's per-request work on the real database: the IdP lookup, and the replay record + audit row. */
async function storeFigures(
  knex: Parameters<typeof bareReplayInsert>[0],
  stores: { cached: KnexGrantStore; uncached: KnexGrantStore },
  idp: { id: string; tenantId: string; name: string },
  tenantId: string,
  n: number,
  rounds: number,
): Promise<void> {
  heading('store: per-request queries vs a bare replay insert (in process, Postgres, 1 in flight)');
  const insert = await bareReplayInsert(knex);
  const stamp = Date.now().toString(36);
  const issuance = (round: number, i: number) =>
    // Cast: the input is being re-keyed; the fields of both shapes are given.
    ({
      tenantId,
      idpId: idp.id,
      idpName: idp.name,
      clientId: 'bench-client',
      subject: 's',
      jti: `ri-${stamp}-${round}-${i}`,
      replayKey: `ri-${stamp}-${round}-${i}`,
      replayExpiresAt: new Date(Date.now() + 3600_000),
      scope: null,
      accessTokenSha256: `a-${stamp}-${round}-${i}`,
      refreshTokenSha256: null,
      expiresAt: new Date(Date.now() + 3600_000),
    }) as IssuanceInput;
  const r = await alternate(rounds, {
    insert: (round) => measure(n, 1, (i) => insert(idp, `floor-${stamp}-${round}-${i}`)),
    recordIssuance: (round) => measure(n, 1, (i) => stores.uncached.recordIssuance(issuance(round, i), new Date())),
    findIdentityProvider: () => measure(n, 1, () => stores.uncached.findIdentityProvider(tenantId, idp.name)),
    'findIdentityProvider (cached)': () => measure(n, 1, () => stores.cached.findIdentityProvider(tenantId, idp.name)),
  });
  const rows = (Object.keys(r) as Array<keyof typeof r>).map((name) => {
    const f = summarize(r[name]);
    return [
      name === 'insert' ? 'bare replay insert (floor)' : `store.${name}`,
      rate(f.perSecond),
      ms(f.p50Ms),
      ms(f.p99Ms),
      r[name].map((x) => rate(x.perSecond)).join(' '),
    ];
  });
  printTable([`query (n=${n} per round)`, 'op/s', 'p50 ms', 'p99 ms', 'rounds op/s'], rows);
  console.log('\nratios of medians:');
  console.log(`  recordIssuance / bare replay insert: ${ratio(summarize(r.recordIssuance).perSecond, summarize(r.insert).perSecond)}`);
  console.log(
    `  findIdentityProvider (database read) / bare replay insert: ${ratio(summarize(r.findIdentityProvider).perSecond, summarize(r.insert).perSecond)}`,
  );
}

function summarize(figures: OpFigure[]): OpFigure {
  return {
    perSecond: median(figures.map((f) => f.perSecond)),
    p50Ms: median(figures.map((f) => f.p50Ms)),
    p99Ms: median(figures.map((f) => f.p99Ms)),
  };
}
