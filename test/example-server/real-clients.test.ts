/**
 * Real OAuth clients against the example server on a real port: openid-client (v6) and plain curl get
 * tokens with the JWT bearer grant (RFC 7523 §2.1), each with client_secret_basic (RFC 6749 §2.3.1:
 * openid-client form-url-encodes the credentials, curl -u does not) and with client_secret_post.
 * openid-client is an ES module, so it runs in a child process of its own (clients/openid-client-token.mjs).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import type { TestSigningKey } from '../helpers/keys';
import { createExampleFixture, JWT_BEARER, type Application, type ExampleFixture } from './fixture';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const OPENID_CLIENT = join(__dirname, 'clients', 'openid-client-token.mjs');
const CURL = ['/usr/bin/curl', '/bin/curl', '/usr/local/bin/curl'].find((path) => existsSync(path));

type Method = 'client_secret_basic' | 'client_secret_post';

describe('example server: real clients get tokens', () => {
  let fx: ExampleFixture;
  let server: http.Server;
  let tokenEndpoint: string;
  let key: TestSigningKey;
  let app: Application;
  /** The scheme of each request's Authorization header, as the server received it. */
  const seen: Array<string | undefined> = [];

  beforeAll(async () => {
    fx = await createExampleFixture();
    key = await fx.registerIdp('jwtIDP');
    app = await fx.createApplication({ owner: 'admin', name: 'RealClients' });
    server = http.createServer((req, res) => {
      if (req.url?.startsWith('/oauth2/token')) seen.push(req.headers.authorization?.split(' ')[0]);
      fx.app(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    tokenEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fx.close();
  });

  /** The access token works at the example's protected resource, for the assertion's subject. */
  async function expectUsable(tokens: { access_token?: string; token_type?: string }, sub: string) {
    expect(tokens.token_type?.toLowerCase()).toBe('bearer');
    const me = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${tokens.access_token}`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ sub, idp: 'jwtIDP', client_id: app.clientId });
  }

  async function openidClient(method: Method, assertion: string, secret = app.clientSecret) {
    const input = { tokenEndpoint, clientId: app.clientId, clientSecret: secret, method, assertion };
    const { stdout } = await run(process.execPath, [OPENID_CLIENT, JSON.stringify(input)], { cwd: ROOT, timeout: 30_000 });
    return JSON.parse(stdout) as Record<string, any>;
  }

  describe('openid-client', () => {
    it.each(['client_secret_basic', 'client_secret_post'] as const)('%s', async (method) => {
      const before = seen.length;
      const tokens = await openidClient(method, await fx.assertion(key, 'jwtIDP', { sub: `oidc-${method}` }));
      expect(tokens).toMatchObject({
        token_type: expect.stringMatching(/^bearer$/i),
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        expires_in: expect.any(Number),
      });
      await expectUsable(tokens, `oidc-${method}`);
      expect(seen.slice(before)).toEqual([method === 'client_secret_basic' ? 'Basic' : undefined]);
    });

    it.each(['client_secret_basic', 'client_secret_post'] as const)('%s with a wrong secret: invalid_client', async (method) => {
      const refused = await openidClient(method, await fx.assertion(key, 'jwtIDP'), 'wrong-secret');
      // RFC 6749 §5.2: 401 with a Basic challenge when the client used the Authorization header.
      if (method === 'client_secret_basic') expect(refused).toMatchObject({ error: 'invalid_client', status: 401, challenge: 'basic' });
      else expect(refused).toMatchObject({ error: 'invalid_client', status: 400 });
    });

    it('a replayed assertion: invalid_grant', async () => {
      const assertion = await fx.assertion(key, 'jwtIDP');
      expect(await openidClient('client_secret_basic', assertion)).toHaveProperty('access_token');
      expect(await openidClient('client_secret_post', assertion)).toMatchObject({ error: 'invalid_grant', status: 400 });
    });
  });

  (CURL ? describe : describe.skip)('curl', () => {
    async function curl(method: Method, assertion: string): Promise<{ status: number; body: Record<string, any> }> {
      const form = `grant_type=${JWT_BEARER}&assertion=${assertion}`;
      const args =
        method === 'client_secret_basic'
          ? ['-u', `${app.clientId}:${app.clientSecret}`, '-d', form]
          : ['-d', `${form}&client_id=${app.clientId}&client_secret=${app.clientSecret}`];
      const { stdout } = await run(
        CURL!,
        ['-sS', '-X', 'POST', ...args, '-H', 'Content-Type: application/x-www-form-urlencoded', '-w', '\n%{http_code}', tokenEndpoint],
        { timeout: 30_000 },
      );
      const newline = stdout.lastIndexOf('\n');
      return { status: Number(stdout.slice(newline + 1)), body: JSON.parse(stdout.slice(0, newline)) };
    }

    it.each(['client_secret_basic', 'client_secret_post'] as const)('%s', async (method) => {
      const before = seen.length;
      const res = await curl(method, await fx.assertion(key, 'jwtIDP', { sub: `curl-${method}` }));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
      await expectUsable(res.body, `curl-${method}`);
      expect(seen.slice(before)).toEqual([method === 'client_secret_basic' ? 'Basic' : undefined]);
    });
  });
});
