/**
 * The example server saves a JWT bearer token in the statement of its replay record and audit row
 * (store option `tokenTable`, model method `jwtBearerTokenRow`): one row per issuance, none for a
 * replay, none at all when the statement fails — and then the assertion is not spent.
 */
import request from 'supertest';
import { sha256 } from '../../lib/hash';
import type { TestSigningKey } from '../helpers/keys';
import { createExampleFixture, type Application, type ExampleFixture } from './fixture';

let fx: ExampleFixture;
let app: Application;
let key: TestSigningKey;

beforeAll(async () => {
  fx = await createExampleFixture();
  app = await fx.createApplication();
  key = await fx.registerIdp('jwtIDP');
});
afterAll(() => fx.close());

const rowsOf = (table: string, where: Record<string, unknown>) => fx.db.knex(table).where(where).select();

it('writes one token row, with the same values saveToken would write, beside the audit row', async () => {
  const res = await fx.token(app, await fx.assertion(key, 'jwtIDP'));
  expect(res.status).toBe(200);
  const tenantId = (await fx.db.knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
  const rows = await rowsOf('example_tokens', { access_token_sha256: sha256(res.body.access_token) });
  expect(rows).toEqual([
    expect.objectContaining({
      tenant_id: tenantId,
      client_id: app.clientId,
      refresh_token_sha256: sha256(res.body.refresh_token),
      user: { id: 'admin', sub: 'admin', idp: 'jwtIDP', tenant: 'carbon.super' },
      scope: [],
      idp: 'jwtIDP',
      revoked_at: null,
    }),
  ]);
  expect(rows[0].refresh_token_expires_at.getTime()).toBeGreaterThan(rows[0].access_token_expires_at.getTime());
  expect(await rowsOf('jwt_bearer_issued_tokens', { access_token_sha256: sha256(res.body.access_token) })).toHaveLength(1);
  // The host reads it as any token of its own.
  const me = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${res.body.access_token}`);
  expect(me.status).toBe(200);
  expect(me.body).toMatchObject({ sub: 'admin', idp: 'jwtIDP' });
});

it('the same assertion sent 20 times at once: one 200, one token row, one audit row', async () => {
  const assertion = await fx.assertion(key, 'jwtIDP', { jti: 'one-commit-race' });
  const before = Number((await fx.db.knex('example_tokens').count({ n: '*' }))[0]!.n);
  const answers = await Promise.all(Array.from({ length: 20 }, () => fx.token(app, assertion)));
  expect(answers.map((r) => r.status).sort()).toEqual([200, ...Array(19).fill(400)]);
  for (const r of answers.filter((a) => a.status === 400)) expect(r.body.error).toBe('invalid_grant');
  expect(Number((await fx.db.knex('example_tokens').count({ n: '*' }))[0]!.n)).toBe(before + 1);
  expect(await rowsOf('jwt_bearer_issued_tokens', { jti: 'one-commit-race' })).toHaveLength(1);
});

it('a statement that fails writes no replay record, no audit row and no token row; the assertion stays usable', async () => {
  await fx.db.knex.raw(`alter table example_tokens add constraint test_refuse_jwt_rows check (idp is distinct from 'jwtIDP') not valid`);
  const assertion = await fx.assertion(key, 'jwtIDP', { jti: 'one-commit-failure' });
  try {
    const res = await fx.token(app, assertion);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(await rowsOf('jwt_bearer_used_assertions', { jti: 'one-commit-failure' })).toEqual([]);
    expect(await rowsOf('jwt_bearer_issued_tokens', { jti: 'one-commit-failure' })).toEqual([]);
    expect(
      Number((await fx.db.knex('example_tokens').where({ idp: 'jwtIDP' }).whereRaw(`"user"->>'sub' = 'admin'`).count({ n: '*' }))[0]!.n),
    ).toBe(2);
  } finally {
    await fx.db.knex.raw('alter table example_tokens drop constraint test_refuse_jwt_rows');
  }
  const again = await fx.token(app, assertion);
  expect(again.status).toBe(200);
  expect(await rowsOf('example_tokens', { access_token_sha256: sha256(again.body.access_token) })).toHaveLength(1);
});
