/**
 * lib/admin/README.md and docs/workload-identity.md: the identity-provider settings of workload identity
 * through the admin API — `replayPolicy` (`reuse` only with a lifetime of at most an hour) and
 * `discoveryUrl` (a URL with the JWKS URI's rule, or `true` for the issuer's own; exclusive with
 * `jwksUri`). The API answers 400 naming the field before the database's CHECK constraints would refuse
 * the write, and a refused request writes nothing.
 */
import { sharedSigningKey, type TestSigningKey } from '../helpers/keys';
import { createAdminFixture, type AdminFixture } from './support';

let fx: AdminFixture;
let key: TestSigningKey;
let names = 0;
const fresh = () => `https://workload-${++names}.example.test`;

beforeAll(async () => {
  fx = await createAdminFixture();
  key = await sharedSigningKey('ES256');
});
afterAll(() => fx?.close());
afterEach(() => expect(fx.errors).toEqual([]));

const create = (body: Record<string, unknown>) => fx.admin('post', '/identity-providers').send(body);
const patch = (id: string, body: Record<string, unknown>) => fx.admin('patch', `/identity-providers/${id}`).send(body);
const row = (id: string) => fx.db.knex('jwt_bearer_identity_providers').where({ id }).first();
const idpCount = async () => Number((await fx.db.knex('jwt_bearer_identity_providers').count({ n: '*' }))[0]!.n);

async function createIdp(body: Record<string, unknown> = {}): Promise<string> {
  const res = await create({ name: fresh(), certificates: [key.certificatePem], ...body });
  expect(res.status).toBe(201);
  return res.body.id;
}

describe('replayPolicy', () => {
  it('defaults to once; reuse without a lifetime takes the one-hour cap', async () => {
    const plain = await create({ name: fresh(), certificates: [key.certificatePem] });
    expect(plain.body).toMatchObject({ replayPolicy: 'once', maxAssertionLifetimeSeconds: 86400 });
    const reuse = await create({ name: fresh(), certificates: [key.certificatePem], replayPolicy: 'reuse' });
    expect(reuse.status).toBe(201);
    expect(reuse.body).toMatchObject({ replayPolicy: 'reuse', maxAssertionLifetimeSeconds: 3600 });
    expect(await row(reuse.body.id)).toMatchObject({ replay_policy: 'reuse', max_assertion_lifetime_seconds: 3600 });
    const shorter = await create({
      name: fresh(),
      certificates: [key.certificatePem],
      replayPolicy: 'reuse',
      maxAssertionLifetimeSeconds: 600,
    });
    expect(shorter.body).toMatchObject({ replayPolicy: 'reuse', maxAssertionLifetimeSeconds: 600 });
  });

  it('refuses reuse with a lifetime over an hour on create: 400 naming maxAssertionLifetimeSeconds, nothing written', async () => {
    const before = await idpCount();
    const res = await create({
      name: fresh(),
      certificates: [key.certificatePem],
      replayPolicy: 'reuse',
      maxAssertionLifetimeSeconds: 3601,
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description:
        'maxAssertionLifetimeSeconds must be at most 3600 with replayPolicy "reuse": a reused assertion is accepted again and again until it expires, so its lifetime is capped at an hour.',
      field: 'maxAssertionLifetimeSeconds',
    });
    expect(await idpCount()).toBe(before);
  });

  it('refuses an unknown policy', async () => {
    const res = await create({ name: fresh(), certificates: [key.certificatePem], replayPolicy: 'twice' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'replayPolicy must be "once" or "reuse".',
      field: 'replayPolicy',
    });
  });

  it('PATCH: reuse on an IdP with a day-long lifetime is 400 (saying its lifetime); with a lifetime in the same request it is 200', async () => {
    const id = await createIdp();
    const alone = await patch(id, { replayPolicy: 'reuse' });
    expect(alone.status).toBe(400);
    expect(alone.body).toEqual({
      error: 'invalid_request',
      error_description: expect.stringContaining("this identity provider's is 86400: set maxAssertionLifetimeSeconds in the same request."),
      field: 'maxAssertionLifetimeSeconds',
    });
    expect(await row(id)).toMatchObject({ replay_policy: 'once', max_assertion_lifetime_seconds: 86400 });

    const both = await patch(id, { replayPolicy: 'reuse', maxAssertionLifetimeSeconds: 900 });
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({ replayPolicy: 'reuse', maxAssertionLifetimeSeconds: 900 });

    // On a reuse IdP, the lifetime cannot grow past the cap …
    const longer = await patch(id, { maxAssertionLifetimeSeconds: 7200 });
    expect(longer.status).toBe(400);
    expect(longer.body.field).toBe('maxAssertionLifetimeSeconds');
    expect(await row(id)).toMatchObject({ replay_policy: 'reuse', max_assertion_lifetime_seconds: 900 });
    // … unless the policy goes back to once in the same request.
    const back = await patch(id, { replayPolicy: 'once', maxAssertionLifetimeSeconds: 7200 });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ replayPolicy: 'once', maxAssertionLifetimeSeconds: 7200 });
  });
});

