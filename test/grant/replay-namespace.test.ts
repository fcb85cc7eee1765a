/**
 * Replay records name their IdP by tenant and name (RFC 7523 §3 item 7: a `jti` is single-use for its
 * issuer), so they outlive the IdP's row: deleting an IdP and creating it again with the same name and
 * certificate does not make a used, unexpired assertion good again — with a `jti` or without one (then
 * the signing input's hash is the key). And pruning, raced against replays, lets none through.
 */
import { HOSTS } from '../helpers/host-app';
import {
  createGrantFixture,
  expectRefused,
  grantForm,
  ISSUER,
  JWT_BEARER_GRANT_TYPE,
  postToken,
  TOKEN_URL,
  type GrantFixture,
} from '../helpers/grant-fixture';
import { assertionClaims, signAssertion } from '../helpers/keys';

async function until(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(HOSTS)('replay across deleting and re-creating the IdP on $name', (hut) => {
  let fx: GrantFixture;
  beforeAll(async () => {
    fx = await createGrantFixture(hut);
  });
  afterAll(() => fx.close());

  async function recreate(name: string, requireJti: boolean): Promise<void> {
    await fx.db.knex('jwt_bearer_identity_providers').where({ name }).del();
    await fx.addIdp({ name, certificates: [{ pem: fx.key.certificatePem, kid: fx.key.kid }], aliases: [TOKEN_URL], requireJti });
  }

  it.each([
    ['with a jti', true],
    ['without a jti (keyed by the signing input)', false],
  ])('refuses a used assertion %s after the IdP was deleted and re-created', async (_label, withJti) => {
    const name = withJti ? ISSUER : 'no-jti-idp';
    if (!withJti)
      await fx.addIdp({ name, certificates: [{ pem: fx.key.certificatePem, kid: fx.key.kid }], aliases: [TOKEN_URL], requireJti: false });
    const { app, outcomes } = fx.app();
    const claims = (extra: Record<string, unknown>) => assertionClaims({ iss: name, aud: TOKEN_URL, sub: 'admin', ...extra });
    const used = await signAssertion(fx.key, withJti ? claims({ jti: `once-${hut.name}` }) : claims({ jti: undefined }), {
      kid: fx.key.kid,
    });
    expect((await postToken(app, grantForm(used))).status).toBe(200);

    await recreate(name, withJti);
    // The re-created IdP is in force (a fresh assertion works) …
    let n = 0;
    await until(
      async () =>
        (await postToken(app, grantForm(await signAssertion(fx.key, claims({ jti: `fresh-${n++}`, sub: `s${n}` }), { kid: fx.key.kid }))))
          .status === 200,
      2000,
    );
    // … and the used one is still used.
    const issued = await fx.issuedCount();
    const res = await postToken(app, grantForm(used));
    expectRefused(res, 400, 'invalid_grant');
    expect(res.body.error_description).toBe('The assertion has already been used.');
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'refused', reason: 'jti_replayed', issuer: name });
    expect(await fx.issuedCount()).toBe(issued);
  });

  it("keeps a jti of one tenant's IdP apart from the same name in another tenant", async () => {
    const { app } = fx.app({ clients: [{ id: 'client-1', secret: 's3cret', tenant: 'other.example', grants: [JWT_BEARER_GRANT_TYPE] }] });
    await fx.addIdp({
      tenant: 'other.example',
      name: ISSUER,
      certificates: [{ pem: fx.key.certificatePem, kid: fx.key.kid }],
      aliases: [TOKEN_URL],
    });
    const assertion = await fx.assertion({ jti: `shared-${hut.name}` });
    const query = '?tenantDomain=other.example';
    await until(
      async () => (await postToken(app, grantForm(await fx.assertion({ jti: `probe-${Math.random()}` })), { query })).status === 200,
      2000,
    );
    expect((await postToken(app, grantForm(assertion), { query })).status).toBe(200);
    // The same jti of the same-named IdP in the default tenant is another issuer's: not a replay there.
    expect((await postToken(fx.app().app, grantForm(assertion))).status).toBe(200);
    expectRefused(await postToken(app, grantForm(assertion), { query }), 400, 'invalid_grant');
  });
});

describe('pruning raced against replays', () => {
  let fx: GrantFixture;
  beforeAll(async () => {
    fx = await createGrantFixture(HOSTS[0]);
  });
  afterAll(() => fx.close());

  it('lets no live assertion through twice while expired records are pruned around it', async () => {
    const { app } = fx.app();
    const tenantId = (await fx.store.findTenant('carbon.super'))!.id;
    // Expired records to prune, among live ones being replayed.
    await fx.db.knex.raw(
      `insert into jwt_bearer_used_assertions (tenant_id, idp_name, jti, expires_at)
       select ?::uuid, ?, 'expired-' || g, now() - interval '1 hour' from generate_series(1, 3000) g`,
      [tenantId, ISSUER],
    );
    const assertions = await Promise.all(Array.from({ length: 20 }, (_, i) => fx.assertion({ jti: `live-${i}`, sub: `u${i}` })));
    for (const a of assertions) expect((await postToken(app, grantForm(a))).status).toBe(200);

    let pruned = 0;
    let pruning = true;
    // Bounded, and pausing between rounds as a periodic pruner does (a spinning one would hog PGlite's one connection).
    const pruner = (async () => {
      for (let round = 0; pruning && round < 2000; round++) {
        pruned += await fx.store.pruneUsedAssertions(new Date(), { graceSeconds: 0, batchSize: 100 });
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const replays = await Promise.all(assertions.flatMap((a) => [postToken(app, grantForm(a)), postToken(app, grantForm(a))]));
    pruning = false;
    await pruner;

    expect(replays.map((r) => r.status)).toEqual(replays.map(() => 400));
    expect(replays.filter((r) => r.body.access_token)).toEqual([]);
    expect(pruned).toBe(3000);
    expect(await fx.replayCount()).toBe(20);
    expect(await fx.issuedCount()).toBe(20);
  });
});
