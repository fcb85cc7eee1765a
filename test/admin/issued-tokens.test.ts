/** lib/admin/README.md `GET /issued-tokens`: the audit, filtered, per tenant, without token values or hashes. */
import { randomBytes } from 'node:crypto';
import { createAdminFixture, inTenant, type AdminFixture } from './support';

let fx: AdminFixture;
let superId: string;
let exampleId: string;
const T0 = Date.parse('2030-01-01T00:00:00Z');

/** One audit row as the grant would write it; `minute` orders them. */
async function audit(row: {
  tenant?: string;
  idp: string;
  client: string;
  sub: string;
  minute: number;
  revoked?: boolean;
  jti?: string | null;
  scope?: string | null;
}) {
  const [inserted] = await fx.db
    .knex('jwt_bearer_issued_tokens')
    .insert({
      tenant_id: row.tenant ?? superId,
      idp_id: null,
      idp_name: row.idp,
      client_id: row.client,
      subject: row.sub,
      jti: row.jti === undefined ? `jti-${row.minute}` : row.jti,
      scope: row.scope === undefined ? 'read' : row.scope,
      access_token_sha256: randomBytes(32).toString('hex'),
      refresh_token_sha256: randomBytes(32).toString('hex'),
      issued_at: new Date(T0 + row.minute * 60_000),
      expires_at: new Date(T0 + row.minute * 60_000 + 3600_000),
      revoked_at: row.revoked ? new Date(T0 + row.minute * 60_000 + 60_000) : null,
    })
    .returning('id');
  return inserted.id as string;
}

beforeAll(async () => {
  fx = await createAdminFixture();
  await fx.admin('post', '/tenants').send({ domain: 'example.com' });
  superId = (await fx.db.knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
  exampleId = (await fx.db.knex('jwt_bearer_tenants').where({ domain: 'example.com' }).first('id')).id;
  await audit({ idp: 'jwtIDP', client: 'app1', sub: 'alice', minute: 1 });
  await audit({ idp: 'jwtIDP', client: 'app2', sub: 'bob', minute: 2, revoked: true });
  await audit({ idp: 'otherIDP', client: 'app1', sub: 'alice', minute: 3, jti: null, scope: null });
  await audit({ idp: 'jwtIDP', client: 'app1', sub: 'bob', minute: 4 });
  await audit({ tenant: exampleId, idp: 'jwtIDP', client: 'app1', sub: 'alice', minute: 5 });
});
afterAll(() => fx?.close());
afterEach(() => expect(fx.errors).toEqual([]));

const minutes = (body: Array<{ jti: string | null; issuedAt: string }>) => body.map((r) => (Date.parse(r.issuedAt) - T0) / 60_000);

describe('GET /issued-tokens', () => {
  it('lists the tenant’s audit rows newest first, with no token values or hashes', async () => {
    const res = await fx.admin('get', '/issued-tokens');
    expect(res.status).toBe(200);
    expect(minutes(res.body)).toEqual([4, 3, 2, 1]);
    expect(res.body[2]).toEqual({
      id: expect.any(String),
      idp: 'jwtIDP',
      idpId: null,
      clientId: 'app2',
      subject: 'bob',
      jti: 'jti-2',
      rule: null,
      scope: 'read',
      parentId: null,
      issuedAt: new Date(T0 + 2 * 60_000).toISOString(),
      expiresAt: new Date(T0 + 2 * 60_000 + 3600_000).toISOString(),
      revokedAt: new Date(T0 + 3 * 60_000).toISOString(),
    });
    expect(res.body[1]).toMatchObject({ jti: null, scope: null, revokedAt: null });
    const hashes = await fx.db.knex('jwt_bearer_issued_tokens').pluck('access_token_sha256');
    for (const hash of hashes) expect(res.text).not.toContain(hash);
    expect(res.text).not.toMatch(/sha256|token_/i);
  });

  it.each([
    ['?idp=jwtIDP', [4, 2, 1]],
    ['?sub=alice', [3, 1]],
    ['?clientId=app1', [4, 3, 1]],
    ['?idp=jwtIDP&sub=bob', [4, 2]],
    ['?idp=jwtIDP&sub=bob&clientId=app1', [4]],
    ['?idp=nobody', []],
    ['?limit=2', [4, 3]],
    ['?clientId=app1&limit=1', [4]],
  ])('filters with %s', async (query, expected) => {
    const res = await fx.admin('get', `/issued-tokens${query}`);
    expect(res.status).toBe(200);
    expect(minutes(res.body)).toEqual(expected);
  });

  it('is per tenant', async () => {
    const res = await fx.admin('get', inTenant('/issued-tokens?sub=alice', 'example.com'));
    expect(minutes(res.body)).toEqual([5]);
    expect((await fx.admin('get', inTenant('/issued-tokens', 'nowhere.example'))).status).toBe(400);
  });

  it.each([
    ['?limit=0', 'limit'],
    ['?limit=1001', 'limit'],
    ['?limit=abc', 'limit'],
    ['?limit=-1', 'limit'],
    ['?idp=', 'idp'],
    ['?sub=a&sub=b', 'sub'],
    ['?subject=alice', 'subject'],
    ['?idp=%00', 'idp'],
  ])('refuses %s with 400 naming the parameter', async (query, field) => {
    const res = await fx.admin('get', `/issued-tokens${query}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', field });
  });

  it('needs the admin token', async () => {
    const res = await fx.admin('get', '/issued-tokens').set('Authorization', 'Bearer nope');
    expect(res.status).toBe(401);
  });
});
