/**
 * WORKERS and PRUNE_INTERVAL_SECONDS for real: the example server as a process tree (a cluster primary
 * and its workers on one port), started, probed, crashed and stopped with signals. What needs several
 * processes on one database runs on PostgreSQL only (TEST_DATABASE_URL); the configuration error and
 * the pruning of the single-process server run on either database.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { openDatabase } from '../../lib/db/connect';
import { migrate } from '../../lib/db/migrate';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { createLogger } from '../../example-server/logger';
import { startPruner } from '../../example-server/prune';
import { createBlankPostgresDatabase, createTestDatabase, type BlankPostgresDatabase, type TestDatabase } from '../helpers/database';
import {
  freePort,
  httpRequest,
  isAlive,
  killServer,
  signalServer,
  spawnServer,
  stopServer,
  waitFor,
  waitForLog,
  waitUntilListening,
  type ServerProcess,
} from '../helpers/server-process';

const ADMIN_DB_URL = process.env.TEST_DATABASE_URL;
const describeOnPostgres = ADMIN_DB_URL ? describe : describe.skip;
if (!ADMIN_DB_URL) {
  console.info('cluster.test.ts: TEST_DATABASE_URL is unset, so the WORKERS=2 tests (PostgreSQL only) are skipped.');
}
const ADMIN_TOKEN = 'cluster-test-admin-token-0123456789';
const START_TIMEOUT = 120_000;

/** One expired (an hour ago, beyond any clock margin) and one live replay record, beside any others. */
async function insertReplayRecords(knex: Knex, prefix: string): Promise<void> {
  const tenant = await knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id');
  await knex('jwt_bearer_used_assertions').insert([
    { tenant_id: tenant.id, idp_name: 'prune-test-idp', jti: `${prefix}-expired`, expires_at: new Date(Date.now() - 3600_000) },
    { tenant_id: tenant.id, idp_name: 'prune-test-idp', jti: `${prefix}-live`, expires_at: new Date(Date.now() + 3600_000) },
  ]);
}

async function replayJtis(knex: Knex, prefix: string): Promise<string[]> {
  const rows = await knex('jwt_bearer_used_assertions').where('jti', 'like', `${prefix}-%`).orderBy('jti').select('jti');
  return rows.map((r: { jti: string }) => r.jti);
}

/** A token request that fails client authentication: cheap, logged by the worker that answered it. */
async function refusedTokenRequest(base: string): Promise<void> {
  const res = await httpRequest(`${base}/oauth2/token`, { form: { grant_type: 'client_credentials' } });
  expect([400, 401]).toContain(res.status);
  expect(res.json).toMatchObject({ error: 'invalid_client' });
  expect(res.json.access_token).toBeUndefined();
}

/** Sends refused token requests (each on a new connection) until `done()` or 60 requests. */
async function requestUntil(base: string, server: ServerProcess, what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 60 && !done(); i++) {
    await refusedTokenRequest(base);
    await new Promise((r) => setTimeout(r, 25));
  }
  await waitFor(what, done, server, 5_000);
}

const tokenWorkers = (server: ServerProcess) =>
  new Set(
    server
      .logs()
      .filter((l) => l.event === 'token_request')
      .map((l) => l.worker),
  );
const liveWorkers = (server: ServerProcess) => {
  const exited = new Set(
    server
      .logs()
      .filter((l) => l.event === 'worker_exited')
      .map((l) => l.workerId),
  );
  return server.logs().filter((l) => l.event === 'worker_started' && !exited.has(l.workerId));
};

describe('WORKERS=2 without DATABASE_URL', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jwtb-cluster-pglite-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('stops at start with exit code 2 and a sentence saying why and what to set', async () => {
    const server = spawnServer({ WORKERS: '2', DATA_DIR: dataDir, TLS: 'off', PORT: String(await freePort()) });
    try {
      const { code } = await server.exited;
      expect(code).toBe(2);
      expect(server.stderr()).toContain(
        'WORKERS=2 needs DATABASE_URL: the embedded database (PGlite) runs inside one process and cannot be shared by several workers. Set DATABASE_URL to a PostgreSQL database, or WORKERS=1.',
      );
      expect(server.stdout()).not.toContain('"event":"listening"');
    } finally {
      await killServer(server);
    }
  }, 60_000);
});

