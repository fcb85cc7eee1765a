/** lib/admin/README.md `POST /assertions/validate`: a dry run of docs/validation.md steps 1–8 that records nothing. */
import {
  assertionClaims,
  makeSigningKey,
  rawJws,
  sharedSigningKey,
  signAssertion,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestSigningKey,
} from '../helpers/keys';
import { createAdminFixture, inTenant, TOKEN_URL, type AdminFixture } from './support';

let fx: AdminFixture;
let key: TestSigningKey;
let idpId: string;

beforeAll(async () => {
  fx = await createAdminFixture();
  key = await sharedSigningKey('ES256');
  const res = await fx
    .admin('post', '/identity-providers')
    .send({ name: TEST_ISSUER, certificates: [{ pem: key.certificatePem, kid: 'k1' }], aliases: [TEST_AUDIENCE] });
  expect(res.status).toBe(201);
  idpId = res.body.id;
  await fx.admin('post', '/tenants').send({ domain: 'example.com' });
});
afterAll(() => fx?.close());
afterEach(() => expect(fx.errors).toEqual([]));

const validate = (body: Record<string, unknown>, tenant?: string) =>
  fx.admin('post', tenant ? inTenant('/assertions/validate', tenant) : '/assertions/validate').send(body);

const sign = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, signer: TestSigningKey = key) =>
  signAssertion(signer, assertionClaims(claims), header);

async function rowCounts(): Promise<number[]> {
  return Promise.all(
    ['jwt_bearer_used_assertions', 'jwt_bearer_issued_tokens'].map(async (table) =>
      Number((await fx.db.knex(table).count({ n: '*' }))[0]!.n),
    ),
  );
}

describe('a valid assertion', () => {
  it('answers valid: true with the IdP and the verified claims, and records nothing (the jti is not burnt)', async () => {
    const claims = assertionClaims({ jti: 'dry-run-1', custom: 'x' });
    const assertion = await signAssertion(key, claims, { kid: 'k1' });
    const before = await rowCounts();
    const res = await validate({ assertion });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      valid: true,
      idp: { id: idpId, name: TEST_ISSUER },
      claims,
      header: { alg: 'ES256', typ: 'JWT', kid: 'k1' },
      keyId: expect.stringContaining(key.thumbprint),
      alreadyUsed: false,
      notChecked: ['allowed_clients', 'client_scopes', 'model_validate_scope', 'resolve_user'],
    });
    expect(await rowCounts()).toEqual(before);
    expect(await fx.db.knex('jwt_bearer_used_assertions')).toEqual([]);
    // Again: still valid, since nothing was recorded.
    expect((await validate({ assertion })).body).toMatchObject({ valid: true, alreadyUsed: false });
  });

  it('refuses a recorded, unexpired jti as jti_replayed, as the token endpoint would (read-only look at step 9)', async () => {
    const claims = assertionClaims({ jti: 'used-one' });
    const assertion = await signAssertion(key, claims);
    await fx.db
      .knex('jwt_bearer_used_assertions')
      .insert({ tenant_id: await tenantIdOf(idpId), idp_name: TEST_ISSUER, jti: 'used-one', expires_at: new Date(Date.now() + 600_000) });
    try {
      const before = await rowCounts();
      const res = await validate({ assertion });
      expect(res.status).toBe(200);
      // Verified, so the claims are shown; but refused with the token endpoint's reason and sentence.
      expect(res.body).toEqual({
        valid: false,
        reason: 'jti_replayed',
        description: 'The assertion has already been used.',
        idp: { id: idpId, name: TEST_ISSUER },
        claims,
        header: { alg: 'ES256', typ: 'JWT' },
        keyId: expect.stringContaining(key.thumbprint),
        alreadyUsed: true,
        notChecked: ['allowed_clients', 'client_scopes', 'model_validate_scope', 'resolve_user'],
      });
      expect(await rowCounts()).toEqual(before);
      // Under the reuse policy no record refuses, not even one left from an earlier `once` period.
      const reuse = await fx
        .admin('patch', `/identity-providers/${idpId}`)
        .send({ replayPolicy: 'reuse', maxAssertionLifetimeSeconds: 3600 });
      expect(reuse.status).toBe(200);
      expect((await validate({ assertion })).body).toMatchObject({ valid: true, alreadyUsed: false });
      const once = await fx
        .admin('patch', `/identity-providers/${idpId}`)
        .send({ replayPolicy: 'once', maxAssertionLifetimeSeconds: 86400 });
      expect(once.status).toBe(200);
      expect((await validate({ assertion })).body).toMatchObject({ valid: false, reason: 'jti_replayed', alreadyUsed: true });
      // An expired record does not count (the jti may be used again).
      await fx.db
        .knex('jwt_bearer_used_assertions')
        .where({ idp_name: TEST_ISSUER, jti: 'used-one' })
        .update({ expires_at: new Date(Date.now() - 1000) });
      expect((await validate({ assertion })).body).toMatchObject({ valid: true, alreadyUsed: false });
    } finally {
      await fx.db.knex('jwt_bearer_used_assertions').delete();
    }
  });
});

