import { Writable } from 'node:stream';
import request from 'supertest';
import { createApp, type AppDeps } from '../../example-server/app';
import { createLogger } from '../../example-server/logger';
import { migrateExample } from '../../example-server/migrate';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';

/** The WSO2 page's token endpoint: the example server's default, and the alias of its IdPs here. */
export const TOKEN_URL = 'https://localhost:9443/oauth2/token';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface Application {
  serviceProvider: string;
  clientId: string;
  clientSecret: string;
}

/** One database (package and example migrations) and the example app over it, with captured JSON logs. */
export interface ExampleFixture {
  db: TestDatabase;
  app: ReturnType<typeof createApp>['app'];
  logs: Array<Record<string, unknown>>;
  /** Raw log text, to check that no secret ever reaches it. */
  logText(): string;
  admin(method: 'get' | 'post' | 'patch' | 'delete', path: string): request.Test;
  createApplication(body?: Record<string, unknown>, tenantDomain?: string): Promise<Application>;
  /** Registers an IdP through the admin API with a fresh RS256 key; returns the key. */
  registerIdp(
    name: string,
    options?: { tenantDomain?: string; aliases?: string[]; extra?: Record<string, unknown> },
  ): Promise<TestSigningKey>;
  /** A valid assertion of `key` for `iss`, `aud` = TOKEN_URL (as the WSO2 page's sample). */
  assertion(key: TestSigningKey, iss: string, claims?: Record<string, unknown>): Promise<string>;
  /** The WSO2 page's curl: `-u id:secret`, the exact body string, form content type. */
  token(app: Application, assertion: string, query?: string): request.Test;
  close(): Promise<void>;
}

export async function createExampleFixture(deps: Partial<AppDeps> = {}): Promise<ExampleFixture> {
  const db = await createTestDatabase();
  await migrateExample(db.knex);
  let text = '';
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const { app } = createApp({ knex: db.knex, adminToken: ADMIN_TOKEN, tokenEndpointUrl: TOKEN_URL, logger, ...deps });

  const admin = (method: 'get' | 'post' | 'patch' | 'delete', path: string) =>
    request(app)[method](path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  const withTenant = (path: string, tenantDomain?: string) =>
    tenantDomain ? `${path}?tenantDomain=${encodeURIComponent(tenantDomain)}` : path;

  return {
    db,
    app,
    get logs() {
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
    },
    logText: () => text,
    admin,
    async createApplication(body = { owner: 'admin', name: `App${Math.random().toString(36).slice(2, 8)}` }, tenantDomain) {
      const res = await admin('post', withTenant('/admin/applications', tenantDomain)).send(body);
      if (res.status !== 201) throw new Error(`create application: ${res.status} ${res.text}`);
      return res.body;
    },
    async registerIdp(name, options = {}) {
      const key = await makeSigningKey('RS256');
      const res = await admin('post', withTenant('/admin/identity-providers', options.tenantDomain)).send({
        name,
        certificates: [key.certificatePem],
        aliases: options.aliases ?? [TOKEN_URL],
        ...options.extra,
      });
      if (res.status !== 201) throw new Error(`register IdP: ${res.status} ${res.text}`);
      return key;
    },
    assertion: (key, iss, claims = {}) =>
      signAssertion(key, assertionClaims({ iss, sub: 'admin', aud: [TOKEN_URL, 'wso2-IS'], ...claims })),
    token: (client, assertion, query = '') =>
      request(app)
        .post(`/oauth2/token${query}`)
        .auth(client.clientId, client.clientSecret)
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send(`grant_type=${JWT_BEARER}&assertion=${assertion}`),
    close: () => db.close(),
  };
}

/** POSTs a form with HTTP Basic client credentials. */
export function postForm(app: unknown, path: string, client: Application | null, form: Record<string, string>) {
  const req = request(app as Parameters<typeof request>[0]).post(path);
  if (client) req.auth(client.clientId, client.clientSecret);
  return req.type('form').send(new URLSearchParams(form).toString());
}