describe('discoveryUrl', () => {
  it('stores an https URL, or http on loopback, and may be the only key source', async () => {
    for (const discoveryUrl of ['https://issuer.example.test/.well-known/openid-configuration', 'http://127.0.0.1:8080/oidc/config']) {
      const res = await create({ name: fresh(), discoveryUrl });
      expect({ discoveryUrl, status: res.status }).toEqual({ discoveryUrl, status: 201 });
      expect(res.body).toMatchObject({ discoveryUrl, jwksUri: null, certificates: [] });
      expect((await row(res.body.id)).discovery_url).toBe(discoveryUrl);
    }
  });

  it('true: the issuer name (trailing slash removed) + /.well-known/openid-configuration', async () => {
    const cases = [
      ['https://issuer-a.example.test', 'https://issuer-a.example.test/.well-known/openid-configuration'],
      ['https://issuer-b.example.test/', 'https://issuer-b.example.test/.well-known/openid-configuration'],
      ['https://issuer-c.example.test/realms/ci', 'https://issuer-c.example.test/realms/ci/.well-known/openid-configuration'],
    ];
    for (const [name, expected] of cases) {
      const res = await create({ name, discoveryUrl: true });
      expect({ name, status: res.status, discoveryUrl: res.body.discoveryUrl }).toEqual({ name, status: 201, discoveryUrl: expected });
    }
  });

  it.each([
    [{ name: 'jwtIDP', discoveryUrl: true }, /^discoveryUrl: true needs an issuer name that is an https: URL/],
    [{ name: 'http://localhost:8080', discoveryUrl: true }, /^discoveryUrl: true needs an issuer name that is an https: URL/],
    [
      { discoveryUrl: 'http://issuer.example.test/.well-known/openid-configuration' },
      /^discoveryUrl must use https: \(http: is allowed only on a loopback host/,
    ],
    [{ discoveryUrl: 'ftp://issuer.example.test/config' }, /^discoveryUrl must use https: \(got ftp:\)/],
    [
      { discoveryUrl: '/.well-known/openid-configuration' },
      /^discoveryUrl must be an absolute URL such as https:\/\/idp\.example\.com\/\.well-known\/openid-configuration/,
    ],
    [{ discoveryUrl: 'https://u:p@issuer.example.test/c' }, /^discoveryUrl must not carry credentials/],
    [{ discoveryUrl: 'https://issuer.example.test/c#x' }, /^discoveryUrl must not have a #fragment/],
    [{ discoveryUrl: false }, /^discoveryUrl must be a URL, or true for the issuer name's \/\.well-known\/openid-configuration/],
    [{ discoveryUrl: 42 }, /^discoveryUrl must be a URL, or true/],
    [{ discoveryUrl: `https://issuer.example.test/${'a'.repeat(2048)}`.slice(0, 2049) }, /^discoveryUrl must be at most 2048 characters/],
  ])('refuses %#: 400 naming discoveryUrl, nothing written', async (body, message) => {
    const before = await idpCount();
    const res = await create({ name: fresh(), ...body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(message), field: 'discoveryUrl' });
    expect(await idpCount()).toBe(before);
  });

  it('refuses both jwksUri and discoveryUrl on create', async () => {
    const before = await idpCount();
    const res = await create({ name: fresh(), jwksUri: 'https://issuer.example.test/jwks', discoveryUrl: true });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description:
        'discoveryUrl and jwksUri are exclusive: the keys come from a JWKS URI or from the discovery document that names one. Give only one.',
      field: 'discoveryUrl',
    });
    expect(await idpCount()).toBe(before);
  });

  it('PATCH: one key URL replaces the other only when the other is cleared in the same request', async () => {
    const id = await createIdp({ jwksUri: 'https://issuer.example.test/jwks' });
    const clash = await patch(id, { discoveryUrl: 'https://issuer.example.test/.well-known/openid-configuration' });
    expect(clash.status).toBe(400);
    expect(clash.body).toEqual({
      error: 'invalid_request',
      error_description: expect.stringMatching(/exclusive.*This identity provider has a jwksUri: set it to null in the same request\.$/),
      field: 'discoveryUrl',
    });
    expect(await row(id)).toMatchObject({ jwks_uri: 'https://issuer.example.test/jwks', discovery_url: null });

    const swap = await patch(id, { discoveryUrl: true, jwksUri: null });
    expect(swap.status).toBe(200);
    const name = swap.body.name as string;
    expect(swap.body).toMatchObject({ jwksUri: null, discoveryUrl: `${name}/.well-known/openid-configuration` });

    const back = await patch(id, { jwksUri: 'https://issuer.example.test/jwks' });
    expect(back.status).toBe(400);
    expect(back.body).toMatchObject({ field: 'jwksUri', error_description: expect.stringContaining('has a discoveryUrl: set it to null') });

    const cleared = await patch(id, { discoveryUrl: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.discoveryUrl).toBeNull();
  });

  it('PATCH true resolves against the name as it will be (a rename in the same request)', async () => {
    const id = await createIdp();
    const res = await patch(id, { name: 'https://renamed.example.test/', discoveryUrl: true });
    expect(res.status).toBe(200);
    expect(res.body.discoveryUrl).toBe('https://renamed.example.test/.well-known/openid-configuration');
  });
});

describe("the database's CHECK constraints stay the last line", () => {
  it('refuses what the API refuses, when written around it', async () => {
    const id = await createIdp({ jwksUri: 'https://issuer.example.test/jwks' });
    await expect(
      fx.db.knex('jwt_bearer_identity_providers').where({ id }).update({ discovery_url: 'https://x.example.test/c' }),
    ).rejects.toMatchObject({
      code: '23514',
    });
    await expect(fx.db.knex('jwt_bearer_identity_providers').where({ id }).update({ replay_policy: 'reuse' })).rejects.toMatchObject({
      code: '23514',
    });
    expect(await row(id)).toMatchObject({ replay_policy: 'once', discovery_url: null });
  });
});
