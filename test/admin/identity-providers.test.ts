/** lib/admin/README.md: identity providers through the admin API — create, read, patch, delete, their rules and tenants. */
import express from 'express';
import request from 'supertest';
import { bearerTokenAuthorizer, createAdminRouter } from '../../lib/admin';
import { AdminRepository } from '../../lib/admin/repository';
import { parseCertificate } from '../../lib/certificates';
import { reissueCertificate, sharedSigningKey, type TestSigningKey } from '../helpers/keys';
import { IDP_DEFAULTS } from '../helpers/records';
import { ADMIN_TOKEN, createAdminFixture, inTenant, UNKNOWN_UUID, type AdminFixture } from './support';

let fx: AdminFixture;
let key: TestSigningKey;
let names = 0;
/** A fresh IdP name per test: the database is shared by the whole file. */
const fresh = () => `https://idp-${++names}.example.test`;

beforeAll(async () => {
  fx = await createAdminFixture();
  key = await sharedSigningKey('ES256');
  expect((await fx.admin('post', '/tenants').send({ domain: 'example.com' })).status).toBe(201);
});
afterAll(() => fx?.close());
afterEach(() => expect(fx.errors).toEqual([]));

/** Another certificate over the shared key (cheap): its own thumbprint and window. */
const cert = (opts: Parameters<typeof reissueCertificate>[1] = {}) => reissueCertificate(key, opts);

async function create(body: Record<string, unknown>, tenant?: string) {
  const res = await fx.admin('post', tenant ? inTenant('/identity-providers', tenant) : '/identity-providers').send(body);
  return res;
}

async function countRows(table: string): Promise<number> {
  const [row] = await fx.db.knex(table).count({ count: '*' });
  if (!row) throw new Error(`count(*) of ${table} returned no row`);
  return Number(row.count);
}

