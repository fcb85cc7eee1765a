/**
 * Tenants (README.md, §4, §7): an application and IdP of `example.com` work only with
 * `?tenantDomain=example.com`, and nothing of one tenant exists in another.
 */
import request from 'supertest';
import type { TestSigningKey } from '../helpers/keys';
import { createExampleFixture, postForm, type Application, type ExampleFixture } from './fixture';

const Q = '?tenantDomain=example.com';

describe('example server: tenants', () => {
  let fx: ExampleFixture;
  let tenantApp: Application;
  let superApp: Application;
  let tenantKey: TestSigningKey;
  let superKey: TestSigningKey;

  beforeAll(async () => {
    fx = await createExampleFixture();
    const created = await fx.admin('post', '/admin/tenants').send({ domain: 'example.com' });
    expect(created.status).toBe(201);
    tenantApp = await fx.createApplication({ owner: 'admin', name: 'TenantApp' }, 'example.com');
    tenantKey = await fx.registerIdp('tenantIDP', { tenantDomain: 'example.com' });
    superApp = await fx.createApplication({ owner: 'admin', name: 'SuperApp' });
    superKey = await fx.registerIdp('jwtIDP');
  });
  afterAll(() => fx.close());

  it('issues a token to the tenant application with ?tenantDomain=example.com', async () => {
    const res = await fx.token(tenantApp, await fx.assertion(tenantKey, 'tenantIDP'), Q);
    expect(res.status).toBe(200);
    const me = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${res.body.access_token}`);
    expect(me.body).toMatchObject({ sub: 'admin', idp: 'tenantIDP', tenant: 'example.com', client_id: tenantApp.clientId });
  });

  it('does not know the tenant application without the parameter (invalid_client)', async () => {
    const res = await fx.token(tenantApp, await fx.assertion(tenantKey, 'tenantIDP'));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it("does not trust another tenant's IdP", async () => {
    const fromTenantIdp = await fx.token(superApp, await fx.assertion(tenantKey, 'tenantIDP'));
    expect(fromTenantIdp.status).toBe(400);
    expect(fromTenantIdp.body.error).toBe('invalid_grant');
    const fromSuperIdp = await fx.token(tenantApp, await fx.assertion(superKey, 'jwtIDP'), Q);
    expect(fromSuperIdp.status).toBe(400);
    expect(fromSuperIdp.body.error).toBe('invalid_grant');
  });

  it('answers 400 invalid_request to an unknown tenant on token, revoke and introspect', async () => {
    const token = await fx.token(tenantApp, await fx.assertion(tenantKey, 'tenantIDP'), '?tenantDomain=nowhere.example');
    expect(token.status).toBe(400);
    expect(token.body.error).toBe('invalid_request');
    for (const path of ['/oauth2/revoke', '/oauth2/introspect']) {
      const res = await postForm(fx.app, `${path}?tenantDomain=nowhere.example`, tenantApp, { token: 'x' });
      expect({ path, status: res.status, error: res.body.error }).toEqual({ path, status: 400, error: 'invalid_request' });
    }
  });

  it('refreshes, introspects and revokes within the tenant only', async () => {
    const issued = await fx.token(tenantApp, await fx.assertion(tenantKey, 'tenantIDP'), Q);
    const { access_token: access, refresh_token: refresh } = issued.body;

    const outside = await postForm(fx.app, '/oauth2/introspect', tenantApp, { token: access });
    expect(outside.status).toBe(401); // the client does not exist in carbon.super
    const inside = await postForm(fx.app, `/oauth2/introspect${Q}`, tenantApp, { token: access });
    expect(inside.body).toMatchObject({ active: true, iss: 'tenantIDP', tenant_domain: 'example.com' });

    const refreshOutside = await postForm(fx.app, '/oauth2/token', tenantApp, { grant_type: 'refresh_token', refresh_token: refresh });
    expect(refreshOutside.status).toBe(401);
    const refreshed = await postForm(fx.app, `/oauth2/token${Q}`, tenantApp, { grant_type: 'refresh_token', refresh_token: refresh });
    expect(refreshed.status).toBe(200);

    const revoke = await postForm(fx.app, `/oauth2/revoke${Q}`, tenantApp, { token: refreshed.body.refresh_token });
    expect(revoke.status).toBe(200);
    const after = await postForm(fx.app, `/oauth2/introspect${Q}`, tenantApp, { token: refreshed.body.access_token });
    expect(after.body).toEqual({ active: false });
  });

  it('keeps application names per tenant: the same owner/name may exist in both', async () => {
    const again = await fx.admin('post', `/admin/applications${Q}`).send({ owner: 'admin', name: 'SuperApp' });
    expect(again.status).toBe(201);
    const unknown = await fx.admin('post', '/admin/applications?tenantDomain=nowhere.example').send({ owner: 'a', name: 'b' });
    expect(unknown.status).toBe(400);
  });
});