describe('refusals, with the token endpoint’s reason codes', () => {
  it('answers valid: false with reason assertion_expired for an expired assertion', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await validate({ assertion: await sign({ iat: now - 7200, exp: now - 3600 }) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      valid: false,
      reason: 'assertion_expired',
      description: 'The assertion has expired.',
      idp: { id: idpId, name: TEST_ISSUER },
      notChecked: expect.any(Array),
    });
    expect(res.body.claims).toBeUndefined();
    expect(await fx.db.knex('jwt_bearer_used_assertions')).toEqual([]);
  });

  it.each<[string, () => Promise<string>, string]>([
    ['garbage', async () => 'not.a.jwt', 'assertion_malformed'],
    ['two segments', async () => 'abc.def', 'assertion_malformed'],
    ['alg none', async () => rawJws({ alg: 'none' }, assertionClaims(), ''), 'alg_not_allowed'],
    ['alg HS256', async () => rawJws({ alg: 'HS256' }, assertionClaims()), 'alg_not_allowed'],
    ['an unknown issuer', () => sign({ iss: 'https://stranger.example' }), 'issuer_unknown'],
    ['another key', async () => sign({}, {}, await makeSigningKey('ES256')), 'signature_invalid'],
    ['an unknown kid', () => sign({}, { kid: 'nope' }), 'key_not_found'],
    ['another audience', () => sign({ aud: 'https://elsewhere.example/token' }), 'audience_mismatch'],
    ['no jti', () => sign({ jti: undefined }), 'jti_missing'],
    ['a far exp', () => sign({ exp: Math.floor(Date.now() / 1000) + 3 * 86400 }), 'exp_too_far'],
    ['a future nbf', () => sign({ nbf: Math.floor(Date.now() / 1000) + 3600 }), 'assertion_not_yet_valid'],
    ['an oversized assertion', async () => `${'a'.repeat(17 * 1024)}.b.c`, 'assertion_too_large'],
  ])('answers the reason for %s', async (_label, make, reason) => {
    const res = await validate({ assertion: await make() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ valid: false, reason });
    expect(typeof res.body.description).toBe('string');
  });

  it('names the IdP once it is found, never for an unknown issuer', async () => {
    expect((await validate({ assertion: await sign({ aud: 'x' }) })).body.idp).toEqual({ id: idpId, name: TEST_ISSUER });
    expect((await validate({ assertion: await sign({ iss: 'https://stranger.example' }) })).body.idp).toBeUndefined();
  });
});