describe('POST /identity-providers', () => {
  it('creates the IdP with its certificates and aliases and answers 201 with the full record', async () => {
    const name = fresh();
    const res = await create({
      name,
      displayName: 'Partner IdP',
      certificates: [key.certificatePem],
      aliases: ['https://localhost:9443/oauth2/token', 'wso2-IS'],
    });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.location).toBe(`/admin/identity-providers/${res.body.id}`);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name,
      ...IDP_DEFAULTS,
      displayName: 'Partner IdP',
      certificates: [
        {
          id: expect.any(String),
          thumbprint: key.thumbprint,
          subject: expect.stringContaining('CN=ES256 test signer'),
          notBefore: key.notBefore.toISOString(),
          notAfter: key.notAfter.toISOString(),
          kid: null,
          currentlyValid: true,
        },
      ],
      aliases: ['https://localhost:9443/oauth2/token', 'wso2-IS'],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      warnings: [],
    });
    // No PEM in the create answer (it is in GET /identity-providers/:id).
    expect(JSON.stringify(res.body)).not.toContain('BEGIN CERTIFICATE');
  });

  it('stores every field given', async () => {
    const body = {
      name: fresh(),
      enabled: false,
      algorithms: ['ES256', 'RS256', 'ES256'],
      jwksUri: 'https://idp.example.test/.well-known/jwks.json',
      requireJti: false,
      maxAssertionLifetimeSeconds: 600,
      iatMaxAgeSeconds: 300,
      clockSkewSeconds: 0,
      allowedSubjects: ['alice', 'bob'],
      allowedClients: ['client-1'],
      allowedScopes: ['openid', 'read:things'],
      issueRefreshToken: false,
      certificates: [{ pem: (await cert()).certificatePem, kid: 'key-2024' }],
    };
    const res = await create(body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ...body, algorithms: ['ES256', 'RS256'], certificates: [{ kid: 'key-2024' }], aliases: [] });
    const row = await fx.db.knex('jwt_bearer_identity_providers').where({ id: res.body.id }).first();
    expect(row).toMatchObject({
      enabled: false,
      algorithms: ['ES256', 'RS256'],
      require_jti: false,
      max_assertion_lifetime_seconds: 600,
      clock_skew_seconds: 0,
    });
  });

  it('accepts an IdP with only a JWKS URI, and http: on loopback hosts', async () => {
    for (const jwksUri of [
      'http://localhost:8080/jwks',
      'http://127.0.0.1/jwks',
      'http://127.9.8.7:1/jwks',
      'http://[::1]:8443/jwks',
      'http://127.1/jwks',
    ]) {
      const res = await create({ name: fresh(), jwksUri });
      expect({ jwksUri, status: res.status }).toEqual({ jwksUri, status: 201 });
    }
  });

  it('stores a certificate outside its validity window and shows the window', async () => {
    const past = await cert({ notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
    const future = await cert({ notBefore: new Date(Date.now() + 30 * 86400_000), notAfter: new Date(Date.now() + 400 * 86400_000) });
    const res = await create({ name: fresh(), certificates: [past.certificatePem, future.certificatePem] });
    expect(res.status).toBe(201);
    expect(res.body.certificates).toEqual([
      expect.objectContaining({
        thumbprint: past.thumbprint,
        notBefore: '2020-01-01T00:00:00.000Z',
        notAfter: '2021-01-01T00:00:00.000Z',
        currentlyValid: false,
      }),
      expect.objectContaining({ thumbprint: future.thumbprint, notBefore: future.notBefore.toISOString(), currentlyValid: false }),
    ]);
    const rows = await fx.db.knex('jwt_bearer_idp_certificates').where({ idp_id: res.body.id });
    expect(rows).toHaveLength(2);
  });

  it('refuses a name taken in the tenant with 409, but allows it in another tenant', async () => {
    const name = fresh();
    expect((await create({ name, certificates: [key.certificatePem] })).status).toBe(201);
    const again = await create({ name, certificates: [key.certificatePem] });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'conflict', field: 'name' });
    expect(again.body.error_description).toContain(name);
    expect((await create({ name, certificates: [key.certificatePem] }, 'example.com')).status).toBe(201);
  });

  it('gives exactly one of several concurrent creations of one name (the unique constraint decides)', async () => {
    const name = fresh();
    const answers = await Promise.all(Array.from({ length: 4 }, () => create({ name, jwksUri: 'https://idp.example.test/jwks' })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
    expect(Number((await fx.db.knex('jwt_bearer_identity_providers').where({ name }).count({ n: '*' }))[0]!.n)).toBe(1);
  });

  it('writes nothing when a later certificate is bad (one transaction)', async () => {
    const before = await Promise.all(
      ['jwt_bearer_identity_providers', 'jwt_bearer_idp_certificates', 'jwt_bearer_idp_aliases'].map(countRows),
    );
    const name = fresh();
    const res = await create({
      name,
      certificates: [key.certificatePem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'],
      aliases: ['x'],
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', field: 'certificates[1]' });
    expect(res.body.error_description).toMatch(/certificates\[1\] is not a valid X\.509 certificate/);
    const after = await Promise.all(
      ['jwt_bearer_identity_providers', 'jwt_bearer_idp_certificates', 'jwt_bearer_idp_aliases'].map(countRows),
    );
    expect(after).toEqual(before);
  });

  it('refuses the same certificate twice in one request (400, not 409)', async () => {
    const reflowed = key.certificatePem.replace(/\n/g, '\r\n');
    const res = await create({ name: fresh(), certificates: [key.certificatePem, reflowed] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ field: 'certificates[1]' });
    expect(res.body.error_description).toContain('certificates[1] is the same certificate as certificates[0]');
  });

  it('rolls back the IdP row when the database refuses a later certificate row', async () => {
    // Past the HTTP validation, straight at the repository: the unique (idp, thumbprint) constraint fires
    // on the second certificate, after the IdP row was inserted in the same transaction.
    const repository = new AdminRepository(fx.db.knex);
    const tenant = (await repository.findTenant('carbon.super'))!;
    const parsed = { ...parseCertificate(key.certificatePem), kid: null };
    const name = fresh();
    await expect(
      repository.createIdentityProvider(tenant.id, { fields: { name }, certificates: [parsed, parsed], aliases: [] }),
    ).rejects.toMatchObject({
      code: 'conflict',
      status: 409,
    });
    expect(await fx.db.knex('jwt_bearer_identity_providers').where({ name })).toEqual([]);
  });

  it.each([
    [{ name: fresh(), certificates: ['not a pem'] }, 'certificates[0]', /not a valid X\.509 certificate: Expected a PEM certificate/],
    [
      { name: fresh(), certificates: ['-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----'] },
      'certificates[0]',
      /not valid base64/,
    ],
    [{ name: fresh(), certificates: [42] }, 'certificates[0]', /must be a PEM certificate string or an object/],
    [{ name: fresh(), certificates: 'pem' }, 'certificates', /certificates must be an array/],
    [{ name: fresh() }, 'certificates', /certificates \(PEM\), a jwksUri or a discoveryUrl/],
  ])('refuses bad certificates with a clear message: %j', async (body, field, message) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.error_description).toMatch(message);
  });

  it('refuses a certificate entry holding a private key, or a chain in one entry', async () => {
    const withKey = `${key.certificatePem}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`;
    const res = await create({ name: fresh(), certificates: [withKey] });
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/contains a private key/);
    const chain = `${key.certificatePem}\n${(await cert()).certificatePem}`;
    const res2 = await create({ name: fresh(), certificates: [chain] });
    expect(res2.status).toBe(400);
    expect(res2.body.error_description).toMatch(/holds 2 certificates/);
  });

  it.each([
    ['http://idp.example.test/jwks', /must use https: \(http: is allowed only on a loopback host/],
    ['http://10.0.0.1/jwks', /loopback/],
    ['http://localhost.evil.test/jwks', /loopback/],
    ['http://[::ffff:127.0.0.1]/jwks', /loopback/],
    ['ftp://idp.example.test/jwks', /must use https: \(got ftp:\)/],
    ['file:///etc/passwd', /must use https:/],
    ['/relative/jwks', /must be an absolute URL/],
    ['https://user:pw@idp.example.test/jwks', /must not carry credentials/],
    ['https://idp.example.test/jwks#frag', /fragment/],
  ])('refuses jwksUri %s', async (jwksUri, message) => {
    const res = await create({ name: fresh(), jwksUri });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('jwksUri');
    expect(res.body.error_description).toMatch(message);
  });

  it.each([
    [['none'], /"none" is never allowed/],
    [['NoNe'], /"NoNe" is never allowed|never allowed/],
    [['RS256', 'HS256'], /algorithms\[1\]: "HS256" is a symmetric \(HMAC\) algorithm/],
    [['hs512'], /symmetric \(HMAC\)/],
    [['rs256'], /case-sensitive\): did you mean "RS256"/],
    [['A128KW'], /not a supported algorithm; use one of RS256/],
    [['ES256K'], /not a supported algorithm/],
    [[], /must name at least one algorithm/],
    ['RS256', /algorithms must be an array/],
    [[256], /algorithms\[0\] must be a string/],
  ])('refuses algorithms %j', async (algorithms, message) => {
    const res = await create({ name: fresh(), certificates: [key.certificatePem], algorithms });
    expect(res.status).toBe(400);
    expect(res.body.field).toMatch(/^algorithms/);
    expect(res.body.error_description).toMatch(message);
  });

  it.each([
    [{ maxAssertionLifetimeSeconds: 0 }, 'maxAssertionLifetimeSeconds', /must be a positive integer/],
    [{ maxAssertionLifetimeSeconds: 1.5 }, 'maxAssertionLifetimeSeconds', /must be an integer/],
    [{ maxAssertionLifetimeSeconds: '60' }, 'maxAssertionLifetimeSeconds', /must be an integer/],
    [{ maxAssertionLifetimeSeconds: 2 ** 31 }, 'maxAssertionLifetimeSeconds', /at most 2147483647/],
    [{ iatMaxAgeSeconds: -5 }, 'iatMaxAgeSeconds', /positive integer/],
    [{ clockSkewSeconds: -1 }, 'clockSkewSeconds', /zero or a positive integer/],
    [{ enabled: 'yes' }, 'enabled', /enabled must be true or false/],
    [{ requireJti: null }, 'requireJti', /null is not allowed/],
    [{ allowedScopes: ['a b'] }, 'allowedScopes[0]', /scope token/],
    [{ allowedSubjects: 'alice' }, 'allowedSubjects', /must be an array/],
    [{ allowedClients: [''] }, 'allowedClients[0]', /must not be empty/],
    [{ aliases: ['a', 'a'] }, 'aliases[1]', /repeats aliases\[0\]/],
    [{ aliases: [' padded'] }, 'aliases[0]', /whitespace/],
    [{ displayName: 'x\u0000y' }, 'displayName', /NUL/],
    [{ colour: 'blue' }, 'colour', /Unknown field "colour"/],
    [{ requireJTI: false }, 'requireJTI', /Unknown field "requireJTI"/],
  ])('refuses %j naming the field', async (extra, field, message) => {
    const res = await create({ name: fresh(), certificates: [key.certificatePem], ...extra });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', field });
    expect(res.body.error_description).toMatch(message);
  });

  it.each([
    [{}, 'name', /name must be a string/],
    [{ name: '' }, 'name', /must not be empty/],
    [{ name: 42 }, 'name', /name must be a string/],
    [{ name: 'iss\n' }, 'name', /control characters/],
    [{ name: ' iss' }, 'name', /whitespace/],
  ])('refuses the IdP name %j', async (body, field, message) => {
    const res = await create({ ...body, certificates: [key.certificatePem] });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.error_description).toMatch(message);
  });

  it('refuses a body that is not an object', async () => {
    for (const body of [[1, 2], 'text', 7]) {
      const res = await fx.admin('post', '/identity-providers').set('Content-Type', 'application/json').send(JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    }
  });
});

