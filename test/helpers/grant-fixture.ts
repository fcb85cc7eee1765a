import request from 'supertest';
import { JWT_BEARER_GRANT_TYPE } from '../../lib/grant/jwt-bearer-grant';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { createTestDatabase, type TestDatabase } from './database';
import { buildHostApp, CLIENT, TOKEN_URL, type HostAppOptions, type HostUnderTest } from './host-app';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from './keys';
import { seedIdp, type SeedIdp } from './seed';

export { JWT_BEARER_GRANT_TYPE, TOKEN_URL, CLIENT };

/** The IdP most tests use: the WSO2 page's `jwtIDP`, one RS256 certificate, our URL as its alias. */
export const ISSUER = 'jwtIDP';

/** A database, a store and the `jwtIDP` IdP, shared by the tests of one describe block. */
export interface GrantFixture {
  db: TestDatabase;
  store: KnexGrantStore;
  key: TestSigningKey;
  idpId: string;
  app(options?: Partial<HostAppOptions>): ReturnType<typeof buildHostApp>;
  /** A valid assertion from `jwtIDP` for `TOKEN_URL`, with claim overrides (undefined deletes). */
  assertion(claims?: Record<string, unknown>, header?: Record<string, unknown>, key?: TestSigningKey): Promise<string>;
  addIdp(idp: SeedIdp): Promise<string>;
  issuedCount(): Promise<number>;
  replayCount(): Promise<number>;
  close(): Promise<void>;
}

export async function createGrantFixture(hut: HostUnderTest): Promise<GrantFixture> {
  const db = await createTestDatabase();
  const store = new KnexGrantStore(db.knex);
  const key = await makeSigningKey('RS256', { kid: 'jwt-idp-1' });
  const idpId = await seedIdp(db.knex, {
    name: ISSUER,
    certificates: [{ pem: key.certificatePem, kid: key.kid }],
    aliases: [TOKEN_URL, 'wso2-IS'],
  });
  const count = async (table: string) => {
    const [row] = await db.knex(table).count({ n: '*' });
    if (!row) throw new Error(`count(*) of ${table} returned no row`);
    return Number(row.n);
  };
  return {
    db,
    store,
    key,
    idpId,
    app: (options = {}) => buildHostApp(hut, { store, ...options }),
    assertion: (claims = {}, header = {}, signer = key) =>
      signAssertion(signer, assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'admin', ...claims }), header),
    addIdp: (idp) => seedIdp(db.knex, idp),
    issuedCount: () => count('jwt_bearer_issued_tokens'),
    replayCount: () => count('jwt_bearer_used_assertions'),
    close: () => db.close(),
  };
}

/** POSTs a form to the token endpoint the way `curl -u id:secret -d …` does. */
export function postToken(app: unknown, form: Record<string, string>, options: { auth?: [string, string] | null; query?: string } = {}) {
  const req = request(app as any).post(`/oauth2/token${options.query ?? ''}`);
  const auth = options.auth === undefined ? ([CLIENT.id, CLIENT.secret] as [string, string]) : options.auth;
  if (auth) req.auth(auth[0], auth[1]);
  return req.type('form').send(new URLSearchParams(form).toString());
}

/** POSTs a raw form body with the default client's Basic credentials. */
export function postRaw(app: unknown, body: string, path = '/oauth2/token') {
  return request(app as any)
    .post(path)
    .auth(CLIENT.id, CLIENT.secret)
    .type('form')
    .send(body);
}

/** The body of a JWT bearer token request. */
export function grantForm(
  assertion: string,
  extra: Record<string, string> = {},
): { grant_type: string; assertion: string } & Record<string, string> {
  return { grant_type: JWT_BEARER_GRANT_TYPE, assertion, ...extra };
}

/** docs/http.md: the exact refusal, JSON, no-store, and no token in it. */
export function expectRefused(res: request.Response, status: number, error: string): void {
  expect({ status: res.status, error: res.body?.error }).toEqual({ status, error });
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
  expect(typeof res.body.error_description).toBe('string');
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['pragma']).toBe('no-cache');
  expect(res.text).not.toMatch(/access_token|at .+\.(js|ts):\d+/);
}
