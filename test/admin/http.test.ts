/** The admin router's HTTP behaviour: auth, tenants, body handling, error format, Express 4, an unavailable database. */
import express from 'express';
import request from 'supertest';
import { bearerTokenAuthorizer, createAdminRouter, type AdminRouterOptions } from '../../lib/admin';
import { openDatabase } from '../../lib/db/connect';
import { sharedSigningKey } from '../helpers/keys';
import { ADMIN_TOKEN, createAdminFixture, type AdminFixture } from './support';

// Express 4 (the `express4` alias) ships no types here; the part of its API used below is Express 5's.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as typeof express;

let fx: AdminFixture;
const applicationCalls: Array<{ tenant: unknown; body: unknown }> = [];

beforeAll(async () => {
  fx = await createAdminFixture({
    applications: {
      async create(tenant, body) {
        applicationCalls.push({ tenant, body });
        return { status: 201, body: { serviceProvider: 'admin_App_PRODUCTION', clientId: 'abc', clientSecret: 'shown-once' } };
      },
    },
  });
});
afterAll(() => fx?.close());

describe('authorization', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer wrong-${ADMIN_TOKEN}`],
    ['a prefix of the token', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
    ['Basic credentials', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`],
    ['the token without a scheme', ADMIN_TOKEN],
    ['an empty bearer', 'Bearer '],
  ])('answers 401 JSON with WWW-Authenticate: Bearer for %s, on every route', async (_label, authorization) => {
    for (const [method, path] of [
      ['get', '/identity-providers'],
      ['post', '/tenants'],
      ['delete', '/identity-providers/x'],
      ['get', '/no-such-route'],
      ['post', '/assertions/validate'],
    ] as const) {
      const req = request(fx.app)[method](`/admin${path}`);
      if (authorization !== undefined) req.set('Authorization', authorization);
      const res = await req.send({ domain: 'x.example' });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body).toEqual({ error: 'unauthorized', error_description: expect.any(String) });
    }
  });

  it('accepts the scheme in any case', async () => {
    const res = await request(fx.app).get('/admin/identity-providers').set('Authorization', `bearer ${ADMIN_TOKEN}`);
    expect(res.status).toBe(200);
  });

  it('checks authorization before reading the body (an anonymous malformed body is 401, not 400)', async () => {
    const res = await request(fx.app).post('/admin/tenants').set('Content-Type', 'application/json').send('{oops');
    expect(res.status).toBe(401);
  });

  it('fails closed when the hook throws or answers something other than true, without leaking the error', async () => {
    const errors: unknown[] = [];
    for (const authorize of [
      () => {
        throw new Error('secret detail');
      },
      async () => Promise.reject(new Error('secret detail')),
      () => 'yes' as unknown as boolean,
      () => ({}) as unknown as boolean,
    ]) {
      const app = express();
      app.use('/admin', createAdminRouter({ knex: fx.db.knex, authorize, onError: (e) => errors.push(e) }));
      const res = await request(app).get('/admin/identity-providers');
      expect([401, 500]).toContain(res.status);
      expect(res.text).not.toContain('secret detail');
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    }
    expect(errors).toHaveLength(2); // the two throwing hooks were reported to the host
  });
});

describe('tenants', () => {
  it('creates a tenant (201) and lists it; a second time is 409', async () => {
    const res = await fx.admin('post', '/tenants').send({ domain: 'acme.example' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), domain: 'acme.example', createdAt: expect.any(String) });
    const list = await fx.admin('get', '/tenants');
    expect(list.body.map((t: { domain: string }) => t.domain)).toEqual(expect.arrayContaining(['carbon.super', 'acme.example']));
    const again = await fx.admin('post', '/tenants').send({ domain: 'acme.example' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'conflict', field: 'domain' });
    expect((await fx.admin('post', '/tenants').send({ domain: 'carbon.super' })).status).toBe(409);
  });

  it('makes the new tenant usable at once through ?tenantDomain=', async () => {
    await fx.admin('post', '/tenants').send({ domain: 'fresh.example' });
    const res = await fx.admin('get', '/identity-providers?tenantDomain=fresh.example');
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });

  it.each([
    [{}],
    [{ domain: '' }],
    [{ domain: 'bad domain' }],
    [{ domain: '-x.example' }],
    [{ domain: 'a..b' }],
    [{ domain: 7 }],
    [{ domain: 'ok.example', id: 'x' }],
  ])('refuses %j with 400', async (body) => {
    const res = await fx.admin('post', '/tenants').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('refuses ?tenantDomain= on the tenant routes (they are not tenant-scoped)', async () => {
    const res = await fx.admin('post', '/tenants?tenantDomain=carbon.super').send({ domain: 'q.example' });
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/Unknown query parameter "tenantDomain"/);
  });
});