describe('GET /identity-providers and /identity-providers/:id', () => {
  it('lists the tenant’s IdPs by name, without PEMs', async () => {
    const name = `~${fresh()}`; // sorts last
    await create({ name, certificates: [key.certificatePem] });
    const res = await fx.admin('get', '/identity-providers');
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body)).toBe(true);
    const listed = res.body.map((idp: { name: string }) => idp.name);
    expect(listed).toEqual([...listed].sort());
    expect(listed.at(-1)).toBe(name);
    expect(JSON.stringify(res.body)).not.toContain('BEGIN CERTIFICATE');
  });

  it('returns one IdP with its certificates’ PEMs', async () => {
    const created = await create({ name: fresh(), certificates: [key.certificatePem], aliases: ['aud-1'] });
    const res = await fx.admin('get', `/identity-providers/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...created.body,
      certificates: [{ ...created.body.certificates[0], pem: expect.stringContaining('-----BEGIN CERTIFICATE-----') }],
    });
  });

  it.each(['not-a-uuid', UNKNOWN_UUID, '1', "1' or '1'='1"])('answers 404 (not 500) for the id %s', async (id) => {
    const res = await fx.admin('get', `/identity-providers/${encodeURIComponent(id)}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', error_description: expect.any(String) });
  });
});

describe('tenant isolation', () => {
  it('keeps an IdP of example.com invisible from carbon.super: list, get, patch, delete and sub-resources answer 404', async () => {
    const created = await create({ name: fresh(), certificates: [key.certificatePem], aliases: ['aud'] }, 'example.com');
    expect(created.status).toBe(201);
    const id = created.body.id;
    const certId = created.body.certificates[0].id;

    const superList = await fx.admin('get', '/identity-providers');
    expect(superList.body.map((i: { id: string }) => i.id)).not.toContain(id);
    const tenantList = await fx.admin('get', inTenant('/identity-providers', 'example.com'));
    expect(tenantList.body.map((i: { id: string }) => i.id)).toContain(id);

    const notFound = [
      await fx.admin('get', `/identity-providers/${id}`),
      await fx.admin('patch', `/identity-providers/${id}`).send({ enabled: false }),
      await fx.admin('delete', `/identity-providers/${id}`),
      await fx.admin('post', `/identity-providers/${id}/certificates`).send({ pem: (await cert()).certificatePem }),
      await fx.admin('delete', `/identity-providers/${id}/certificates/${certId}`),
      await fx.admin('post', `/identity-providers/${id}/aliases`).send({ alias: 'x' }),
      await fx.admin('delete', `/identity-providers/${id}/aliases/aud`),
    ];
    // The same answer as for an id that never existed: existence does not leak.
    const never = await fx.admin('get', `/identity-providers/${UNKNOWN_UUID}`);
    for (const res of notFound) {
      expect(res.status).toBe(404);
      expect(res.body).toEqual(never.body);
    }
    // And nothing changed.
    const after = await fx.admin('get', inTenant(`/identity-providers/${id}`, 'example.com'));
    expect(after.body).toMatchObject({ enabled: true, aliases: ['aud'], certificates: [{ id: certId }] });
  });

  it('answers 400 for an unknown tenant domain, and for a repeated one', async () => {
    const unknown = await fx.admin('get', inTenant('/identity-providers', 'nowhere.example'));
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: 'invalid_request', field: 'tenantDomain' });
    const empty = await fx.admin('get', '/identity-providers?tenantDomain=');
    expect(empty.status).toBe(400);
    const twice = await fx.admin('get', '/identity-providers?tenantDomain=example.com&tenantDomain=carbon.super');
    expect(twice.status).toBe(400);
    expect(twice.body.error_description).toMatch(/tenantDomain must be given only once/);
    const create400 = await create({ name: fresh(), certificates: [key.certificatePem] }, 'nowhere.example');
    expect(create400.status).toBe(400);
  });

  it('refuses unknown query parameters, so a misspelt tenantDomain never acts on carbon.super', async () => {
    const res = await create({ name: fresh(), certificates: [key.certificatePem] }, 'example.com');
    const typo = await fx.admin('delete', `/identity-providers/${res.body.id}?tenantdomain=example.com`);
    expect(typo.status).toBe(400);
    expect(typo.body.error_description).toMatch(/Unknown query parameter "tenantdomain"/);
  });
});

