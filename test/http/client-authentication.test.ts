/**
 * `authenticateClient` as a host uses it at its own endpoints (RFC 7009, RFC 7662): a bare Node HTTP
 * server and an Express one on real ports, a real database for tenants, and host models in both
 * styles (promise, 3.x callback). Every refusal asserts status, OAuth error and stable code.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import {
  addTenant,
  authenticateClient,
  KnexGrantStore,
  readBasicCredentials,
  type ClientAuthenticationOptions,
  type HostModel,
  type Tenant,
} from '../../lib';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

const CLIENTS: Record<string, { secret: string; tenant: string }> = {
  'client-1': { secret: 's3cret-1', tenant: 'carbon.super' },
  'my-client': { secret: 'p@ss:word', tenant: 'carbon.super' },
  'acme-app': { secret: 'acme-secret', tenant: 'example.com' },
};

let db: TestDatabase;
let store: KnexGrantStore;
/** Every getClient call: the id, whether a secret came, and the tenant the model saw as `this.tenant`. */
const calls: Array<{ id: string; withSecret: boolean; tenant?: string }> = [];

/** A host model of the 5.x kind: ordinary methods (so `this.tenant` is the request's), returning promises. */
const promiseModel: HostModel = {
  async getClient(this: { tenant?: Tenant }, id: string, secret: string) {
    calls.push({ id, withSecret: secret !== undefined, tenant: this.tenant?.domain });
    const client = CLIENTS[id];
    return client && client.secret === secret && client.tenant === this.tenant?.domain ? { id, grants: ['x'] } : null;
  },
};

/** A 3.x model that answers by callback. */
const callbackModel: HostModel = {
  getClient(this: { tenant?: Tenant }, id: string, secret: string, done: (error: unknown, client?: unknown) => void) {
    const client = CLIENTS[id];
    setImmediate(() =>
      done(null, client && client.secret === secret && client.tenant === this.tenant?.domain ? { id, style: 'callback' } : null),
    );
  },
};

/** Answers what authenticateClient resolved to, as JSON: the test reads it back. */
function bareServer(options: Omit<ClientAuthenticationOptions, 'store'>) {
  return http.createServer(async (req, res) => {
    const auth = await authenticateClient(req, { ...options, store });
    const view = auth.ok
      ? {
          ok: true,
          client: auth.client,
          clientId: auth.clientId,
          method: auth.method,
          tenant: auth.tenant.domain,
          body: auth.body,
          modelTenant: auth.model.tenant.domain,
        }
      : { ok: false, code: auth.code, error: auth.error, description: auth.description, hasCause: auth.cause !== undefined };
    res.statusCode = auth.ok ? 200 : auth.status;
    if (!auth.ok && auth.wwwAuthenticate) res.setHeader('WWW-Authenticate', auth.wwwAuthenticate);
    if (!auth.ok && auth.allow) res.setHeader('Allow', auth.allow);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(view));
  });
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

beforeAll(async () => {
  db = await createTestDatabase();
  store = new KnexGrantStore(db.knex);
  await addTenant(db.knex, 'example.com');
});
afterAll(() => db?.close());

