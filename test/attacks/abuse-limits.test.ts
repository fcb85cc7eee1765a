/**
 * Threat: guessing by volume — client secrets tried one after another, or a flood of forged assertions
 * naming one IdP. `tokenEndpoint({ failureLimit })` caps FAILED attempts per client and per issuer in a
 * window and answers 429 with `Retry-After` before the grant runs; it is off unless configured.
 *
 * RFC 6749 §10.10 (credentials guessing attacks: "the authorization server MUST prevent attackers from
 * guessing access tokens, authorization codes, refresh tokens, resource owner passwords, and client
 * credentials"), RFC 6585 §4 (429 Too Many Requests, Retry-After), RFC 9110 §10.2.3 (Retry-After);
 * RFC 8725 §3.10 (the unverified `iss` selects only a counter here).
 */
import request from 'supertest';
import { ConfigurationError } from '../../lib/errors';
import { createFailureLimiter, MAX_KEY_PART, RATE_LIMITED } from '../../lib/http/rate-limit';
import { tokenEndpoint } from '../../lib/http/token-endpoint';
import type { GrantStore } from '../../lib/store/types';
import { b64json, CLIENT, createAttackFixture, goodClaims, HOSTS, TOKEN_URL } from '../helpers/attack-kit';
import { expectRefused, grantForm, JWT_BEARER_GRANT_TYPE, type GrantFixture } from '../helpers/grant-fixture';
import { buildHostApp } from '../helpers/host-app';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';

const OTHER_CLIENT = { id: 'client-2', secret: 'other-s3cret', tenant: 'carbon.super', grants: [JWT_BEARER_GRANT_TYPE] };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const unverified = (iss: string) => `${b64json({ alg: 'RS256' })}.${b64json({ iss })}.c2ln`;