describe('request bodies and error format', () => {
  it('answers 400 JSON for malformed JSON', async () => {
    const res = await fx.admin('post', '/tenants').set('Content-Type', 'application/json').send('{"domain": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'The request body is not valid JSON.' });
  });

  it('answers 413 JSON for a body over 256 KiB', async () => {
    const res = await fx.admin('post', '/identity-providers').send({ name: 'big', aliases: ['x'.repeat(300 * 1024)] });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.error_description).toMatch(/larger than the limit/);
  });

  it('answers 415 for a form-encoded body, telling what to send', async () => {
    const res = await fx.admin('post', '/tenants').type('form').send('domain=x.example');
    expect(res.status).toBe(415);
    expect(res.body.error_description).toMatch(/Content-Type: application\/json/);
  });

  it('takes application/json with a charset, and +json types', async () => {
    const a = await fx
      .admin('post', '/tenants')
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ domain: 'charset.example' }));
    expect(a.status).toBe(201);
    const b = await fx
      .admin('post', '/tenants')
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ domain: 'merge.example' }));
    expect(b.status).toBe(201);
  });

  it('answers 400 for a POST without a body', async () => {
    const res = await fx.admin('post', '/tenants');
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/body must be a JSON object/);
  });

  it('refuses __proto__ and constructor keys as unknown fields', async () => {
    const res = await fx
      .admin('post', '/tenants')
      .set('Content-Type', 'application/json')
      .send('{"domain":"p.example","__proto__":{"admin":true}}');
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/Unknown field "__proto__"/);
  });

  it('answers 404 JSON for unknown admin paths and 405 with Allow for a wrong method', async () => {
    const unknown = await fx.admin('get', '/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'not_found', error_description: 'No such admin endpoint.' });
    const wrong = await fx.admin('put', '/identity-providers');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, POST');
  });

  it('marks every answer no-store, errors included', async () => {
    for (const res of [await fx.admin('get', '/tenants'), await fx.admin('get', '/nothing'), await request(fx.app).get('/admin/tenants')]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
    }
  });

  it('sends the admin-surface security headers on every answer: 200, 201, 400, 401, 404, 405, 413, 415', async () => {
    const answers = [
      await fx.admin('get', '/tenants'),
      await fx.admin('post', '/tenants').send({ domain: 'headers.example' }),
      await fx.admin('post', '/tenants').send({ domain: '' }),
      await request(fx.app).get('/admin/tenants'),
      await request(fx.app).get('/admin/identity-providers').set('Authorization', 'Bearer wrong-token-of-some-length'),
      await fx.admin('get', '/nothing'),
      await fx.admin('put', '/identity-providers'),
      await fx
        .admin('post', '/tenants')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ domain: 'x'.repeat(300 * 1024) })),
      await fx.admin('post', '/tenants').set('Content-Type', 'text/plain').send('domain=x'),
    ];
    expect(answers.map((res) => res.status)).toEqual([200, 201, 400, 401, 401, 404, 405, 413, 415]);
    for (const res of answers) {
      expect(res.headers['content-security-policy']).toBe(
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      );
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });
});

describe('POST /applications (host-provided)', () => {
  it('authenticates, resolves the tenant, parses the body, then hands over to the host', async () => {
    const res = await fx.admin('post', '/applications?tenantDomain=carbon.super').send({ owner: 'admin', name: 'App' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ serviceProvider: 'admin_App_PRODUCTION', clientId: 'abc', clientSecret: 'shown-once' });
    expect(applicationCalls.at(-1)).toEqual({
      tenant: { id: expect.any(String), domain: 'carbon.super' },
      body: { owner: 'admin', name: 'App' },
    });
    expect((await fx.admin('post', '/applications?tenantDomain=nowhere.example').send({})).status).toBe(400);
    expect((await request(fx.app).post('/admin/applications').send({})).status).toBe(401);
  });

  it('is 404 when the host does not plug it in', async () => {
    const app = express();
    app.use('/admin', createAdminRouter({ knex: fx.db.knex, authorize: bearerTokenAuthorizer(ADMIN_TOKEN) }));
    const res = await request(app)
      .post('/admin/applications')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ owner: 'a', name: 'b' });
    expect(res.status).toBe(404);
  });
});