describe('tenants, IdP settings and live changes', () => {
  it('treats an IdP of another tenant as unknown, and finds it in its own tenant', async () => {
    const tenantKey = await makeSigningKey('ES256');
    const created = await fx
      .admin('post', inTenant('/identity-providers', 'example.com'))
      .send({ name: 'tenant-idp', certificates: [tenantKey.certificatePem], aliases: [TEST_AUDIENCE] });
    expect(created.status).toBe(201);
    const assertion = await sign({ iss: 'tenant-idp' }, {}, tenantKey);
    expect((await validate({ assertion })).body).toMatchObject({ valid: false, reason: 'issuer_unknown' });
    expect((await validate({ assertion }, 'example.com')).body).toMatchObject({
      valid: true,
      idp: { id: created.body.id, name: 'tenant-idp' },
    });
    expect((await validate({ assertion }, 'nowhere.example')).status).toBe(400);
  });

  it('sees a disabled IdP as unknown at once, and an enabled one again', async () => {
    const assertion = await sign();
    await fx.admin('patch', `/identity-providers/${idpId}`).send({ enabled: false });
    try {
      expect((await validate({ assertion })).body).toMatchObject({ valid: false, reason: 'issuer_unknown' });
    } finally {
      await fx.admin('patch', `/identity-providers/${idpId}`).send({ enabled: true });
    }
    expect((await validate({ assertion })).body.valid).toBe(true);
  });

  it('accepts a newly added alias at once', async () => {
    const assertion = await sign({ aud: 'https://new-alias.example/token' });
    expect((await validate({ assertion })).body.reason).toBe('audience_mismatch');
    await fx.admin('post', `/identity-providers/${idpId}/aliases`).send({ alias: 'https://new-alias.example/token' });
    expect((await validate({ assertion })).body.valid).toBe(true);
  });

  it('accepts the token endpoint URL as audience for an IdP without aliases', async () => {
    const own = await makeSigningKey('ES256');
    await fx.admin('post', '/identity-providers').send({ name: 'no-alias-idp', certificates: [own.certificatePem] });
    expect((await validate({ assertion: await sign({ iss: 'no-alias-idp', aud: TOKEN_URL }, {}, own) })).body.valid).toBe(true);
    expect((await validate({ assertion: await sign({ iss: 'no-alias-idp', aud: `${TOKEN_URL}/` }, {}, own) })).body.reason).toBe(
      'audience_mismatch',
    );
  });

  it('judges allowed clients only when a clientId is given', async () => {
    const own = await makeSigningKey('ES256');
    await fx
      .admin('post', '/identity-providers')
      .send({ name: 'client-list-idp', certificates: [own.certificatePem], aliases: [TEST_AUDIENCE], allowedClients: ['good-client'] });
    const assertion = await sign({ iss: 'client-list-idp' }, {}, own);
    expect((await validate({ assertion })).body).toMatchObject({ valid: true, notChecked: expect.arrayContaining(['allowed_clients']) });
    const good = await validate({ assertion, clientId: 'good-client' });
    expect(good.body.valid).toBe(true);
    expect(good.body.notChecked).not.toContain('allowed_clients');
    expect((await validate({ assertion, clientId: 'other-client' })).body).toMatchObject({ valid: false, reason: 'client_not_allowed' });
  });

  it('judges allowed subjects', async () => {
    const own = await makeSigningKey('ES256');
    await fx
      .admin('post', '/identity-providers')
      .send({ name: 'subject-list-idp', certificates: [own.certificatePem], aliases: [TEST_AUDIENCE], allowedSubjects: ['alice'] });
    expect((await validate({ assertion: await sign({ iss: 'subject-list-idp', sub: 'alice' }, {}, own) })).body.valid).toBe(true);
    expect((await validate({ assertion: await sign({ iss: 'subject-list-idp', sub: 'mallory' }, {}, own) })).body.reason).toBe(
      'subject_not_allowed',
    );
  });

  it('judges a requested scope against the IdP’s allowed scopes (step 7)', async () => {
    const own = await makeSigningKey('ES256');
    await fx
      .admin('post', '/identity-providers')
      .send({ name: 'scope-idp', certificates: [own.certificatePem], aliases: [TEST_AUDIENCE], allowedScopes: ['read', 'write'] });
    const assertion = await sign({ iss: 'scope-idp' }, {}, own);
    expect((await validate({ assertion, scope: 'read write' })).body.valid).toBe(true);
    expect((await validate({ assertion, scope: 'read admin' })).body).toMatchObject({ valid: false, reason: 'scope_not_allowed' });
    expect((await validate({ assertion, scope: 'bad"scope' })).body).toMatchObject({ valid: false, reason: 'scope_invalid' });
  });
});

describe('request validation', () => {
  it.each([
    [{}, 'assertion', /assertion must be a string/],
    [{ assertion: '' }, 'assertion', /must not be empty/],
    [{ assertion: 42 }, 'assertion', /must be a string/],
    [{ assertion: 'a.b.c', clientId: 7 }, 'clientId', /clientId must be a string/],
    [{ assertion: 'a.b.c', record: true }, 'record', /Unknown field "record"/],
  ])('refuses %j with 400', async (body, field, message) => {
    const res = await validate(body);
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.error_description).toMatch(message);
  });
});

/** The tenant of an IdP row: replay records name their IdP by tenant and name. */
async function tenantIdOf(idpId: string): Promise<string> {
  return (await fx.db.knex('jwt_bearer_identity_providers').where({ id: idpId }).first('tenant_id')).tenant_id;
}
