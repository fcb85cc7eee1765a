/** docs/http.md: the token endpoint's HTTP behaviour, on both host lines. */
import request from 'supertest';
import { HOSTS } from '../helpers/host-app';
import {
  CLIENT,
  createGrantFixture,
  expectRefused,
  grantForm,
  JWT_BEARER_GRANT_TYPE,
  postRaw,
  postToken,
  TOKEN_URL,
  type GrantFixture,
} from '../helpers/grant-fixture';
import { assertionClaims, makeSigningKey, signAssertion } from '../helpers/keys';

const ENCODING_CLIENT = { id: 'my-client.id_x', secret: 'p-s_s.w~rd', tenant: 'carbon.super', grants: [JWT_BEARER_GRANT_TYPE] };
const TENANT_CLIENT = { id: 'tenant-client', secret: 'tpw', tenant: 'example.com', grants: [JWT_BEARER_GRANT_TYPE] };
const NO_GRANT_CLIENT = { id: 'cc-only', secret: 'pw', tenant: 'carbon.super', grants: ['client_credentials'] };

describe.each(HOSTS)('token endpoint HTTP on $name', (hut) => {
  let fx: GrantFixture;
  let app: ReturnType<GrantFixture['app']>['app'];
  let outcomes: ReturnType<GrantFixture['app']>['outcomes'];

  beforeAll(async () => {
    fx = await createGrantFixture(hut);
    ({ app, outcomes } = fx.app({ clients: [CLIENT, ENCODING_CLIENT, TENANT_CLIENT, NO_GRANT_CLIENT] }));
  });
  afterAll(() => fx.close());

  it('answers 405 JSON with no-store to other methods', async () => {
    const { app: all } = fx.app({ mount: { allMethods: true } });
    const res = await request(all).get('/oauth2/token');
    expectRefused(res, 405, 'invalid_request');
    expect(res.headers.allow).toBe('POST');
  });

  it('refuses a body that is not form-encoded', async () => {
    const res = await request(app)
      .post('/oauth2/token')
      .auth(CLIENT.id, CLIENT.secret)
      .send({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: 'x' });
    expectRefused(res, 400, 'invalid_request');
  });

  it('answers 413 invalid_request JSON to a body over 64 KiB', async () => {
    const res = await postRaw(app, `grant_type=${encodeURIComponent(JWT_BEARER_GRANT_TYPE)}&assertion=${'a'.repeat(70 * 1024)}`);
    expectRefused(res, 413, 'invalid_request');
  });

  it('accepts Basic credentials both form-url-encoded (RFC 6749 §2.3.1) and raw (curl -u)', async () => {
    const encoded = Buffer.from('my%2Dclient%2Eid%5Fx:p%2Ds%5Fs%2Ew%7Erd').toString('base64');
    const res1 = await request(app)
      .post('/oauth2/token')
      .set('Authorization', `Basic ${encoded}`)
      .type('form')
      .send(new URLSearchParams(grantForm(await fx.assertion())).toString());
    expect(res1.status).toBe(200);
    const res2 = await postToken(app, grantForm(await fx.assertion()), { auth: [ENCODING_CLIENT.id, ENCODING_CLIENT.secret] });
    expect(res2.status).toBe(200);
  });

  it('answers 401 invalid_client with WWW-Authenticate: Basic to a bad secret in the header', async () => {
    const res = await postToken(app, grantForm(await fx.assertion()), { auth: [CLIENT.id, 'wrong'] });
    expectRefused(res, 401, 'invalid_client');
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'refused', reason: 'invalid_client', status: 401 });
    expect(outcomes.at(-1)?.clientId).toBeUndefined();
  });

  it('answers 401 invalid_client to an unreadable Basic header', async () => {
    const res = await request(app)
      .post('/oauth2/token')
      .set('Authorization', 'Basic %%%')
      .type('form')
      .send(new URLSearchParams(grantForm('x')).toString());
    expectRefused(res, 401, 'invalid_client');
  });

  it('answers invalid_client to bad credentials in the body', async () => {
    const res = await request(app)
      .post('/oauth2/token')
      .type('form')
      .send(new URLSearchParams({ ...grantForm(await fx.assertion()), client_id: CLIENT.id, client_secret: 'wrong' }).toString());
    expect([400, 401]).toContain(res.status);
    expectRefused(res, res.status, 'invalid_client');
  });

  it('answers invalid_client when no credentials are sent', async () => {
    const res = await postToken(app, grantForm(await fx.assertion()), { auth: null });
    expect([400, 401]).toContain(res.status);
    expectRefused(res, res.status, 'invalid_client');
  });

  it('answers 400 unauthorized_client when the client lacks the grant', async () => {
    const res = await postToken(app, grantForm(await fx.assertion()), { auth: [NO_GRANT_CLIENT.id, NO_GRANT_CLIENT.secret] });
    expectRefused(res, 400, 'unauthorized_client');
  });

  it('answers 400 unsupported_grant_type to an unknown grant type', async () => {
    const res = await postToken(app, { grant_type: 'urn:example:unknown', assertion: 'x' });
    expectRefused(res, 400, 'unsupported_grant_type');
  });

  it('answers 400 invalid_request to an unknown tenantDomain', async () => {
    const res = await postToken(app, grantForm(await fx.assertion()), { query: '?tenantDomain=nowhere.example' });
    expectRefused(res, 400, 'invalid_request');
  });

  it('answers 400 invalid_request to a repeated tenantDomain', async () => {
    const res = await postToken(app, grantForm(await fx.assertion()), { query: '?tenantDomain=carbon.super&tenantDomain=example.com' });
    expectRefused(res, 400, 'invalid_request');
  });

  it('keeps tenants apart: a tenant client and IdP work only with ?tenantDomain=', async () => {
    const key = await makeSigningKey('ES256');
    await fx.addIdp({ tenant: 'example.com', name: 'tenantIDP', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL] });
    const assertion = () => signAssertion(key, assertionClaims({ iss: 'tenantIDP', aud: TOKEN_URL, sub: 't' }));
    const auth: [string, string] = [TENANT_CLIENT.id, TENANT_CLIENT.secret];

    const ok = await postToken(app, grantForm(await assertion()), { auth, query: '?tenantDomain=example.com' });
    expect(ok.status).toBe(200);
    // The tenant's client does not exist in the default tenant…
    expectRefused(await postToken(app, grantForm(await assertion()), { auth }), 401, 'invalid_client');
    // …and the default tenant's client cannot use the tenant's IdP.
    expectRefused(await postToken(app, grantForm(await assertion())), 400, 'invalid_grant');
    // Nor can the tenant's client use the default tenant's IdP.
    expectRefused(
      await postToken(app, grantForm(await fx.assertion()), { auth, query: '?tenantDomain=example.com' }),
      400,
      'invalid_grant',
    );
    const audit = await fx.db.knex('jwt_bearer_issued_tokens').where({ client_id: TENANT_CLIENT.id });
    expect(audit).toHaveLength(1);
  });

  it('works behind the host’s own urlencoded parser and still refuses repeated parameters', async () => {
    const { app: parsed } = fx.app({ mount: { hostBodyParser: true } });
    const a = await fx.assertion();
    expect((await postToken(parsed, grantForm(a))).status).toBe(200);
    const res = await postRaw(parsed, `grant_type=${encodeURIComponent(JWT_BEARER_GRANT_TYPE)}&assertion=${a}&assertion=${a}`);
    expectRefused(res, 400, 'invalid_request');
  });

  it('logs a refusal with its reason code and never the assertion', async () => {
    const assertion = await fx.assertion({ exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 7200 });
    const res = await postToken(app, grantForm(assertion));
    expectRefused(res, 400, 'invalid_grant');
    const outcome = outcomes.at(-1)!;
    expect(outcome).toMatchObject({
      outcome: 'refused',
      reason: 'assertion_expired',
      error: 'invalid_grant',
      issuer: 'jwtIDP',
      clientId: CLIENT.id,
    });
    expect(JSON.stringify(outcome)).not.toContain(assertion.split('.')[1]);
    expect(res.text).not.toContain(assertion.split('.')[1]);
  });
});
