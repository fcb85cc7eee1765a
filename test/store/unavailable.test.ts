/** Every database failure reaches the caller as StoreUnavailableError, promptly (docs/http.md: 503, bounded wait). */
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Knex } from 'knex';
import { openDatabase } from '../../lib/db/connect';
import { StoreUnavailableError } from '../../lib/errors';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { issuance } from './fixtures';

const adminUrl = process.env.TEST_DATABASE_URL;
const onPostgres = adminUrl ? describe : describe.skip;
const NOW = new Date('2030-01-01T00:00:00.000Z');

const METHODS = [
  'findTenant',
  'findIdentityProvider',
  'getIdentityProviderById',
  'listIdentityProviders',
  'recordIssuance',
  'undoIssuance',
  'findRefreshOrigin',
  'recordRefresh',
  'markRevoked',
  'pruneUsedAssertions',
] as const;

/** A call of each store method, with plausible arguments. */
function callOf(store: KnexGrantStore, method: (typeof METHODS)[number]): () => Promise<unknown> {
  const id = randomUUID();
  const calls: Record<(typeof METHODS)[number], () => Promise<unknown>> = {
    findTenant: () => store.findTenant('carbon.super'),
    findIdentityProvider: () => store.findIdentityProvider(id, 'jwtIDP'),
    getIdentityProviderById: () => store.getIdentityProviderById(id, id),
    listIdentityProviders: () => store.listIdentityProviders(id),
    recordIssuance: () => store.recordIssuance(issuance({ tenantId: id, idpId: id, idpName: 'jwtIDP' }), NOW),
    undoIssuance: () => store.undoIssuance(id, { tenantId: id, idpName: 'jwtIDP', replayKey: 'k' }),
    findRefreshOrigin: () => store.findRefreshOrigin('hash'),
    recordRefresh: () => store.recordRefresh(id, { accessTokenSha256: 'a', refreshTokenSha256: null, scope: null, expiresAt: NOW }),
    markRevoked: () => store.markRevoked('hash', NOW),
    pruneUsedAssertions: () => store.pruneUsedAssertions(NOW),
  };
  return calls[method];
}

/** Runs `call`, expects StoreUnavailableError; returns its cause and how long the answer took. */
async function unavailable(call: () => Promise<unknown>): Promise<{ cause: any; ms: number }> {
  const started = Date.now();
  const error = await call().then(
    () => new Error('expected StoreUnavailableError, got an answer'),
    (e: unknown) => e,
  );
  const ms = Date.now() - started;
  expect(error).toBeInstanceOf(StoreUnavailableError);
  expect((error as StoreUnavailableError).message).toBe('The database is unavailable.');
  expect((error as StoreUnavailableError).code).toBe('store_unavailable');
  return { cause: (error as StoreUnavailableError).cause, ms };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function close(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
}

describe('a PostgreSQL that is not there', () => {
  let knex: Knex;
  let store: KnexGrantStore;
  beforeAll(async () => {
    // A port nothing listens on: bind one, then free it.
    const probe = createServer();
    const port = await listen(probe);
    await close(probe, new Set());
    knex = await openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/test` });
    store = new KnexGrantStore(knex);
  });
  afterAll(() => knex?.destroy());

  it.each(METHODS)('%s answers StoreUnavailableError (ECONNREFUSED) well within 5 s', async (method) => {
    const { cause, ms } = await unavailable(callOf(store, method));
    expect(cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(ms).toBeLessThan(5000);
  });
});

describe('a server that accepts connections and never answers', () => {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  let knex: Knex;
  beforeAll(async () => {
    const port = await listen(server);
    knex = await openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/test`, acquireTimeoutMs: 500 });
  });
  afterAll(async () => {
    await knex?.destroy();
    await close(server, sockets);
  });

  it('answers StoreUnavailableError once the connect timeout passes', async () => {
    const { ms } = await unavailable(() => new KnexGrantStore(knex).findTenant('carbon.super'));
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(3000);
  });
});