describe('mounted in an Express 4 app', () => {
  it('serves the same API (async errors included) under Express 4', async () => {
    const app = express4();
    app.use('/admin', createAdminRouter({ knex: fx.db.knex, authorize: bearerTokenAuthorizer(ADMIN_TOKEN) }));
    const admin = (method: 'get' | 'post' | 'patch' | 'delete', path: string) =>
      request(app)[method](`/admin${path}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    const key = await sharedSigningKey('ES256');

    expect((await request(app).get('/admin/identity-providers')).status).toBe(401);
    const created = await admin('post', '/identity-providers').send({
      name: 'express4-idp',
      certificates: [key.certificatePem],
      aliases: ['https://a.example/token'],
    });
    expect(created.status).toBe(201);
    expect((await admin('get', `/identity-providers/${created.body.id}`)).body.name).toBe('express4-idp');
    expect((await admin('patch', `/identity-providers/${created.body.id}`).send({ enabled: false })).body.enabled).toBe(false);
    expect(
      (await admin('delete', `/identity-providers/${created.body.id}/aliases/${encodeURIComponent('https://a.example/token')}`)).status,
    ).toBe(204);
    expect((await admin('post', '/identity-providers').send({ name: 'express4-idp', certificates: [key.certificatePem] })).status).toBe(
      409,
    );
    expect((await admin('get', '/identity-providers/not-a-uuid')).status).toBe(404);
    expect((await admin('post', '/tenants').set('Content-Type', 'application/json').send('{bad')).status).toBe(400);
    // Express 4's query parser makes objects of `a[b]=c`: still a plain 400.
    const nested = await admin('get', '/identity-providers?tenantDomain[x]=1');
    expect(nested.status).toBe(400);
    expect(nested.body.field).toBe('tenantDomain');
    expect((await admin('delete', `/identity-providers/${created.body.id}`)).status).toBe(204);
  });
});

describe('database unavailable', () => {
  it('answers 503 temporarily_unavailable, promptly, without driver text, on reads and writes', async () => {
    // Nothing listens on port 1: every connection attempt is refused.
    const dead = await openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', acquireTimeoutMs: 1000 });
    const errors: unknown[] = [];
    const options: AdminRouterOptions = { knex: dead, authorize: bearerTokenAuthorizer(ADMIN_TOKEN), onError: (e) => errors.push(e) };
    const app = express();
    app.use('/admin', createAdminRouter(options));
    const admin = (method: 'get' | 'post', path: string) =>
      request(app)[method](`/admin${path}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    try {
      const started = Date.now();
      for (const res of [
        await admin('get', '/identity-providers'),
        await admin('get', '/tenants'),
        await admin('post', '/tenants').send({ domain: 'down.example' }),
        await admin('get', '/issued-tokens'),
      ]) {
        expect(res.status).toBe(503);
        expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
        expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|knex|pg/i);
      }
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(errors).toHaveLength(4);
    } finally {
      await dead.destroy();
    }
  });
});

describe('options', () => {
  it.each([
    [{}, /knex/],
    [{ knex: (x: unknown) => x }, /knex/],
    [{ authorize: 'token' }, /authorize/],
    [{ verifier: {} }, /verifier/],
    [{ tokenEndpointUrl: '/oauth2/token' }, /tokenEndpointUrl/],
    [{ applications: {} }, /applications/],
    [{ bodyLimitBytes: 10 }, /bodyLimitBytes/],
    [{ onError: 'log' }, /onError/],
  ])('refuses %p at construction with a message naming the option', (override, message) => {
    const base = { knex: fx.db.knex, authorize: () => true };
    const options = { ...base, ...(override as object) } as AdminRouterOptions;
    if (Object.keys(override).length === 0) delete (options as Partial<AdminRouterOptions>).knex;
    expect(() => createAdminRouter(options)).toThrow(message);
  });
});
