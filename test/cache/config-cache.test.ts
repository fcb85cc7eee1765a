/**
 * The store's tenant and IdP cache against a real database: served from memory while the change feed
 * listens, emptied by the database's own notifications whoever writes, and read through while the
 * feed's connection is lost (PostgreSQL), until it listens again.
 */
import { changeFeedFor, type ChangeFeed } from '../../lib/cache/change-feed';
import { openDatabase } from '../../lib/db/connect';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { seedIdp } from '../helpers/seed';

let db: TestDatabase;
let store: KnexGrantStore;
let feed: ChangeFeed;
let tenantId: string;
/** Statements this knex sent to the database (knex's own event). */
let statements: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  db.knex.on('query', (q: { sql: string }) => statements.push(q.sql));
  store = new KnexGrantStore(db.knex);
  feed = changeFeedFor(db.knex);
  tenantId = (await store.findTenant('carbon.super'))!.id;
  await until(() => feed.trusted, 5000);
  await seedIdp(db.knex, { name: 'cached', aliases: ['aud-1'] });
});
afterAll(async () => {
  await store?.close();
  await db?.close();
});
beforeEach(() => {
  statements = [];
});

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

/**
 * Waits until every notification of writes made so far has reached the feed: notifications arrive in
 * commit order, so once one sent now has arrived, the earlier ones have too.
 */
async function settle(): Promise<void> {
  const token = `test-barrier-${Math.random().toString(36).slice(2)}`;
  let arrived = false;
  const off = feed.subscribe((table) => {
    if (table === token) arrived = true;
  });
  try {
    await db.knex.raw('select pg_notify(?, ?)', ['jwt_bearer_config', token]);
    await until(() => arrived, 2000);
  } finally {
    off();
  }
}

const idpReads = () => statements.filter((sql) => sql.includes('from jwt_bearer_identity_providers i')).length;

it('is one change feed per knex, trusted once it listens', () => {
  expect(changeFeedFor(db.knex)).toBe(feed);
  expect(feed.trusted).toBe(true);
});

it('serves a tenant and an IdP from memory after the first read', async () => {
  await settle();
  expect((await store.findIdentityProvider(tenantId, 'cached'))?.aliases).toEqual(['aud-1']);
  await store.findTenant('carbon.super');
  statements = [];
  for (let i = 0; i < 5; i++) {
    expect(await store.findTenant('carbon.super')).toEqual({ id: tenantId, domain: 'carbon.super' });
    expect((await store.findIdentityProvider(tenantId, 'cached'))?.aliases).toEqual(['aud-1']);
  }
  expect(statements).toEqual([]);
});

it('caches unknown names too, until the configuration changes', async () => {
  await settle();
  statements = [];
  expect(await store.findIdentityProvider(tenantId, 'not-yet')).toBeNull();
  expect(await store.findIdentityProvider(tenantId, 'not-yet')).toBeNull();
  expect(idpReads()).toBe(1);
  await seedIdp(db.knex, { name: 'not-yet' });
  await until(async () => (await store.findIdentityProvider(tenantId, 'not-yet')) !== null, 1000);
});

it('reads a lookup once however many ask for it at the same time', async () => {
  await seedIdp(db.knex, { name: 'popular', aliases: ['aud-p'] });
  await until(async () => (await store.findIdentityProvider(tenantId, 'popular')) !== null, 1000);
  // Another change empties the cache; then 20 requests ask at once.
  await seedIdp(db.knex, { name: 'unrelated' });
  await until(async () => (await store.findIdentityProvider(tenantId, 'unrelated')) !== null, 1000);
  await settle();
  statements = [];
  const answers = await Promise.all(Array.from({ length: 20 }, () => store.findIdentityProvider(tenantId, 'popular')));
  expect(answers.map((a) => a?.aliases)).toEqual(Array.from({ length: 20 }, () => ['aud-p']));
  expect(idpReads()).toBeLessThanOrEqual(1);
});