describe('the failure limiter (unit)', () => {
  const body = (fields: Record<string, string>) => fields;

  it('blocks a client after max failures within the window, with the seconds left, then lets it go', () => {
    let now = 1_000_000;
    const limiter = createFailureLimiter({ perClient: { max: 3, windowSeconds: 60 }, now: () => now });
    const keys = limiter.keysOf(basic('c1', 'x'), body({}), undefined);
    for (let i = 0; i < 3; i++) {
      expect(limiter.check(keys)).toBeUndefined();
      limiter.record(keys, { outcome: 'refused', status: 400 });
    }
    expect(limiter.check(keys)).toBe(60);
    now += 59_001;
    expect(limiter.check(keys)).toBe(1);
    now += 1_000;
    expect(limiter.check(keys)).toBeUndefined();
  });

  it('counts only refusals of the client’s making: not successes, not 5xx, not 429s', () => {
    const limiter = createFailureLimiter({ perClient: { max: 1, windowSeconds: 60 } });
    const keys = limiter.keysOf(undefined, body({ client_id: 'c1' }), undefined);
    limiter.record(keys, { outcome: 'issued', status: 200 });
    limiter.record(keys, { outcome: 'refused', status: 503 });
    limiter.record(keys, { outcome: 'refused', status: 429 });
    expect(limiter.check(keys)).toBeUndefined();
    limiter.record(keys, { outcome: 'refused', status: 401 });
    expect(limiter.check(keys)).toBe(60);
  });

  it('keys clients by tenant and by the form-url-decoded Basic id, or the body client_id', () => {
    const limiter = createFailureLimiter({ perClient: { max: 1, windowSeconds: 60 } });
    limiter.record(limiter.keysOf(basic('my%2Dclient', 'x'), body({}), undefined), { outcome: 'refused', status: 401 });
    expect(limiter.check(limiter.keysOf(undefined, body({ client_id: 'my-client' }), undefined))).toBe(60);
    expect(limiter.check(limiter.keysOf(basic('my-client', 'y'), body({}), 'carbon.super'))).toBe(60);
    expect(limiter.check(limiter.keysOf(basic('my-client', 'y'), body({}), 'example.com'))).toBeUndefined();
    expect(limiter.check(limiter.keysOf(basic('other', 'y'), body({}), undefined))).toBeUndefined();
  });

  it('counts issuer failures only under a known IdP name, and checks by the unverified iss', () => {
    const limiter = createFailureLimiter({ perIssuer: { max: 2, windowSeconds: 30 } });
    const keys = limiter.keysOf(undefined, body({ assertion: unverified('idpA') }), undefined);
    // An unknown issuer (the grant found no IdP): nothing is counted.
    for (let i = 0; i < 10; i++) limiter.record(keys, { outcome: 'refused', status: 400 });
    expect(limiter.check(keys)).toBeUndefined();
    limiter.record(keys, { outcome: 'refused', status: 400, issuer: 'idpA' });
    limiter.record(keys, { outcome: 'refused', status: 400, issuer: 'idpA' });
    expect(limiter.check(keys)).toBe(30);
    expect(limiter.check(limiter.keysOf(undefined, body({ assertion: unverified('idpB') }), undefined))).toBeUndefined();
    expect(limiter.check(limiter.keysOf(undefined, body({ assertion: 'not-a-jwt' }), undefined))).toBeUndefined();
  });

  it('truncates long ids and issuers to a bounded key', () => {
    const limiter = createFailureLimiter({ perClient: { max: 1, windowSeconds: 60 }, perIssuer: { max: 1, windowSeconds: 60 } });
    const long = 'i'.repeat(10_000);
    const keys = limiter.keysOf(undefined, body({ client_id: long, assertion: unverified(long) }), undefined);
    expect(keys.client!.length).toBeLessThanOrEqual(MAX_KEY_PART + 20);
    expect(keys.issuer!.length).toBeLessThanOrEqual(MAX_KEY_PART + 20);
    limiter.record(keys, { outcome: 'refused', status: 400, issuer: long });
    expect(limiter.check(keys)).toBe(60);
  });

  it('remembers at most maxKeys keys per rule (a flood of ids costs bounded memory)', () => {
    const limiter = createFailureLimiter({ perClient: { max: 1, windowSeconds: 60 }, maxKeys: 100 });
    const victim = limiter.keysOf(undefined, body({ client_id: 'victim' }), undefined);
    limiter.record(victim, { outcome: 'refused', status: 401 });
    expect(limiter.check(victim)).toBe(60);
    for (let i = 0; i < 100_000; i++)
      limiter.record(limiter.keysOf(undefined, body({ client_id: `flood-${i}` }), undefined), { outcome: 'refused', status: 401 });
    // The eldest key was forgotten (the documented price of the bound), the newest kept.
    expect(limiter.check(victim)).toBeUndefined();
    expect(limiter.check(limiter.keysOf(undefined, body({ client_id: 'flood-99999' }), undefined))).toBe(60);
  });

  it.each([
    [{ perClient: { max: 0, windowSeconds: 60 } }, /perClient\.max/],
    [{ perClient: { max: 1.5, windowSeconds: 60 } }, /perClient\.max/],
    [{ perIssuer: { max: 5, windowSeconds: 0 } }, /perIssuer\.windowSeconds/],
    [{ perIssuer: { max: 5, windowSeconds: Number.POSITIVE_INFINITY } }, /perIssuer\.windowSeconds/],
    [{ perClient: { max: 5, windowSeconds: 60 }, maxKeys: 0 }, /maxKeys/],
    [{ perClient: 5 }, /perClient/],
  ])('refuses bad options with a ConfigurationError naming the option (%j)', (options, message) => {
    expect(() => createFailureLimiter(options as never)).toThrow(ConfigurationError);
    expect(() => createFailureLimiter(options as never)).toThrow(message);
  });

  it('answers 429 temporarily_unavailable (RFC 6749 has no code of its own for it)', () => {
    expect(RATE_LIMITED).toEqual({ status: 429, error: 'temporarily_unavailable', description: expect.any(String) });
  });
});

let fx: GrantFixture;
let attacker: TestSigningKey;
let otherKey: TestSigningKey;
beforeAll(async () => {
  fx = await createAttackFixture();
  attacker = await makeSigningKey('ES256');
  otherKey = await makeSigningKey('ES256');
  await fx.addIdp({ name: 'otherIDP', certificates: [{ pem: otherKey.certificatePem }], aliases: [TOKEN_URL] });
});
afterAll(() => fx?.close());

/** The store, counting the reads the endpoint makes (a limited request must make none). */
function countingStore(store: GrantStore) {
  const counted = Object.create(store) as GrantStore & { reads: number };
  counted.reads = 0;
  counted.findTenant = (domain) => {
    counted.reads++;
    return store.findTenant(domain);
  };
  counted.findIdentityProvider = (tenantId, issuer) => {
    counted.reads++;
    return store.findIdentityProvider(tenantId, issuer);
  };
  return counted;
}

