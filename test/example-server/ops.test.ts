/** Operations of the example server: /healthz, /metrics, and a database that is down. */
import type { Knex } from 'knex';
import request from 'supertest';
import { createApp } from '../../example-server/app';
import { openDatabase } from '../../lib/db/connect';
import { createExampleFixture, postForm, TOKEN_URL, ADMIN_TOKEN, type ExampleFixture } from './fixture';

describe('example server: health and metrics', () => {
  let fx: ExampleFixture;

  beforeAll(async () => {
    fx = await createExampleFixture();
  });
  afterAll(() => fx.close());

  it('GET /healthz answers 200 when the database answers', async () => {
    const res = await request(fx.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'up' });
  });

  it('GET /metrics exposes grants by outcome and reason, and the verification latency histogram', async () => {
    const app = await fx.createApplication();
    const key = await fx.registerIdp('jwtIDP');
    const assertion = await fx.assertion(key, 'jwtIDP');
    expect((await fx.token(app, assertion)).status).toBe(200);
    expect((await fx.token(app, assertion)).status).toBe(400); // replayed
    expect((await fx.token(app, await fx.assertion(key, 'jwtIDP', { exp: Math.floor(Date.now() / 1000) - 3600 }))).status).toBe(400);
    expect((await postForm(fx.app, '/oauth2/token', app, { grant_type: 'password', username: 'u', password: 'p' })).status).toBe(400);

    const res = await request(fx.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(text).toContain('# TYPE oauth2_token_requests_total counter');
    expect(text).toContain('oauth2_token_requests_total{grant_type="jwt-bearer",outcome="issued",reason="none"} 1');
    expect(text).toContain('oauth2_token_requests_total{grant_type="jwt-bearer",outcome="refused",reason="jti_replayed"} 1');
    expect(text).toContain('oauth2_token_requests_total{grant_type="jwt-bearer",outcome="refused",reason="assertion_expired"} 1');
    expect(text).toMatch(/oauth2_token_requests_total\{grant_type="other",outcome="refused",reason="[a-z_]+"\} 1/);
    expect(text).toContain('# TYPE oauth2_jwt_bearer_verification_seconds histogram');
    expect(text).toMatch(/oauth2_jwt_bearer_verification_seconds_count [1-9]/);
    expect(text).toContain('# TYPE oauth2_token_request_duration_seconds histogram');
  });

  it('answers 404 JSON to unknown paths', async () => {
    const res = await request(fx.app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });
});

describe('example server: database down', () => {
  // Nothing listens on port 1: every query fails with ECONNREFUSED within the bounded acquire wait.
  let knex: Knex;
  let app: ReturnType<typeof createApp>['app'];
  beforeAll(async () => {
    knex = await openDatabase({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none' });
    ({ app } = createApp({ knex, adminToken: ADMIN_TOKEN, tokenEndpointUrl: TOKEN_URL }));
  });
  afterAll(() => knex.destroy());

  it('GET /healthz answers 503 promptly', async () => {
    const started = Date.now();
    const res = await request(app).get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable', database: 'down' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('answers 503 temporarily_unavailable (never a stack) on the token, revoke and introspect endpoints', async () => {
    const client = { clientId: 'abc', clientSecret: 'def', serviceProvider: 'x' };
    for (const [path, form] of [
      ['/oauth2/token', { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: 'a.b.c' }],
      ['/oauth2/revoke', { token: 'x' }],
      ['/oauth2/introspect', { token: 'x' }],
    ] as const) {
      const res = await postForm(app, path, client, form);
      expect({ path, status: res.status, error: res.body.error }).toEqual({ path, status: 503, error: 'temporarily_unavailable' });
      expect(res.text).not.toMatch(/ECONNREFUSED|at .+\.(js|ts):\d+/);
    }
  });
});
