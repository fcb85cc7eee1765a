/**
 * The WSO2 page's whole flow through the example server (example-server/README.md): an application ("generate keys"),
 * an IdP with its certificate and alias, a token through `curl -u id:secret`, the protected resource,
 * introspection, refresh, revocation.
 */
import request from 'supertest';
import type { TestSigningKey } from '../helpers/keys';
import { createExampleFixture, JWT_BEARER, postForm, type Application, type ExampleFixture } from './fixture';

const ALNUM = /^[A-Za-z0-9]+$/;

describe('example server: the seed flow', () => {
  let fx: ExampleFixture;
  let app: Application;
  let key: TestSigningKey;

  beforeAll(async () => {
    fx = await createExampleFixture();
  });
  afterAll(() => fx.close());

  it('creates the application as POST /admin/applications: <owner>_<name>_<keyType>, alphanumeric id and secret', async () => {
    const res = await fx.admin('post', '/admin/applications').send({ owner: 'admin', name: 'DemoApp' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ serviceProvider: 'admin_DemoApp_PRODUCTION', keyType: 'PRODUCTION' });
    expect(res.body.grants).toEqual([JWT_BEARER, 'refresh_token', 'client_credentials']);
    expect(res.body.clientId).toMatch(ALNUM);
    expect(res.body.clientSecret).toMatch(ALNUM);
    expect(res.body.clientId).toHaveLength(28);
    app = res.body;
    const row = await fx.db.knex('example_applications').where({ client_id: app.clientId }).first();
    expect(row.client_secret_hash).not.toContain(app.clientSecret);
  });

  it('registers the IdP jwtIDP with its certificate and the token endpoint alias', async () => {
    key = await fx.registerIdp('jwtIDP');
  });

  let accessToken: string;
  let refreshToken: string;

  it('issues a token to the seed curl request (-u id:secret, form body)', async () => {
    const res = await fx.token(app, await fx.assertion(key, 'jwtIDP'));
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
    });
    expect(res.body.expires_in).toBeGreaterThan(3590);
    ({ access_token: accessToken, refresh_token: refreshToken } = res.body);
    // Tokens are stored by hash only.
    const rows = await fx.db.knex('example_tokens').select();
    expect(JSON.stringify(rows)).not.toContain(accessToken);
    expect(JSON.stringify(rows)).not.toContain(refreshToken);
  });

  it('answers /api/me for the token: sub, client_id, scope and the IdP', async () => {
    const res = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${accessToken}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: 'admin', client_id: app.clientId, scope: '', idp: 'jwtIDP', tenant: 'carbon.super' });
  });

  it('refuses /api/me without a token or with an unknown one (RFC 6750)', async () => {
    const none = await request(fx.app).get('/api/me');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const bad = await request(fx.app).get('/api/me').set('Authorization', 'Bearer nope');
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/invalid_token/);
  });

  it('introspects the access token as active (RFC 7662)', async () => {
    const res = await postForm(fx.app, '/oauth2/introspect', app, { token: accessToken });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ active: true, sub: 'admin', iss: 'jwtIDP', client_id: app.clientId, scope: '', token_type: 'Bearer' });
    const now = Date.now() / 1000;
    expect(res.body.exp).toBeGreaterThan(now + 3500);
    expect(Math.abs(res.body.iat - now)).toBeLessThan(60);
  });

  it('introspects the refresh token too, and accepts body credentials', async () => {
    const res = await postForm(fx.app, '/oauth2/introspect', null, {
      token: refreshToken,
      token_type_hint: 'refresh_token',
      client_id: app.clientId,
      client_secret: app.clientSecret,
    });
    expect(res.body).toMatchObject({ active: true, token_type: 'refresh_token', sub: 'admin', iss: 'jwtIDP' });
  });

  it('refuses the same assertion twice (replay)', async () => {
    const assertion = await fx.assertion(key, 'jwtIDP');
    expect((await fx.token(app, assertion)).status).toBe(200);
    const again = await fx.token(app, assertion);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
  });

  it('refreshes with the host refresh_token grant; the old refresh token is then dead', async () => {
    const res = await postForm(fx.app, '/oauth2/token', app, { grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
    const old = await postForm(fx.app, '/oauth2/introspect', app, { token: refreshToken });
    expect(old.body).toEqual({ active: false });
    const oldAccess = await postForm(fx.app, '/oauth2/introspect', app, { token: accessToken });
    expect(oldAccess.body).toEqual({ active: false });
    const again = await postForm(fx.app, '/oauth2/token', app, { grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    const me = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${res.body.access_token}`);
    expect(me.body).toMatchObject({ sub: 'admin', idp: 'jwtIDP', client_id: app.clientId });
    accessToken = res.body.access_token;
    refreshToken = res.body.refresh_token;
  });

  it('lets another client neither see nor revoke the token', async () => {
    const other = await fx.createApplication({ owner: 'bob', name: 'Other' });
    const seen = await postForm(fx.app, '/oauth2/introspect', other, { token: accessToken });
    expect(seen.body).toEqual({ active: false });
    const revoked = await postForm(fx.app, '/oauth2/revoke', other, { token: accessToken });
    expect(revoked.status).toBe(200);
    const still = await postForm(fx.app, '/oauth2/introspect', app, { token: accessToken });
    expect(still.body.active).toBe(true);
  });

  it('revokes the token (RFC 7009): introspection says inactive, /api/me refuses, refresh fails', async () => {
    const res = await postForm(fx.app, '/oauth2/revoke', app, { token: accessToken, token_type_hint: 'access_token' });
    expect(res.status).toBe(200);
    const after = await postForm(fx.app, '/oauth2/introspect', app, { token: accessToken });
    expect(after.body).toEqual({ active: false });
    const me = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${accessToken}`);
    expect(me.status).toBe(401);
    const refresh = await postForm(fx.app, '/oauth2/token', app, { grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(refresh.body.error).toBe('invalid_grant');
    // The package's audit row is marked too.
    const audit = await fx.admin('get', `/admin/issued-tokens?idp=jwtIDP&clientId=${app.clientId}`);
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).not.toContain(accessToken);
  });

  it('answers 200 to revoking an unknown token and `{active:false}` to introspecting one', async () => {
    expect((await postForm(fx.app, '/oauth2/revoke', app, { token: 'never-issued' })).status).toBe(200);
    expect((await postForm(fx.app, '/oauth2/introspect', app, { token: 'never-issued' })).body).toEqual({ active: false });
  });

  it('authenticates revoke and introspect callers as the token endpoint does', async () => {
    const wrong = await postForm(fx.app, '/oauth2/introspect', { ...app, clientSecret: 'wrong' }, { token: 'x' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic/);
    const none = await postForm(fx.app, '/oauth2/revoke', null, { token: 'x' });
    expect(none.status).toBe(401);
    const missing = await postForm(fx.app, '/oauth2/revoke', app, {});
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    const both = await request(fx.app)
      .post('/oauth2/introspect')
      .auth(app.clientId, app.clientSecret)
      .type('form')
      .send(new URLSearchParams({ token: 'x', client_id: app.clientId, client_secret: app.clientSecret }).toString());
    expect(both.status).toBe(400);
    // Basic credentials form-url-encoded (RFC 6749 §2.3.1) are decoded: alphanumerics encode to themselves,
    // and a needlessly percent-encoded one still works.
    const encodedId = app.clientId.replace(/^./, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const encoded = await request(fx.app)
      .post('/oauth2/introspect')
      .set('Authorization', `Basic ${Buffer.from(`${encodedId}:${app.clientSecret}`).toString('base64')}`)
      .type('form')
      .send('token=x');
    expect(encoded.status).toBe(200);
  });

  it('enforces the application scopes (validateScope) and returns the granted scope', async () => {
    const scoped = await fx.createApplication({ owner: 'admin', name: 'Scoped', keyType: 'SANDBOX', scopes: ['read', 'write'] });
    expect(scoped.serviceProvider).toBe('admin_Scoped_SANDBOX');
    const ok = await request(fx.app)
      .post('/oauth2/token')
      .auth(scoped.clientId, scoped.clientSecret)
      .type('form')
      .send(`grant_type=${JWT_BEARER}&assertion=${await fx.assertion(key, 'jwtIDP')}&scope=read`);
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('read');
    const me = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${ok.body.access_token}`);
    expect(me.body.scope).toBe('read');
    const bad = await request(fx.app)
      .post('/oauth2/token')
      .auth(scoped.clientId, scoped.clientSecret)
      .type('form')
      .send(`grant_type=${JWT_BEARER}&assertion=${await fx.assertion(key, 'jwtIDP')}&scope=admin`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_scope');
    const none = await fx.token(scoped, await fx.assertion(key, 'jwtIDP'));
    expect(none.body.scope).toBe('read write');
  });

  it('refuses a grant the application does not have (unauthorized_client) and serves client_credentials', async () => {
    const ccOnly = await fx.createApplication({ owner: 'svc', name: 'Batch', grants: ['client_credentials'] });
    const refused = await fx.token(ccOnly, await fx.assertion(key, 'jwtIDP'));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('unauthorized_client');
    const cc = await postForm(fx.app, '/oauth2/token', ccOnly, { grant_type: 'client_credentials' });
    expect(cc.status).toBe(200);
    expect(cc.body.refresh_token).toBeUndefined();
    const me = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${cc.body.access_token}`);
    expect(me.body).toMatchObject({ sub: ccOnly.clientId, client_id: ccOnly.clientId, idp: null });
  });

  it('answers 401 invalid_client with WWW-Authenticate to a bad secret at the token endpoint', async () => {
    const res = await fx.token({ ...app, clientSecret: 'wrong' }, await fx.assertion(key, 'jwtIDP'));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
  });

  it('validates POST /admin/applications and protects it', async () => {
    const unauth = await request(fx.app).post('/admin/applications').send({ owner: 'a', name: 'b' });
    expect(unauth.status).toBe(401);
    for (const body of [
      { name: 'x' },
      { owner: 'a', name: '' },
      { owner: 'a', name: 'b', keyType: 'DEV' },
      { owner: 'a', name: 'b', grants: ['password'] },
      { owner: 'a', name: 'b', grants: [] },
      { owner: 'a', name: 'b', scopes: ['a b'] },
      { owner: 'a', name: 'b', extra: 1 },
    ]) {
      const res = await fx.admin('post', '/admin/applications').send(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(typeof res.body.error_description).toBe('string');
    }
    const dup = await fx.admin('post', '/admin/applications').send({ owner: 'admin', name: 'DemoApp' });
    expect(dup.status).toBe(409);
    const sandbox = await fx.admin('post', '/admin/applications').send({ owner: 'admin', name: 'DemoApp', keyType: 'SANDBOX' });
    expect(sandbox.status).toBe(201);
  });

  it('logs one JSON line per token request, without assertions, tokens or secrets', async () => {
    const lines = fx.logs.filter((l) => l.event === 'token_request');
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(lines.find((l) => l.outcome === 'issued' && l.grantType === JWT_BEARER)).toMatchObject({
      tenant: 'carbon.super',
      issuer: 'jwtIDP',
      clientId: app.clientId,
    });
    expect(lines.find((l) => l.reason === 'jti_replayed')).toMatchObject({ outcome: 'refused', error: 'invalid_grant', issuer: 'jwtIDP' });
    const text = fx.logText();
    expect(text).not.toContain(app.clientSecret);
    expect(text).not.toContain(accessToken);
    expect(text).not.toContain(refreshToken);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/); // no JWT
  });
});