it.each([
  [
    'an update of the IdP',
    (id: string) => db.knex('jwt_bearer_identity_providers').where({ id }).update({ enabled: false }),
    (r: any) => r.enabled === false,
  ],
  [
    'a new alias',
    (id: string) => db.knex('jwt_bearer_idp_aliases').insert({ idp_id: id, alias: 'aud-new' }),
    (r: any) => r.aliases.includes('aud-new'),
  ],
  ['a deleted IdP', (id: string) => db.knex('jwt_bearer_identity_providers').where({ id }).del(), (r: any) => r === null],
])('sees %s made by a hand-written statement within a second', async (_label, change, seen) => {
  const name = `changing-${Math.random().toString(36).slice(2)}`;
  const id = await seedIdp(db.knex, { name });
  await until(async () => (await store.findIdentityProvider(tenantId, name)) !== null, 1000);
  await change(id);
  const ms = await until(async () => seen(await store.findIdentityProvider(tenantId, name)), 1000);
  expect(ms).toBeLessThan(1000);
});

it('sees a change this process made at once when the feed is told (what the admin API does after a write)', async () => {
  const name = `own-write-${Math.random().toString(36).slice(2)}`;
  const id = await seedIdp(db.knex, { name });
  await settle();
  expect((await store.findIdentityProvider(tenantId, name))?.enabled).toBe(true);
  await db.knex('jwt_bearer_identity_providers').where({ id }).update({ enabled: false });
  feed.invalidate();
  expect((await store.findIdentityProvider(tenantId, name))?.enabled).toBe(false);
});

it('sees a change made through another knex (another process, a CLI) within a second', async () => {
  if (db.mode !== 'postgres') return; // one PGlite instance has one writer: this process
  const other = await openDatabase({ databaseUrl: (db.knex.client.config.connection as { connectionString: string }).connectionString });
  try {
    await store.findTenant('from-elsewhere.example');
    await other('jwt_bearer_tenants').insert({ domain: 'from-elsewhere.example' });
    const ms = await until(async () => (await store.findTenant('from-elsewhere.example')) !== null, 1000);
    expect(ms).toBeLessThan(1000);
  } finally {
    await other.destroy();
  }
});

const onPostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;

onPostgres('when the listening connection is lost', () => {
  it('distrusts the cache at once, reads through, and listens again', async () => {
    await store.findIdentityProvider(tenantId, 'cached');
    const { rows } = await db.knex.raw(
      `select pg_terminate_backend(pid) as killed from pg_stat_activity
        where datname = current_database() and application_name = 'oauth2-jwt-bearer change feed'`,
    );
    expect(rows).toEqual([{ killed: true }]);
    await until(() => !feed.trusted, 1000);

    // While untrusted every lookup is a read, so a change is seen at once, notification or not.
    statements = [];
    await db.knex('jwt_bearer_identity_providers').where({ name: 'cached' }).update({ display_name: 'during outage' });
    if (!feed.trusted) {
      expect((await store.findIdentityProvider(tenantId, 'cached'))?.displayName).toBe('during outage');
      expect(idpReads()).toBeGreaterThanOrEqual(1);
    }

    await until(() => feed.trusted, 5000);
    expect((await store.findIdentityProvider(tenantId, 'cached'))?.displayName).toBe('during outage');
    await db.knex('jwt_bearer_identity_providers').where({ name: 'cached' }).update({ display_name: 'after' });
    await until(async () => (await store.findIdentityProvider(tenantId, 'cached'))?.displayName === 'after', 1000);
  });
});

describe('a store without cache', () => {
  it('reads every time', async () => {
    const uncached = new KnexGrantStore(db.knex, { cache: false });
    await uncached.findIdentityProvider(tenantId, 'cached');
    await uncached.findIdentityProvider(tenantId, 'cached');
    expect(idpReads()).toBe(2);
  });

  it('refuses a cache option that is not true, false or an object', () => {
    expect(() => new KnexGrantStore(db.knex, { cache: 'yes' as never })).toThrow('cache must be true, false or { maxEntries }');
  });
});
