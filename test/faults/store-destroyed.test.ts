/**
 * The smaller fault test, for every mode (in-memory PGlite by default, PostgreSQL with TEST_DATABASE_URL):
 * the database handle is destroyed while requests are in flight (the embedded database shut down under a
 * running server). docs/http.md: every answer is a 200 or a 503 `temporarily_unavailable` — never a 500, never
 * a stack trace, never a hang — and afterwards every request is a prompt 503. docs/validation.md step 9: every 200
 * was recorded before it was answered.
 *
 * The PostgreSQL crash/freeze/lock/pool tests are in postgres-outage.test.ts (PostgreSQL mode only).
 */
import request from 'supertest';
import { sha256 } from '../../lib/hash';
import { openDatabase } from '../../lib/db/connect';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { expectNoLeak } from '../helpers/attack-kit';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { expectRefused, grantForm, ISSUER, TOKEN_URL } from '../helpers/grant-fixture';
import { buildHostApp, CLIENT, HOSTS } from '../helpers/host-app';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { seedIdp } from '../helpers/seed';

/** After the handle is gone, an answer must come at once (no connection to wait for). */
const PROMPT_MS = 1000;
/**
 * In-flight requests when the handle goes: one waiting for a pooled connection may wait out the acquire
 * timeout (seen on PostgreSQL: knex's destroy does not fail pending acquires at once): 2 s, the
 * production default used here.
 */
const IN_FLIGHT_MS = 5_000;

describe.each(HOSTS)('the database handle destroyed under load, on $name', (hut) => {
  let db: TestDatabase;
  let key: TestSigningKey;
  beforeAll(async () => {
    db = await createTestDatabase();
    key = await makeSigningKey('ES256', { kid: 'k' });
    await seedIdp(db.knex, { name: ISSUER, certificates: [{ pem: key.certificatePem, kid: key.kid }], aliases: [TOKEN_URL] });
  });
  afterAll(async () => {
    if (db?.mode === 'postgres') await db.close();
    else await db?.knex.destroy().catch(() => undefined);
  });

  it(`answers 200 or 503 to requests in flight, then 503 within ${PROMPT_MS} ms, never 500, never a hang`, async () => {
    // On PostgreSQL, a handle of its own with the production bounds (the test database's are generous);
    // the test database's handle stays, to check the records afterwards. PGlite has one handle.
    const knex =
      db.mode === 'postgres'
        ? await openDatabase({ databaseUrl: (db.knex.client.config.connection as { connectionString: string }).connectionString })
        : db.knex;
    const { app, outcomes } = buildHostApp(hut, { store: new KnexGrantStore(knex) });
    const assertion = () => signAssertion(key, assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'x' }), { kid: key.kid });
    const post = async (a: string) => {
      const started = performance.now();
      const res = await request(app)
        .post('/oauth2/token')
        .auth(CLIENT.id, CLIENT.secret)
        .type('form')
        .send(new URLSearchParams(grantForm(a)).toString());
      return { res, ms: performance.now() - started, a };
    };

    expect((await post(await assertion())).res.status).toBe(200);
    const served: string[] = [];

    const assertions = await Promise.all(Array.from({ length: 24 }, assertion));
    const inFlight = assertions.map((a, i) => new Promise((resolve) => setTimeout(resolve, i * 3)).then(() => post(a)));
    // Pull the handle as soon as the first of them is answered: the others are queued or mid-query.
    await Promise.race(inFlight);
    const destroyed = knex.destroy();
    const answers = await Promise.all(inFlight);
    await destroyed;

    for (const { res, ms, a } of answers) {
      expect([200, 503]).toContain(res.status);
      expect(ms).toBeLessThan(IN_FLIGHT_MS);
      if (res.status === 200) served.push(res.body.access_token);
      else {
        expectRefused(res, 503, 'temporarily_unavailable');
        expectNoLeak(res, [a]);
      }
    }
    const after = await Promise.all(Array.from({ length: 6 }, async () => post(await assertion())));
    for (const { res, ms, a } of after) {
      expectRefused(res, 503, 'temporarily_unavailable');
      expectNoLeak(res, [a]);
      expect(ms).toBeLessThan(PROMPT_MS);
    }
    expect(outcomes.filter((o) => o.status === 503).every((o) => o.reason === 'store_unavailable')).toBe(true);
    console.info(
      `${hut.name} (${db.mode}): in flight when destroyed: ${answers.filter((x) => x.res.status === 200).length} served, ${answers.filter((x) => x.res.status === 503).length} × 503 (max ${Math.round(Math.max(...answers.map((x) => x.ms)))} ms); afterwards 503 in max ${Math.round(Math.max(...after.map((x) => x.ms)))} ms`,
    );

    // Every token served was recorded (PostgreSQL: the database outlives the destroyed handle; an
    // in-memory PGlite is gone with its only handle).
    if (db.mode === 'postgres') {
      const hashes = new Set((await db.knex('jwt_bearer_issued_tokens').pluck('access_token_sha256')) as string[]);
      for (const token of served) expect(hashes.has(sha256(token))).toBe(true);
    }
  }, 60_000);
});