describe.each(HOSTS)('failure limits through the token endpoint on $name', (hut) => {
  const build = (failureLimit: Parameters<typeof tokenEndpoint>[0]['failureLimit'], now = () => Date.now()) => {
    const store = countingStore(fx.store);
    const built = buildHostApp(hut, {
      store,
      clients: [CLIENT, OTHER_CLIENT],
      endpoint: failureLimit ? { failureLimit: { ...failureLimit, now } } : {},
    });
    const post = (assertion: string, auth = basic(CLIENT.id, CLIENT.secret)) =>
      request(built.app)
        .post('/oauth2/token')
        .set('Authorization', auth)
        .type('form')
        .send(new URLSearchParams(grantForm(assertion)).toString());
    return { ...built, store, post };
  };

  it('per client: after max failures, even a valid assertion gets 429 + Retry-After, with no database read; other clients go on', async () => {
    let now = Date.now();
    const { post, outcomes, store } = build({ perClient: { max: 3, windowSeconds: 120 } }, () => now);
    for (let i = 0; i < 3; i++) expect((await post(await fx.assertion({}, {}, attacker))).status).toBe(400);
    // Guessing secrets counts too.
    const valid = await fx.assertion();
    const readsBefore = store.reads;
    const limited = await post(valid);
    expectRefused(limited, 429, 'temporarily_unavailable');
    expect(Number(limited.headers['retry-after'])).toBe(120);
    expect(store.reads).toBe(readsBefore);
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'refused', status: 429, error: 'temporarily_unavailable', reason: 'rate_limited' });
    expect(limited.text).not.toContain(valid.split('.')[1]);

    // Another client is not affected.
    expect((await post(await fx.assertion(), basic(OTHER_CLIENT.id, OTHER_CLIENT.secret))).status).toBe(200);
    // Retry-After counts down; 429s do not extend the window.
    now += 60_000;
    const again = await post(valid);
    expectRefused(again, 429, 'temporarily_unavailable');
    expect(Number(again.headers['retry-after'])).toBe(60);
    // After the window, the same (unburnt) assertion is served.
    now += 60_001;
    expect((await post(valid)).status).toBe(200);
  });

  it('per client: failed client authentication counts (secret guessing)', async () => {
    const { post } = build({ perClient: { max: 5, windowSeconds: 60 } });
    for (let i = 0; i < 5; i++) expect((await post(await fx.assertion(), basic(OTHER_CLIENT.id, `guess-${i}`))).status).toBe(401);
    const res = await post(await fx.assertion(), basic(OTHER_CLIENT.id, OTHER_CLIENT.secret));
    expectRefused(res, 429, 'temporarily_unavailable');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('per issuer: forged assertions naming an IdP hold that IdP off, not the others; unknown issuers create no key', async () => {
    const { post, outcomes } = build({ perIssuer: { max: 4, windowSeconds: 30 } });
    for (let i = 0; i < 20; i++)
      expect((await post(await signAssertion(attacker, assertionClaims({ iss: `unknown-${i}`, aud: TOKEN_URL })))).status).toBe(400);
    expect((await post(await fx.assertion())).status).toBe(200);
    for (let i = 0; i < 4; i++) {
      const auth = i % 2 ? basic(CLIENT.id, CLIENT.secret) : basic(OTHER_CLIENT.id, OTHER_CLIENT.secret);
      expect((await post(await signAssertion(attacker, goodClaims()), auth)).status).toBe(400);
    }
    const res = await post(await fx.assertion());
    expectRefused(res, 429, 'temporarily_unavailable');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(outcomes.at(-1)).toMatchObject({ status: 429, reason: 'rate_limited' });
    // otherIDP is unaffected.
    expect((await post(await signAssertion(otherKey, assertionClaims({ iss: 'otherIDP', aud: TOKEN_URL })))).status).toBe(200);
  });

  it('is off by default: 40 failures in a row, then a token', async () => {
    const { post } = build(undefined);
    for (let i = 0; i < 40; i++) expect((await post(await fx.assertion({}, {}, attacker))).status).toBe(400);
    expect((await post(await fx.assertion())).status).toBe(200);
  });

  it('refuses bad failureLimit options when the endpoint is built', () => {
    const { model } = buildHostApp(hut, { store: fx.store });
    expect(() =>
      tokenEndpoint({
        server: { token: async () => undefined },
        host: hut.host,
        model,
        store: fx.store,
        failureLimit: { perClient: { max: -1, windowSeconds: 1 } },
      }),
    ).toThrow(ConfigurationError);
  });
});
