/**
 * The one classifier of database failures, on errors provoked from a real PostgreSQL or PGlite (no
 * hand-made driver errors except where noted): structured fields only, never a message text.
 */
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../lib/db/connect';
import { classifyDatabaseFailure, isDatabaseUnavailable, sqlStateOf } from '../../lib/db/failure';
import { JwtBearerError, StoreUnavailableError } from '../../lib/errors';
import { isUnavailable } from '../../lib/http/failure';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

const adminUrl = process.env.TEST_DATABASE_URL;
const onPostgres = adminUrl ? describe : describe.skip;

/** What `call` rejects with (fails the test if it resolves). */
async function failureOf(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe('classifyDatabaseFailure: errors that are not outages', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.close());

  it.each([
    ['a syntax error (42601)', 'selec 1', '42601'],
    ['a missing table (42P01)', 'select * from no_such_table', '42P01'],
    ['a bad cast (22P02)', "select 'not-a-uuid'::uuid", '22P02'],
    ['a division by zero (22012)', 'select 1/0', '22012'],
  ])('%s is rejected, not unavailable', async (_name, sql, state) => {
    const error = await failureOf(() => db.knex.raw(sql));
    expect(sqlStateOf(error)).toBe(state);
    expect(classifyDatabaseFailure(error)).toBe('rejected');
    expect(classifyDatabaseFailure(error, { fromDatabaseCall: true })).toBe('rejected');
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('a unique violation (23505) is rejected', async () => {
    const domain = `t${randomBytes(4).toString('hex')}.example`;
    await db.knex('jwt_bearer_tenants').insert({ domain });
    const error = await failureOf(() => db.knex('jwt_bearer_tenants').insert({ domain }));
    expect(sqlStateOf(error)).toBe('23505');
    expect(classifyDatabaseFailure(error)).toBe('rejected');
  });

  it('a JavaScript error is other, even from a database call; a plain Error from elsewhere is other', () => {
    expect(classifyDatabaseFailure(new TypeError("Cannot read properties of undefined (reading 'id')"), { fromDatabaseCall: true })).toBe(
      'other',
    );
    expect(classifyDatabaseFailure(new Error('boom'))).toBe('other');
    expect(classifyDatabaseFailure(undefined)).toBe('other');
    expect(classifyDatabaseFailure('a string')).toBe('other');
    // A message that looks like a driver's does not count: only structure does.
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('a code-less error known to come from a database call is unavailable', () => {
    expect(classifyDatabaseFailure(new Error('anything'), { fromDatabaseCall: true })).toBe('unavailable');
  });
});

describe('classifyDatabaseFailure: outages on the embedded database (PGlite)', () => {
  it('waiting too long for the one connection (KnexTimeoutError) is unavailable', async () => {
    const knex = await openDatabase({ dataDir: ':memory:', acquireTimeoutMs: 200 });
    try {
      const trx = await knex.transaction();
      const error = await failureOf(() => knex.raw('select 1'));
      await trx.rollback();
      expect((error as Error).name).toBe('KnexTimeoutError');
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await knex.destroy();
    }
  });

  it('a destroyed database (no pool, closed PGlite) is unavailable, though the driver gives no code', async () => {
    const knex = await openDatabase({ dataDir: ':memory:', acquireTimeoutMs: 500 });
    await knex.raw('select 1');
    await knex.destroy();
    const error = await failureOf(() => knex.raw('select 1'));
    expect((error as { code?: unknown }).code).toBeUndefined();
    expect(isDatabaseUnavailable(error)).toBe(true);
  });
});

onPostgres('classifyDatabaseFailure: outages on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.close());

  it('nothing listening (ECONNREFUSED) is unavailable', async () => {
    const knex = await openDatabase({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', acquireTimeoutMs: 1000 });
    try {
      const error = await failureOf(() => knex.raw('select 1'));
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(isUnavailable(error)).toBe(true);
    } finally {
      await knex.destroy();
    }
  });

  it('statement_timeout (57014 query_canceled) is unavailable', async () => {
    const error = await failureOf(() =>
      db.knex.transaction(async (trx) => {
        await trx.raw('set local statement_timeout = 50');
        await trx.raw('select pg_sleep(2)');
      }),
    );
    expect(sqlStateOf(error)).toBe('57014');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('a session ended by an administrator (57P01), and the dead connection after it, are unavailable', async () => {
    const seen: unknown[] = [];
    await db.knex
      .transaction(async (trx) => {
        const { rows } = await trx.raw<{ rows: Array<{ pid: number }> }>('select pg_backend_pid() as pid');
        await db.knex.raw('select pg_terminate_backend(?)', [rows[0]!.pid]);
        seen.push(await failureOf(() => trx.raw('select 1')));
      })
      .catch((error: unknown) => seen.push(error));
    expect(seen.length).toBeGreaterThan(0);
    for (const error of seen) expect(isDatabaseUnavailable(error)).toBe(true);
    expect(seen.some((error) => sqlStateOf(error) === '57P01' || sqlStateOf(error) === undefined)).toBe(true);
  });

  it('a role over its connection limit (53300 too_many_connections) is unavailable', async () => {
    const role = `jwtb_limit_${randomBytes(4).toString('hex')}`;
    await db.knex.raw(`create role "${role}" login connection limit 0`);
    const url = new URL(adminUrl!);
    url.username = role;
    const knex = await openDatabase({ databaseUrl: url.toString(), acquireTimeoutMs: 2000 });
    try {
      const error = await failureOf(() => knex.raw('select 1'));
      expect(sqlStateOf(error)).toBe('53300');
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await knex.destroy();
      await db.knex.raw(`drop role "${role}"`);
    }
  });
});

describe('classifyDatabaseFailure: wrappers', () => {
  it('looks through StoreUnavailableError, JwtBearerError(store_unavailable), cause and a host ServerError inner', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new StoreUnavailableError(new Error('x')))).toBe(true);
    expect(isDatabaseUnavailable(new JwtBearerError('store_unavailable'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: refused }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('server_error'), { code: 503, inner: refused }))).toBe(true);
    expect(isDatabaseUnavailable(new JwtBearerError('assertion_expired'))).toBe(false);
  });
});