describe('a database in use', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.close());

  it('answers StoreUnavailableError after a destroyed knex', async () => {
    const knex = db.mode === 'postgres' ? await openDatabase({ databaseUrl: urlOf(db.knex) }) : await openDatabase({ dataDir: ':memory:' });
    const store = new KnexGrantStore(knex);
    await knex.destroy();
    for (const method of METHODS) await unavailable(callOf(store, method));
  }, 60_000);

  it('answers StoreUnavailableError (KnexTimeoutError) when no connection frees up within acquireTimeoutMs', async () => {
    // PGlite has one connection; PostgreSQL here a pool of two. Hold them all in open transactions.
    const knex =
      db.mode === 'postgres'
        ? await openDatabase({ databaseUrl: urlOf(db.knex), poolMax: 2, acquireTimeoutMs: 400 })
        : await openDatabase({ dataDir: ':memory:', acquireTimeoutMs: 400 });
    const held = await Promise.all(Array.from({ length: db.mode === 'postgres' ? 2 : 1 }, () => knex.transaction()));
    try {
      const { cause, ms } = await unavailable(() => new KnexGrantStore(knex).findTenant('carbon.super'));
      expect(cause).toMatchObject({ name: 'KnexTimeoutError' });
      expect(ms).toBeLessThan(3000);
    } finally {
      await Promise.all(held.map((trx) => trx.rollback()));
      await knex.destroy();
    }
  }, 60_000);

  onPostgres('on PostgreSQL', () => {
    it('answers StoreUnavailableError (57014) when a statement exceeds queryTimeoutMs', async () => {
      const knex = await openDatabase({ databaseUrl: urlOf(db.knex), queryTimeoutMs: 300 });
      const blocker = await db.knex.transaction();
      try {
        await blocker.raw('lock table jwt_bearer_used_assertions in access exclusive mode');
        const started = Date.now();
        const { cause } = await unavailable(() => new KnexGrantStore(knex).pruneUsedAssertions(NOW));
        expect(cause).toMatchObject({ code: '57014' });
        expect(Date.now() - started).toBeLessThan(3000);
      } finally {
        await blocker.rollback();
        await knex.destroy();
      }
    });

    it('gives up on a server that stops answering mid-session, then recovers on a fresh connection', async () => {
      const upstream = new URL(urlOf(db.knex));
      const proxy = freezableProxy(upstream.hostname, Number(upstream.port || 5432));
      const port = await listen(proxy.server);
      const url = new URL(upstream.toString());
      url.port = String(port);
      const knex = await openDatabase({ databaseUrl: url.toString(), poolMax: 2, queryTimeoutMs: 300 });
      const store = new KnexGrantStore(knex);
      try {
        expect(await store.findTenant('carbon.super')).toMatchObject({ domain: 'carbon.super' });
        proxy.frozen = true;
        const { cause, ms } = await unavailable(() => store.findTenant('carbon.super'));
        expect(cause.message).toMatch(/ - Query read timeout$/);
        expect(ms).toBeLessThan(3000);
        proxy.frozen = false;
        // The stuck connection is discarded, not reused: answers come back at once.
        for (let i = 0; i < 3; i++) expect(await store.findTenant('carbon.super')).toMatchObject({ domain: 'carbon.super' });
      } finally {
        await knex.destroy();
        await close(proxy.server, proxy.sockets);
      }
    });
  });
});

function urlOf(knex: Knex): string {
  return (knex.client.config.connection as { connectionString: string }).connectionString;
}

/** A TCP proxy that, while `frozen`, silently drops every byte both ways (a network that went away). */
function freezableProxy(host: string, port: number) {
  const sockets = new Set<Socket>();
  const proxy = {
    frozen: false,
    sockets,
    server: createServer((client) => {
      const server = connect(port, host);
      sockets.add(client).add(server);
      client.on('data', (data) => proxy.frozen || server.write(data));
      server.on('data', (data) => proxy.frozen || client.write(data));
      for (const [a, b] of [
        [client, server],
        [server, client],
      ] as const) {
        a.on('error', () => b.destroy());
        a.on('close', () => b.destroy());
      }
    }),
  };
  return proxy;
}