describe('PATCH /identity-providers/:id', () => {
  it('sets any field, resets nullable ones with null, and bumps updatedAt', async () => {
    const created = await create({ name: fresh(), certificates: [key.certificatePem], algorithms: ['ES256'], allowedScopes: ['a'] });
    const name = fresh();
    const res = await fx.admin('patch', `/identity-providers/${created.body.id}`).send({
      name,
      displayName: 'Renamed',
      enabled: false,
      algorithms: null,
      allowedScopes: null,
      clockSkewSeconds: 5,
      iatMaxAgeSeconds: 120,
      issueRefreshToken: false,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: created.body.id,
      name,
      displayName: 'Renamed',
      enabled: false,
      algorithms: null,
      allowedScopes: null,
      clockSkewSeconds: 5,
      iatMaxAgeSeconds: 120,
      issueRefreshToken: false,
    });
    expect(res.body.createdAt).toBe(created.body.createdAt);
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(created.body.updatedAt));
    // Untouched: certificates and aliases.
    expect(res.body.certificates).toEqual(created.body.certificates);
  });

  it('replaces the certificate and alias sets when they are given, keeping the ids of certificates kept', async () => {
    const a = await cert();
    const b = await cert();
    const c = await cert();
    const created = await create({ name: fresh(), certificates: [a.certificatePem, b.certificatePem], aliases: ['one', 'two'] });
    const idOfB = created.body.certificates[1].id;
    const res = await fx.admin('patch', `/identity-providers/${created.body.id}`).send({
      certificates: [{ pem: b.certificatePem, kid: 'b' }, c.certificatePem],
      aliases: ['two', 'three'],
    });
    expect(res.status).toBe(200);
    expect(res.body.certificates.map((x: { thumbprint: string }) => x.thumbprint).sort()).toEqual([b.thumbprint, c.thumbprint].sort());
    expect(res.body.certificates.find((x: { thumbprint: string }) => x.thumbprint === b.thumbprint)).toMatchObject({ id: idOfB, kid: 'b' });
    expect(res.body.aliases).toEqual(['two', 'three']);
    // Empty arrays clear the sets.
    const cleared = await fx.admin('patch', `/identity-providers/${created.body.id}`).send({ certificates: [], aliases: [] });
    expect(cleared.body).toMatchObject({ certificates: [], aliases: [] });
  });

  it('answers 409 when renamed to a taken name, and changes nothing', async () => {
    const taken = fresh();
    await create({ name: taken, certificates: [key.certificatePem] });
    const other = await create({ name: fresh(), certificates: [key.certificatePem], aliases: ['keep'] });
    const res = await fx.admin('patch', `/identity-providers/${other.body.id}`).send({ name: taken, aliases: ['changed'] });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'conflict', field: 'name' });
    const after = await fx.admin('get', `/identity-providers/${other.body.id}`);
    expect(after.body).toMatchObject({ name: other.body.name, aliases: ['keep'], updatedAt: other.body.updatedAt });
  });

  it('validates like create, and a bad certificate in the new set changes nothing', async () => {
    const created = await create({ name: fresh(), certificates: [key.certificatePem] });
    const path = `/identity-providers/${created.body.id}`;
    for (const [body, field] of [
      [{ name: null }, 'name'],
      [{ enabled: null }, 'enabled'],
      [{ algorithms: ['HS256'] }, 'algorithms[0]'],
      [{ jwksUri: 'http://example.test' }, 'jwksUri'],
      [{ id: 'x' }, 'id'],
      [{ certificates: [(await cert()).certificatePem, 'junk'] }, 'certificates[1]'],
    ] as const) {
      const res = await fx.admin('patch', path).send(body);
      expect({ body, status: res.status, field: res.body.field }).toEqual({ body, status: 400, field });
    }
    expect((await fx.admin('get', path)).body.certificates).toHaveLength(1);
  });

  it('answers 404 for an unknown or malformed id', async () => {
    expect((await fx.admin('patch', `/identity-providers/${UNKNOWN_UUID}`).send({ enabled: false })).status).toBe(404);
    expect((await fx.admin('patch', '/identity-providers/nope').send({ enabled: false })).status).toBe(404);
  });
});