describe('authenticateClient on a bare Node server', () => {
  let server: http.Server;
  beforeAll(async () => {
    server = bareServer({ model: promiseModel, bodyLimitBytes: 1024 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const post = (path = '/revoke') => request(server).post(path).type('form');

  it('HTTP Basic: the client, its tenant, the body, and the model bound to the tenant', async () => {
    const res = await post()
      .set('Authorization', basic('client-1', 's3cret-1'))
      .send(form({ token: 'abc' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      client: { id: 'client-1', grants: ['x'] },
      clientId: 'client-1',
      method: 'client_secret_basic',
      tenant: 'carbon.super',
      body: { token: 'abc' },
      modelTenant: 'carbon.super',
    });
    expect(calls.at(-1)).toEqual({ id: 'client-1', withSecret: true, tenant: 'carbon.super' });
  });

  it('HTTP Basic credentials are form-url-decoded (RFC 6749 §2.3.1), and a colon may be in the secret', async () => {
    const res = await post()
      .set('Authorization', basic('my%2Dclient', 'p%40ss%3Aword'))
      .send(form({ token: 'abc' }));
    expect(res.body).toMatchObject({ ok: true, clientId: 'my-client' });
    const raw = await post()
      .set('Authorization', basic('my-client', 'p@ss:word'))
      .send(form({ token: 'abc' }));
    expect(raw.body).toMatchObject({ ok: true, clientId: 'my-client' });
  });

  it('client_secret_post, and ?tenantDomain= picks the tenant the model sees', async () => {
    const res = await post('/introspect?tenantDomain=example.com').send(
      form({ token: 't', client_id: 'acme-app', client_secret: 'acme-secret' }),
    );
    expect(res.body).toMatchObject({ ok: true, method: 'client_secret_post', tenant: 'example.com', modelTenant: 'example.com' });
    // The same client in the default tenant is unknown there.
    const elsewhere = await post('/introspect').send(form({ token: 't', client_id: 'acme-app', client_secret: 'acme-secret' }));
    expect(elsewhere.status).toBe(401);
  });

  it('Basic and the same client_id in the body is one method (RFC 6749 §3.2.1)', async () => {
    const res = await post()
      .set('Authorization', basic('client-1', 's3cret-1'))
      .send(form({ token: 't', client_id: 'client-1' }));
    expect(res.body).toMatchObject({ ok: true, method: 'client_secret_basic' });
  });

  it.each([
    ['a body client_secret too', { client_secret: 's3cret-1' }],
    ['another client_id in the body', { client_id: 'my-client' }],
  ])('Basic and %s: 400 invalid_request client_auth_multiple (RFC 6749 §2.3)', async (_name, extra) => {
    const res = await post()
      .set('Authorization', basic('client-1', 's3cret-1'))
      .send(form({ token: 't', ...extra }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ ok: false, code: 'client_auth_multiple', error: 'invalid_request' });
  });

  it.each([
    ['a wrong Basic secret', basic('client-1', 'nope'), {}],
    ['an unknown client', basic('nobody', 'x'), {}],
    ['an unreadable Basic header', 'Basic %%%', {}],
    ['a Basic header without a colon', `Basic ${Buffer.from('client-1').toString('base64')}`, {}],
    ['an empty Basic secret', basic('client-1', ''), {}],
    ['a wrong body secret', undefined, { client_id: 'client-1', client_secret: 'nope' }],
    ['no credentials at all', undefined, {}],
    ['a Bearer header instead', 'Bearer abc', {}],
  ])('%s: 401 invalid_client with a Basic challenge', async (_name, authorization, extra) => {
    const req = post();
    if (authorization) req.set('Authorization', authorization);
    const res = await req.send(form({ token: 't', ...extra }));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      ok: false,
      code: 'invalid_client',
      error: 'invalid_client',
      description: 'Client authentication failed.',
    });
    expect(res.headers['www-authenticate']).toBe('Basic realm="oauth2"');
  });

  it('a client_id without a secret is refused without asking the model (a public client must not pass as authenticated)', async () => {
    const before = calls.length;
    const res = await post().send(form({ token: 't', client_id: 'client-1' }));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_client');
    expect(calls.length).toBe(before);
  });

  it.each([
    ['GET', () => request(server).get('/revoke'), 405, 'invalid_request', 'method_not_allowed'],
    ['a JSON body', () => request(server).post('/revoke').send({ token: 't' }), 400, 'invalid_request', 'content_type_invalid'],
    ['a repeated parameter', () => post().send('token=a&token=b'), 400, 'invalid_request', 'parameter_repeated'],
    ['a body over the limit', () => post().send(form({ token: 'x'.repeat(2000) })), 413, 'invalid_request', 'body_too_large'],
    [
      'an unknown tenant',
      () => post('/revoke?tenantDomain=nowhere.example').set('Authorization', basic('client-1', 's3cret-1')).send('token=t'),
      400,
      'invalid_request',
      'tenant_unknown',
    ],
    [
      'a repeated tenantDomain',
      () => post('/revoke?tenantDomain=a&tenantDomain=b').send('token=t'),
      400,
      'invalid_request',
      'parameter_repeated',
    ],
    [
      'an unknown tenant with an unreadable Basic header (the tenant is reported first)',
      () => post('/revoke?tenantDomain=nowhere.example').set('Authorization', 'Basic %%%').send('token=t'),
      400,
      'invalid_request',
      'tenant_unknown',
    ],
  ])('%s: %i %s (%s)', async (_name, send, status, error, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ ok: false, error, code });
    if (status === 405) expect(res.headers.allow).toBe('POST');
  });
});

describe('authenticateClient with other models and frameworks', () => {
  it('calls a 3.x callback-style getClient', async () => {
    const server = bareServer({ model: callbackModel });
    const res = await request(server).post('/x').type('form').set('Authorization', basic('client-1', 's3cret-1')).send('token=t');
    expect(res.body).toMatchObject({ ok: true, client: { id: 'client-1', style: 'callback' } });
  });

  it.each([
    [
      'an unreachable database',
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432 password=hunter2'), { code: 'ECONNREFUSED' }),
      503,
      'temporarily_unavailable',
      'store_unavailable',
    ],
    ['a bug in the model', new Error('model exploded: password=hunter2'), 500, 'server_error', 'server_error'],
  ])('a getClient that throws (%s): %i %s, the message only in cause', async (_name, thrown, status, error, code) => {
    const server = bareServer({ model: { getClient: async () => Promise.reject(thrown) } });
    const res = await request(server).post('/x').type('form').set('Authorization', basic('client-1', 's3cret-1')).send('token=t');
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ ok: false, error, code, hasCause: true });
    expect(res.text).not.toContain('hunter2');
  });

  it('works behind express.urlencoded() (Express 5), where the body was parsed already', async () => {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.post('/revoke', async (req, res) => {
      const auth = await authenticateClient<{ id: string }>(req, { model: promiseModel, store });
      if (!auth.ok) return void res.status(auth.status).json({ code: auth.code });
      res.json({ id: auth.client.id, body: auth.body });
    });
    const ok = await request(app)
      .post('/revoke')
      .type('form')
      .send(form({ token: 't', client_id: 'client-1', client_secret: 's3cret-1' }));
    expect(ok.body).toEqual({ id: 'client-1', body: { token: 't', client_id: 'client-1', client_secret: 's3cret-1' } });
    const repeated = await request(app).post('/revoke').type('form').send('token=a&token=b&client_id=client-1&client_secret=s3cret-1');
    expect(repeated.body).toEqual({ code: 'parameter_repeated' });
  });
});

describe('readBasicCredentials', () => {
  it.each([
    [undefined, undefined],
    ['Bearer abc', undefined],
    [basic('a%2Bb', 'c+d'), { clientId: 'a+b', clientSecret: 'c d', method: 'client_secret_basic' }],
    [basic('client%3A1', 'x'), null],
    [basic(`client\u0001`, 'x'), null],
    [basic('', 'x'), null],
    ['Basic', null],
    ['basic ' + Buffer.from('id:secret').toString('base64'), { clientId: 'id', clientSecret: 'secret', method: 'client_secret_basic' }],
  ])('%s → %j', (header, expected) => {
    expect(readBasicCredentials(header)).toEqual(expected);
  });
});

describe('the server stays usable', () => {
  it('answers on a real port too', async () => {
    const server = bareServer({ model: promiseModel });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/revoke`, {
        method: 'POST',
        headers: { Authorization: basic('client-1', 's3cret-1'), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'token=t',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, clientId: 'client-1' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