describe('the replay pruner (in-process)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  }, START_TIMEOUT);
  afterAll(() => db?.close());

  it('deletes expired replay records on its interval, keeps live ones, and stops', async () => {
    let text = '';
    const logger = createLogger({ destination: new Writable({ write: (chunk, _e, cb) => ((text += chunk), cb()) }) });
    const pruner = startPruner({ store: new KnexGrantStore(db.knex), intervalSeconds: 1, logger });
    try {
      await insertReplayRecords(db.knex, 'inproc');
      const deadline = Date.now() + 15_000;
      while ((await replayJtis(db.knex, 'inproc')).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await replayJtis(db.knex, 'inproc')).toEqual(['inproc-live']);
      expect(text).toMatch(/"event":"replay_pruned","deleted":1\b/);
    } finally {
      await pruner.stop();
    }
  }, 60_000);

  it('logs a failed run and keeps going; never throws', async () => {
    const store = new KnexGrantStore(db.knex);
    await db.close(); // every query now fails
    const lines: Array<Record<string, any>> = [];
    const logger = createLogger({ destination: new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }) });
    const pruner = startPruner({ store, intervalSeconds: 1, logger });
    try {
      const deadline = Date.now() + 20_000;
      while (lines.filter((l) => l.event === 'replay_prune_failed').length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(lines.filter((l) => l.event === 'replay_prune_failed').length).toBeGreaterThanOrEqual(2);
      expect(lines.find((l) => l.event === 'replay_pruned')).toBeUndefined();
    } finally {
      await pruner.stop();
    }
  }, 60_000);

  it('does nothing with an interval of 0', async () => {
    const logger = createLogger({ level: 'silent' });
    const pruner = startPruner({
      store: { pruneUsedAssertions: () => Promise.reject(new Error('must not be called')) },
      intervalSeconds: 0,
      logger,
    });
    await pruner.stop();
  });
});

describe('WORKERS=1 prunes in its own process (PRUNE_INTERVAL_SECONDS)', () => {
  let dataDir: string;
  let blank: BlankPostgresDatabase | undefined;
  let server: ServerProcess | undefined;
  const open = () => openDatabase(blank ? { databaseUrl: blank.url } : { dataDir });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jwtb-prune-single-'));
    if (ADMIN_DB_URL) blank = await createBlankPostgresDatabase(ADMIN_DB_URL);
    // Records made before the server starts: the embedded database is locked to one process while it runs.
    const knex = await open();
    try {
      await migrate(knex);
      await insertReplayRecords(knex, 'single');
    } finally {
      await knex.destroy();
    }
  }, START_TIMEOUT);
  afterAll(async () => {
    await killServer(server);
    await blank?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'deletes the expired record, keeps the live one, and logs replay_pruned',
    async () => {
      server = spawnServer({
        WORKERS: '1',
        PRUNE_INTERVAL_SECONDS: '1',
        TLS: 'off',
        DEMO: 'off',
        ADMIN_TOKEN,
        DATA_DIR: dataDir,
        PORT: String(await freePort()),
        ...(blank ? { DATABASE_URL: blank.url } : {}),
      });
      await waitUntilListening(server, START_TIMEOUT);
      const pruned = await waitForLog(server, 'replay_pruned', (l) => l.event === 'replay_pruned', 30_000);
      expect(pruned).toMatchObject({ deleted: 1 });
      expect(pruned.role).toBeUndefined(); // no cluster: no primary, no workers
      expect(server.logs().filter((l) => l.event === 'worker_started')).toEqual([]);

      await stopServer(server, { only: true });
      expect((await server.exited).code).toBe(0);
      expect(server.logs().at(-1)).toMatchObject({ event: 'stopped' });
      server = undefined;

      const knex = await open();
      try {
        expect(await replayJtis(knex, 'single')).toEqual(['single-live']);
      } finally {
        await knex.destroy();
      }
    },
    START_TIMEOUT,
  );
});