describe('DELETE /identity-providers/:id', () => {
  it('deletes the IdP with its certificates and aliases (204), then 404', async () => {
    const created = await create({ name: fresh(), certificates: [key.certificatePem], aliases: ['a'] });
    const res = await fx.admin('delete', `/identity-providers/${created.body.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await fx.db.knex('jwt_bearer_idp_certificates').where({ idp_id: created.body.id })).toEqual([]);
    expect(await fx.db.knex('jwt_bearer_idp_aliases').where({ idp_id: created.body.id })).toEqual([]);
    expect((await fx.admin('delete', `/identity-providers/${created.body.id}`)).status).toBe(404);
    expect((await fx.admin('get', `/identity-providers/${created.body.id}`)).status).toBe(404);
  });
});

describe('no caching', () => {
  it('shows a change made through one instance on another at once (both read the database)', async () => {
    // A second "instance": another router over the same database.
    const other = express();
    other.use('/admin', createAdminRouter({ knex: fx.db.knex, authorize: bearerTokenAuthorizer(ADMIN_TOKEN) }));
    const get = (path: string) => request(other).get(`/admin${path}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);

    const created = await create({ name: fresh(), certificates: [key.certificatePem] });
    expect((await get(`/identity-providers/${created.body.id}`)).body.enabled).toBe(true);
    await fx.admin('patch', `/identity-providers/${created.body.id}`).send({ enabled: false });
    expect((await get(`/identity-providers/${created.body.id}`)).body.enabled).toBe(false);
    await fx.admin('delete', `/identity-providers/${created.body.id}`);
    expect((await get(`/identity-providers/${created.body.id}`)).status).toBe(404);
  });
});
