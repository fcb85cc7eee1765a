/**
 * Migration 003: the audit table's parent and refresh-token indexes hold only rows whose column is set.
 * Up keeps every row and every rule (refresh tokens unique, foreign key cascades fast); down restores the
 * full index and the unique constraint.
 */
import type { Knex } from 'knex';
import { migrationSource, MIGRATIONS_TABLE } from '../../lib/db/migrate';
import { openDatabase } from '../../lib/db/connect';
import { createBlankPostgresDatabase, type BlankPostgresDatabase } from '../helpers/database';

const CONFIG = { migrationSource, tableName: MIGRATIONS_TABLE };

let knex: Knex;
let blank: BlankPostgresDatabase | undefined;
let tenantId: string;

beforeAll(async () => {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    blank = await createBlankPostgresDatabase(adminUrl);
    knex = await openDatabase({ databaseUrl: blank.url, acquireTimeoutMs: 15_000, queryTimeoutMs: 15_000 });
  } else {
    knex = await openDatabase({ dataDir: ':memory:', acquireTimeoutMs: 15_000 });
  }
  await knex.migrate.up({ ...CONFIG, name: '001_initial' });
  await knex.migrate.up({ ...CONFIG, name: '002_replay_namespace_and_change_feed' });
  tenantId = (await knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
});
afterAll(async () => {
  await knex?.destroy();
  await blank?.drop();
});

const row = (n: number, over: Record<string, unknown> = {}) => ({
  tenant_id: tenantId, idp_name: 'jwtIDP', client_id: 'c', subject: 's', access_token_sha256: `at-${n}`, expires_at: new Date('2030-01-01T00:00:00Z'), ...over,
});
const indexes = async () =>
  Object.fromEntries(
    (await knex.raw(`select indexname, indexdef from pg_indexes where tablename = 'jwt_bearer_issued_tokens' and indexname in
      ('jwt_bearer_issued_tokens_parent', 'jwt_bearer_issued_tokens_refresh_token_sha256_unique')`)).rows.map(
      (r: { indexname: string; indexdef: string }) => [r.indexname, r.indexdef.replace(/ ON (public\.)?/, ' ON ')],
    ),
  );
const constraints = async () =>
  (await knex.raw(`select conname from pg_constraint where conrelid = 'jwt_bearer_issued_tokens'::regclass and contype = 'u' order by conname`)).rows.map(
    (r: { conname: string }) => r.conname,
  );
const errorCode = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);
/** The plan of a query with sequential scans discouraged: does it use the named index at all? */
const planOf = async (sql: string, bindings: string[]) =>
  knex.transaction(async (trx) => {
    await trx.raw('set local enable_seqscan = off');
    return JSON.stringify((await trx.raw(`explain ${sql}`, bindings)).rows);
  });

let parentId: string;

it('keeps every row and makes both indexes partial', async () => {
  [{ id: parentId }] = await knex('jwt_bearer_issued_tokens').insert(row(1, { refresh_token_sha256: 'rt-1' })).returning('id');
  await knex('jwt_bearer_issued_tokens').insert([row(2, { parent_id: parentId, refresh_token_sha256: 'rt-2' }), row(3), row(4)]);
  await knex.migrate.up({ ...CONFIG, name: '003_lean_audit_indexes' });

  expect(await knex('jwt_bearer_issued_tokens').orderBy('access_token_sha256').select('access_token_sha256', 'refresh_token_sha256')).toEqual([
    { access_token_sha256: 'at-1', refresh_token_sha256: 'rt-1' },
    { access_token_sha256: 'at-2', refresh_token_sha256: 'rt-2' },
    { access_token_sha256: 'at-3', refresh_token_sha256: null },
    { access_token_sha256: 'at-4', refresh_token_sha256: null },
  ]);
  expect(await indexes()).toEqual({
    jwt_bearer_issued_tokens_parent: 'CREATE INDEX jwt_bearer_issued_tokens_parent ON jwt_bearer_issued_tokens USING btree (parent_id) WHERE (parent_id IS NOT NULL)',
    jwt_bearer_issued_tokens_refresh_token_sha256_unique:
      'CREATE UNIQUE INDEX jwt_bearer_issued_tokens_refresh_token_sha256_unique ON jwt_bearer_issued_tokens USING btree (refresh_token_sha256) WHERE (refresh_token_sha256 IS NOT NULL)',
  });
});

it('still refuses a second row with the same refresh token, and still takes many rows without one', async () => {
  expect(await errorCode(knex('jwt_bearer_issued_tokens').insert(row(5, { refresh_token_sha256: 'rt-1' })))).toBe('23505');
  expect(await errorCode(knex('jwt_bearer_issued_tokens').insert([row(6), row(7)]))).toBe('ok');
});

it('the readers by refresh token and by parent still use the indexes', async () => {
  expect(await planOf('select id from jwt_bearer_issued_tokens where refresh_token_sha256 = ?', ['rt-1'])).toContain('jwt_bearer_issued_tokens_refresh_token_sha256_unique');
  expect(await planOf('select id from jwt_bearer_issued_tokens where access_token_sha256 = ? or refresh_token_sha256 = ?', ['x', 'x'])).toContain(
    'jwt_bearer_issued_tokens_refresh_token_sha256_unique',
  );
  expect(await planOf('update jwt_bearer_issued_tokens set parent_id = null where parent_id = ?::uuid', [parentId])).toContain('jwt_bearer_issued_tokens_parent');
});

it('deleting a parent still sets its children\'s parent_id NULL', async () => {
  await knex('jwt_bearer_issued_tokens').where({ id: parentId }).del();
  expect(await knex('jwt_bearer_issued_tokens').where({ access_token_sha256: 'at-2' }).first('parent_id')).toEqual({ parent_id: null });
});

it('down restores the full index and the unique constraint, keeping the rows', async () => {
  const before = await knex('jwt_bearer_issued_tokens').count({ n: '*' });
  await knex.migrate.down({ ...CONFIG, name: '003_lean_audit_indexes' });
  expect(await indexes()).toEqual({
    jwt_bearer_issued_tokens_parent: 'CREATE INDEX jwt_bearer_issued_tokens_parent ON jwt_bearer_issued_tokens USING btree (parent_id)',
    jwt_bearer_issued_tokens_refresh_token_sha256_unique:
      'CREATE UNIQUE INDEX jwt_bearer_issued_tokens_refresh_token_sha256_unique ON jwt_bearer_issued_tokens USING btree (refresh_token_sha256)',
  });
  expect(await constraints()).toEqual(['jwt_bearer_issued_tokens_access_token_sha256_unique', 'jwt_bearer_issued_tokens_refresh_token_sha256_unique']);
  expect(await knex('jwt_bearer_issued_tokens').count({ n: '*' })).toEqual(before);
  expect(await errorCode(knex('jwt_bearer_issued_tokens').insert(row(8, { refresh_token_sha256: 'rt-2' })))).toBe('23505');
  // And up again, as a database that was rolled back and upgraded once more.
  await knex.migrate.up({ ...CONFIG, name: '003_lean_audit_indexes' });
  expect(Object.keys(await indexes())).toHaveLength(2);
});
