/**
 * `npm run bench`: what the token endpoint costs, as figures and as ratios to the floors it stands on
 * (jose's own verify, a bare replay-table insert), all measured in this one run because the machines
 * here are noisy. Database: TEST_DATABASE_URL (Postgres) if set, else embedded PGlite.
 *
 * BENCH_N sets the iterations per measurement (default 2000).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { compactVerify, importX509 } from 'jose';
import { createAssertionVerifier } from '../../lib/verifier';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { createTestDatabase } from '../helpers/database';
import { buildHostApp, CLIENT, HOSTS, TOKEN_URL } from '../helpers/host-app';
import { assertionClaims, makeSigningKey, signAssertion } from '../helpers/keys';
import { seedIdp } from '../helpers/seed';
import { JWT_BEARER_GRANT_TYPE } from '../../lib/grant/jwt-bearer-grant';

const N = Number(process.env.BENCH_N ?? 2000);

interface Figure {
  name: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `op` n times with `concurrency` in flight; returns throughput and latency percentiles. */
async function measure(name: string, n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Figure> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { name, perSecond: (n / elapsed) * 1000, p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const store = new KnexGrantStore(db.knex);
  const figures: Figure[] = [];
  try {
    const key = await makeSigningKey('RS256', { kid: 'bench' });
    const es = await makeSigningKey('ES256', { kid: 'bench-es' });
    await seedIdp(db.knex, { name: 'bench', certificates: [{ pem: key.certificatePem, kid: key.kid }, { pem: es.certificatePem, kid: es.kid }], aliases: [TOKEN_URL] });
    const idp = (await store.findIdentityProvider((await store.findTenant('carbon.super'))!.id, 'bench'))!;
    const sign = (i: number, signer = key) => signAssertion(signer, assertionClaims({ iss: 'bench', aud: TOKEN_URL, sub: `u${i}`, jti: `${signer.alg}-${i}-${Date.now()}` }), { kid: signer.kid });
    const rsAssertions = await Promise.all(Array.from({ length: N }, (_, i) => sign(i)));
    const esAssertions = await Promise.all(Array.from({ length: N }, (_, i) => sign(i, es)));

    // Floors: jose alone with an already imported key, and a bare insert into the replay table.
    const rsKey = await importX509(key.certificatePem, 'RS256');
    const esKey = await importX509(es.certificatePem, 'ES256');
    figures.push(await measure('floor: jose compactVerify RS256', N, 1, (i) => compactVerify(rsAssertions[i], rsKey)));
    figures.push(await measure('floor: jose compactVerify ES256', N, 1, (i) => compactVerify(esAssertions[i], esKey)));
    const verifier = createAssertionVerifier();
    const ctx = { tenantId: idp.tenantId, clientId: CLIENT.id, findIdentityProvider: async () => idp };
    figures.push(await measure('verifier.verify RS256 (steps 1-6, IdP in memory)', N, 1, (i) => verifier.verify(rsAssertions[i], ctx)));
    figures.push(await measure('verifier.verify ES256 (steps 1-6, IdP in memory)', N, 1, (i) => verifier.verify(esAssertions[i], ctx)));

    const dbN = Math.min(N, 1000);
    figures.push(await measure(`floor: insert replay row (${db.mode})`, dbN, 1, (i) =>
      db.knex('jwt_bearer_used_assertions').insert({ idp_id: idp.id, jti: `floor-${i}`, expires_at: new Date(Date.now() + 60_000) })));
    figures.push(await measure(`store.findIdentityProvider (${db.mode})`, dbN, 1, () => store.findIdentityProvider(idp.tenantId, 'bench')));
    figures.push(await measure(`store.recordIssuance (${db.mode})`, dbN, 1, (i) => store.recordIssuance({
      tenantId: idp.tenantId, idpId: idp.id, idpName: 'bench', clientId: CLIENT.id, subject: 's', jti: `ri-${i}`, replayKey: `ri-${i}`,
      replayExpiresAt: new Date(Date.now() + 60_000), scope: null, accessTokenSha256: `a-${i}-${Date.now()}`, refreshTokenSha256: null,
      expiresAt: new Date(Date.now() + 3600_000),
    }, new Date())));

    // The whole endpoint over real HTTP on loopback, both host lines, 8 requests in flight.
    for (const hut of HOSTS) {
      const { app } = buildHostApp(hut, { store });
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
      const auth = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
      const fresh = await Promise.all(Array.from({ length: dbN }, (_, i) => sign(i + N)));
      let failures = 0;
      figures.push(await measure(`POST /oauth2/token RS256, ${hut.name} (${db.mode}, 8 in flight)`, dbN, 8, async (i) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: fresh[i] }),
        });
        if (res.status !== 200) failures++;
        await res.arrayBuffer();
      }));
      server.close();
      if (failures > 0) throw new Error(`${failures} token requests failed during the benchmark`);
    }
  } finally {
    await db.close();
  }

  const width = Math.max(...figures.map((f) => f.name.length));
  console.log(`\nN=${N} (database operations and HTTP: ${Math.min(N, 1000)}), node ${process.version}\n`);
  console.log(`${'measurement'.padEnd(width)}  ${'ops/s'.padStart(9)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}`);
  for (const f of figures) {
    console.log(`${f.name.padEnd(width)}  ${f.perSecond.toFixed(0).padStart(9)}  ${f.p50Ms.toFixed(3).padStart(8)}  ${f.p99Ms.toFixed(3).padStart(8)}`);
  }
  const by = (prefix: string) => figures.find((f) => f.name.startsWith(prefix))!;
  const ratio = (a: Figure, b: Figure) => (a.perSecond / b.perSecond).toFixed(2);
  console.log('\nratios (same run):');
  console.log(`  verifier RS256 / jose RS256 floor:        ${ratio(by('verifier.verify RS256'), by('floor: jose compactVerify RS256'))}`);
  console.log(`  verifier ES256 / jose ES256 floor:        ${ratio(by('verifier.verify ES256'), by('floor: jose compactVerify ES256'))}`);
  console.log(`  recordIssuance / bare insert floor:       ${ratio(by('store.recordIssuance'), by('floor: insert replay row'))}`);
  console.log(`  endpoint (v5) / verifier RS256:           ${ratio(by('POST /oauth2/token RS256, @node-oauth'), by('verifier.verify RS256'))}`);
  console.log(`  endpoint (v5) / bare insert floor:        ${ratio(by('POST /oauth2/token RS256, @node-oauth'), by('floor: insert replay row'))}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