describeOnPostgres('WORKERS=2 on PostgreSQL', () => {
  let blank: BlankPostgresDatabase;
  let dataDir: string;
  let server: ServerProcess | undefined;
  let knex: Knex;
  let base: string;

  beforeAll(async () => {
    blank = await createBlankPostgresDatabase(ADMIN_DB_URL!);
    dataDir = await mkdtemp(join(tmpdir(), 'jwtb-cluster-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawnServer({
      WORKERS: '2',
      DATABASE_URL: blank.url,
      TLS: 'off',
      PORT: String(port),
      ADMIN_TOKEN,
      DEMO: 'off',
      PRUNE_INTERVAL_SECONDS: '1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    });
    await waitUntilListening(server, START_TIMEOUT);
    knex = await openDatabase({ databaseUrl: blank.url, poolMax: 2 });
  }, START_TIMEOUT);
  afterAll(async () => {
    await killServer(server);
    await knex?.destroy();
    await blank?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('the primary migrates once, forks two workers, and logs listening once; both workers answer', async () => {
    const logs = server!.logs();
    const started = logs.filter((l) => l.event === 'worker_started');
    expect(started).toHaveLength(2);
    expect(new Set(started.map((l) => l.pid)).size).toBe(2);
    expect(started.map((l) => l.pid)).not.toContain(server!.pid);
    expect(logs.filter((l) => l.event === 'listening')).toEqual([
      expect.objectContaining({ role: 'primary', workers: 2, database: 'postgres' }),
    ]);
    // The banner goes to stderr just after the listening line: wait for it, then make sure it came once.
    await waitFor('the banner', () => server!.stderr().includes('admin API: /admin'), server!, 10_000);
    expect(server!.stderr().match(/oauth2-jwt-bearer example server on/g)).toHaveLength(1);

    await requestUntil(base, server!, 'token requests answered by two workers', () => tokenWorkers(server!).size >= 2);
    const answered = server!.logs().filter((l) => l.event === 'token_request');
    expect(answered.every((l) => l.role === 'worker' && typeof l.worker === 'number')).toBe(true);
    expect([...tokenWorkers(server!)].sort()).toEqual(started.map((l) => l.workerId).sort());

    const migrations = await knex('jwt_bearer_migrations').count({ n: '*' });
    expect(migrations).toHaveLength(1);
    expect(Number(migrations[0]!.n)).toBeGreaterThan(0);
  }, 60_000);

  it('prunes expired replay records in the primary only, keeping live ones', async () => {
    await insertReplayRecords(knex, 'cluster');
    const deadline = Date.now() + 20_000;
    while ((await replayJtis(knex, 'cluster')).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await replayJtis(knex, 'cluster')).toEqual(['cluster-live']);
    const pruned = await waitForLog(server!, 'replay_pruned', (l) => l.event === 'replay_pruned', 5_000);
    expect(pruned).toMatchObject({ role: 'primary', deleted: 1 });
    expect(
      server!
        .logs()
        .filter((l) => l.event === 'replay_pruned')
        .every((l) => l.role === 'primary'),
    ).toBe(true);
  }, 60_000);

  it('restarts a worker killed with SIGKILL, and keeps answering meanwhile', async () => {
    const workers = liveWorkers(server!);
    expect(workers).toHaveLength(2);
    const [victim, survivor] = [workers[0]!, workers[1]!];
    process.kill(victim.pid, 'SIGKILL');
    const exited = await waitForLog(server!, 'worker_exited', (l) => l.event === 'worker_exited' && l.workerId === victim.workerId, 10_000);
    expect(exited).toMatchObject({ role: 'primary', signal: 'SIGKILL', code: null });
    // The surviving worker answers while the replacement starts.
    for (let i = 0; i < 5; i++) expect((await httpRequest(`${base}/healthz`)).json).toEqual({ status: 'ok', database: 'up' });

    const restarted = await waitForLog(
      server!,
      'worker_restarted',
      (l) => l.event === 'worker_restarted' && l.replaces === victim.workerId,
      20_000,
    );
    expect(restarted.delayMs).toBeGreaterThan(0);
    const replacement = await waitForLog(
      server!,
      'the replacement listening',
      (l) => l.event === 'worker_started' && l.workerId === restarted.workerId,
      60_000,
    );
    expect(isAlive(victim.pid)).toBe(false);
    expect(isAlive(survivor.pid)).toBe(true);

    await requestUntil(base, server!, 'a token request answered by the replacement', () => tokenWorkers(server!).has(replacement.workerId));
    for (let i = 0; i < 5; i++) expect((await httpRequest(`${base}/healthz`)).status).toBe(200);
  }, 120_000);

  it('SIGTERM to the primary lets a request in flight finish, stops every worker, and the primary exits 0', async () => {
    const workers = liveWorkers(server!);
    expect(workers).toHaveLength(2);

    // A request whose body is still on its way when the signal comes: it must still get its answer.
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    await once(socket, 'connect');
    let raw = '';
    socket.setEncoding('utf8').on('data', (d) => (raw += d));
    const ended = once(socket, 'end');
    const body = 'grant_type=client_credentials';
    socket.write(
      `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    signalServer(server!, 'SIGTERM', { only: true });
    await waitForLog(server!, 'shutting_down', (l) => l.event === 'shutting_down', 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(server!.logs().filter((l) => l.event === 'stopped')).toEqual([]); // still waiting for that request
    socket.write(body.slice(5));
    await ended;
    expect(raw).toMatch(/^HTTP\/1\.1 40[01] /);
    expect(raw).toMatch(/\r\nconnection: close\r\n/i);
    expect(raw).toContain('"error":"invalid_client"');

    await stopServer(server!, { only: true, killAfterMs: 20_000 });
    expect(await server!.exited).toEqual({ code: 0, signal: null });
    for (const w of workers) expect(isAlive(w.pid)).toBe(false);

    const logs = server!.logs();
    const exits = logs.filter((l) => l.event === 'worker_exited' && workers.some((w) => w.workerId === l.workerId));
    expect(exits.map((l) => ({ code: l.code, signal: l.signal }))).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    expect(logs.filter((l) => l.event === 'shutting_down')).toHaveLength(1);
    expect(logs.filter((l) => l.event === 'worker_restarted')).toHaveLength(1); // only the SIGKILL one above
    expect(logs.at(-1)).toMatchObject({ event: 'stopped', role: 'primary', code: 0 });
    server = undefined;
  }, 60_000);
});

describeOnPostgres('WORKERS=2 through npm start, with TLS and DEMO, in a crash loop', () => {
  let blank: BlankPostgresDatabase;
  let dataDir: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    blank = await createBlankPostgresDatabase(ADMIN_DB_URL!);
    dataDir = await mkdtemp(join(tmpdir(), 'jwtb-cluster-tls-'));
  });
  afterAll(async () => {
    await killServer(server);
    await blank?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('npm start: the demo once, HTTPS from every worker with the one certificate; exit 1 after more than 5 crashes in a minute', async () => {
    const port = await freePort();
    // Through `npm start` (npm → tsx → primary → workers): the workers must re-run the TypeScript entry under tsx.
    server = spawnServer(
      { WORKERS: '2', DATABASE_URL: blank.url, TLS: 'on', PORT: String(port), DEMO: 'on', DATA_DIR: dataDir },
      { via: 'npm' },
    );
    await waitUntilListening(server, START_TIMEOUT);
    await waitFor('the demo curl command', () => /^curl .+$/m.test(server!.stderr()), server, 10_000);
    expect(server.logs().filter((l) => l.event === 'tls_certificate_created')).toEqual([expect.objectContaining({ role: 'primary' })]);
    expect(server.logs().filter((l) => l.event === 'demo_created')).toEqual([expect.objectContaining({ role: 'primary' })]);
    expect(server.stderr().match(/Demo setup created/g)).toHaveLength(1);
    // The printed curl command (random admin token, demo client) works against whichever worker takes it.
    const curl = /^curl .+$/m.exec(server.stderr())![0];
    const [, clientId, clientSecret] = / -u ([A-Za-z0-9]+):([A-Za-z0-9]+) /.exec(curl)!;
    const jwt = /assertion=([\w.-]+)'/.exec(curl)![1]!;
    const issued = await httpRequest(`https://127.0.0.1:${port}/oauth2/token`, {
      headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt },
    });
    expect(issued.status).toBe(200);
    expect(issued.json.access_token).toEqual(expect.any(String));
    const adminToken = /Authorization: Bearer ([A-Za-z0-9]+) {3}\(random/.exec(server.stderr())![1];
    for (let i = 0; i < 4; i++) {
      expect(
        (await httpRequest(`https://127.0.0.1:${port}/admin/identity-providers`, { headers: { Authorization: `Bearer ${adminToken}` } }))
          .status,
      ).toBe(200);
    }
    await requestUntil(`https://127.0.0.1:${port}`, server, 'HTTPS answers from two workers', () => tokenWorkers(server!).size >= 2);

    // Kill every worker as soon as it has started, until the primary gives up (bounded: 60 s).
    const killed = new Set<number>();
    const deadline = Date.now() + 60_000;
    while (server.child.exitCode === null && Date.now() < deadline) {
      for (const w of liveWorkers(server)) {
        if (!killed.has(w.pid)) {
          killed.add(w.pid);
          try {
            process.kill(w.pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await server.exited).toEqual({ code: 1, signal: null });
    await server.closed;
    const logs = server.logs();
    expect(logs.find((l) => l.event === 'crash_loop')).toMatchObject({ role: 'primary', crashes: 6, windowSeconds: 60 });
    // Each restart waits twice as long as the one before (restarts still pending at the end are cancelled).
    const delays = logs.filter((l) => l.event === 'worker_restarted').map((l) => l.delayMs);
    expect(delays.length).toBeGreaterThanOrEqual(3);
    expect(delays).toEqual([250, 500, 1000, 2000, 4000].slice(0, delays.length));
    expect(logs.at(-1)).toMatchObject({ event: 'stopped', code: 1 });
    for (const pid of killed) expect(isAlive(pid)).toBe(false);
    server = undefined;
  }, 180_000);
});
