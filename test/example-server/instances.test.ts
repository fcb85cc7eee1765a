/**
 * Three example servers (WORKERS=2 each: six processes serving, three primaries) on one PostgreSQL
 * database, as a horizontally scaled deployment runs them. What must hold across processes:
 * - replay: one assertion sent 50 times at once, spread over the servers, is accepted exactly once
 *   (RFC 7523 §3 item 7; enforced by the database, not by any process's memory);
 * - configuration: a change made through the admin API of one instance, or through the CLI, is in force
 *   on every instance and every worker within one second;
 * - an instance that loses its database connections (and with them any way of hearing about changes)
 *   is never stale for more than five seconds, and keeps answering.
 * Delays are measured and printed, never asserted beyond those contracts.
 *
 * PostgreSQL only: the embedded database belongs to one process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import { openDatabase } from '../../lib/db/connect';
import { createBlankPostgresDatabase, type BlankPostgresDatabase } from '../helpers/database';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import {
  freePort,
  httpRequest,
  killServer,
  ROOT,
  spawnServer,
  waitUntilListening,
  type HttpAnswer,
  type ServerProcess,
} from '../helpers/server-process';

const run = promisify(execFile);
const ADMIN_DB_URL = process.env.TEST_DATABASE_URL;
const describeOnPostgres = ADMIN_DB_URL ? describe : describe.skip;
if (!ADMIN_DB_URL) {
  console.info('instances.test.ts: TEST_DATABASE_URL is unset; these tests need PostgreSQL and are skipped.');
}

const ADMIN_TOKEN = 'instances-test-admin-token-0123456789';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** The audience every IdP here names the token endpoint by: the same for all three instances. */
const ALIAS = 'https://as.instances.test/oauth2/token';
const START_TIMEOUT = 180_000;
/** Probes per instance and round, each on a new connection: round-robin hands them to both workers in turn. */
const PROBES_PER_ROUND = 4;

const DESCRIPTIONS = {
  replayed: 'The assertion has already been used.',
  unknownIssuer: 'The assertion issuer is not a trusted identity provider.',
  badSignature: 'The assertion signature is invalid.',
};

interface Instance {
  name: string;
  base: string;
  server: ServerProcess;
}

type Expected = { accepted: true } | { accepted: false; description: string };

describeOnPostgres('three example servers (WORKERS=2 each) on one database', () => {
  let blank: BlankPostgresDatabase;
  let workDir: string;
  let knex: Knex;
  const instances: Instance[] = [];
  let client: { clientId: string; clientSecret: string };
  let mainIdpId: string;
  let keys: Record<'main' | 'second' | 'added' | 'cli' | 'cliSecond', TestSigningKey>;

  /** The i-th started instance (started in beforeAll, in order A, B, C). */
  function nth(i: number): Instance {
    const instance = instances[i];
    if (!instance) throw new Error(`instance #${i} has not started`);
    return instance;
  }
  const A = () => nth(0);
  const B = () => nth(1);

  async function startInstance(name: string): Promise<Instance> {
    const port = await freePort();
    const dataDir = join(workDir, name);
    const server = spawnServer({
      WORKERS: '2',
      DATABASE_URL: blank.url,
      TLS: 'off',
      PORT: String(port),
      ADMIN_TOKEN,
      DEMO: 'off',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      // Keep the replay table as the test leaves it.
      PRUNE_INTERVAL_SECONDS: '0',
    });
    const instance = { name, base: `http://127.0.0.1:${port}`, server };
    instances.push(instance);
    await waitUntilListening(server, START_TIMEOUT);
    return instance;
  }

  const admin = (instance: Instance, method: string, path: string, body?: Record<string, unknown>) =>
    httpRequest(`${instance.base}/admin${path}`, { method, headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, body });

  const assertion = (key: TestSigningKey, iss: string) => signAssertion(key, assertionClaims({ iss, sub: 'alice', aud: ALIAS }));

  const token = (instance: Instance, jwt: string) =>
    httpRequest(`${instance.base}/oauth2/token`, {
      headers: { Authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}` },
      form: { grant_type: JWT_BEARER, assertion: jwt },
    });

  const matches = (res: HttpAnswer, want: Expected) =>
    want.accepted
      ? res.status === 200 && typeof res.json?.access_token === 'string'
      : res.status === 400 &&
        res.json?.error === 'invalid_grant' &&
        res.json?.error_description === want.description &&
        res.json?.access_token === undefined;

  /** One round on one instance: {@link PROBES_PER_ROUND} fresh assertions at once, each on its own connection. */
  async function round(instance: Instance, key: TestSigningKey, iss: string): Promise<HttpAnswer[]> {
    const jwts = await Promise.all(Array.from({ length: PROBES_PER_ROUND }, () => assertion(key, iss)));
    return Promise.all(
      jwts.map((jwt) =>
        token(instance, jwt).catch((error: Error): HttpAnswer => ({ status: 0, headers: {}, text: error.message, json: undefined })),
      ),
    );
  }

  /**
   * Polls every instance in parallel, a round every 50 ms, until a whole round answers `want`; the
   * change counts as in force on an instance when such a round has ENDED within `withinMs` of `since`
   * (so the measured delay includes the probes' own time). Other answers (a 503 while pools reconnect)
   * count as "not yet". Prints each instance's delay; fails naming those that did not flip in time.
   */
  async function inForceEverywhere(
    label: string,
    key: TestSigningKey,
    iss: string,
    want: Expected,
    since: number,
    withinMs: number,
  ): Promise<void> {
    const results = await Promise.all(
      instances.map(async (instance) => {
        for (;;) {
          const answers = await round(instance, key, iss);
          const elapsed = Date.now() - since;
          const wrong = answers.find((a) => !matches(a, want));
          if (!wrong && elapsed <= withinMs) return { instance: instance.name, delayMs: elapsed };
          if (elapsed > withinMs)
            return {
              instance: instance.name,
              delayMs: undefined,
              last: wrong ? `${wrong.status} ${wrong.text}` : `flipped only after ${elapsed} ms`,
            };
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );
    console.log(
      `${label}: in force after ${results.map((r) => `${r.instance} ${r.delayMs ?? 'never'} ms`).join(', ')} (contract ${withinMs} ms)`,
    );
    expect(results.filter((r) => r.delayMs === undefined)).toEqual([]);
  }

  /** The state before a change, on every instance and worker (this also fills any cache with it). */
  async function everywhereNow(key: TestSigningKey, iss: string, want: Expected): Promise<void> {
    const answers = await Promise.all(instances.map((instance) => round(instance, key, iss)));
    const wrong = answers.flat().filter((a) => !matches(a, want));
    expect(wrong.map((a) => `${a.status} ${a.text}`)).toEqual([]);
  }

  async function cli(args: string[]): Promise<void> {
    await run(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', '--database-url', blank.url, ...args], {
      cwd: ROOT,
      timeout: 60_000,
    });
  }

  async function certificateFile(key: TestSigningKey, name: string): Promise<string> {
    const file = join(workDir, `${name}.crt`);
    await writeFile(file, key.certificatePem);
    return file;
  }

  beforeAll(async () => {
    blank = await createBlankPostgresDatabase(ADMIN_DB_URL!);
    workDir = await mkdtemp(join(tmpdir(), 'jwtb-instances-'));
    // A first (it migrates the empty database), then B and C together.
    await startInstance('A');
    await Promise.all([startInstance('B'), startInstance('C')]);
    knex = await openDatabase({ databaseUrl: blank.url, poolMax: 2 });

    keys = {
      main: await makeSigningKey('RS256'),
      second: await makeSigningKey('RS256'),
      added: await makeSigningKey('RS256'),
      cli: await makeSigningKey('RS256'),
      cliSecond: await makeSigningKey('RS256'),
    };
    const app = await admin(A(), 'POST', '/applications', { owner: 'admin', name: 'InstancesApp', keyType: 'PRODUCTION' });
    expect(app.status).toBe(201);
    client = { clientId: app.json.clientId, clientSecret: app.json.clientSecret };
    const idp = await admin(A(), 'POST', '/identity-providers', {
      name: 'idp-main',
      certificates: [keys.main.certificatePem, keys.second.certificatePem],
      aliases: [ALIAS],
    });
    expect(idp.status).toBe(201);
    mainIdpId = idp.json.id;
  }, START_TIMEOUT * 2);

  afterAll(async () => {
    await Promise.all(instances.map((i) => killServer(i.server)));
    await knex?.destroy();
    await blank?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 60_000);

  it('one assertion sent 50 times at once over the three servers is accepted exactly once', async () => {
    const jwt = await assertion(keys.main, 'idp-main');
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => token(nth(i % 3), jwt)));
    const issued = answers.filter((a) => a.status === 200);
    expect(issued).toHaveLength(1);
    expect(issued[0]!.json).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer' });
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused).toHaveLength(49);
    for (const a of refused) {
      expect(a.status).toBe(400);
      expect(a.json).toEqual({ error: 'invalid_grant', error_description: DESCRIPTIONS.replayed });
    }
    // Every instance took part, and the refusals carry the replay reason in the logs.
    await new Promise((r) => setTimeout(r, 300));
    const lines = instances.flatMap((i) => i.server.logs().filter((l) => l.event === 'token_request' && l.issuer === 'idp-main'));
    expect(lines.filter((l) => l.reason === 'jti_replayed')).toHaveLength(49);
    for (const i of instances) expect(i.server.logs().some((l) => l.event === 'token_request' && l.issuer === 'idp-main')).toBe(true);
  }, 60_000);

  it('admin API changes made through A are in force on every instance and worker within 1 s', async () => {
    // An IdP added.
    await everywhereNow(keys.added, 'idp-added', { accepted: false, description: DESCRIPTIONS.unknownIssuer });
    const created = await admin(A(), 'POST', '/identity-providers', {
      name: 'idp-added',
      certificates: [keys.added.certificatePem],
      aliases: [ALIAS],
    });
    expect(created.status).toBe(201);
    await inForceEverywhere('IdP added through A', keys.added, 'idp-added', { accepted: true }, Date.now(), 1000);

    // A certificate removed (the IdP's other certificate keeps working).
    await everywhereNow(keys.second, 'idp-main', { accepted: true });
    const idp = await admin(A(), 'GET', `/identity-providers/${mainIdpId}`);
    const cert = idp.json.certificates.find((c: { thumbprint: string }) => c.thumbprint === keys.second.thumbprint);
    expect((await admin(A(), 'DELETE', `/identity-providers/${mainIdpId}/certificates/${cert.id}`)).status).toBe(204);
    await inForceEverywhere(
      'certificate removed through A',
      keys.second,
      'idp-main',
      { accepted: false, description: DESCRIPTIONS.badSignature },
      Date.now(),
      1000,
    );
    await everywhereNow(keys.main, 'idp-main', { accepted: true });

    // An IdP disabled, enabled again, then deleted.
    const id = created.json.id;
    expect((await admin(A(), 'PATCH', `/identity-providers/${id}`, { enabled: false })).status).toBe(200);
    await inForceEverywhere(
      'IdP disabled through A',
      keys.added,
      'idp-added',
      { accepted: false, description: DESCRIPTIONS.unknownIssuer },
      Date.now(),
      1000,
    );
    expect((await admin(A(), 'PATCH', `/identity-providers/${id}`, { enabled: true })).status).toBe(200);
    await inForceEverywhere('IdP enabled again through A', keys.added, 'idp-added', { accepted: true }, Date.now(), 1000);
    expect((await admin(A(), 'DELETE', `/identity-providers/${id}`)).status).toBe(204);
    await inForceEverywhere(
      'IdP deleted through A',
      keys.added,
      'idp-added',
      { accepted: false, description: DESCRIPTIONS.unknownIssuer },
      Date.now(),
      1000,
    );
  }, 120_000);

  it('CLI changes are in force on every instance and worker within 1 s', async () => {
    await everywhereNow(keys.cli, 'idp-cli', { accepted: false, description: DESCRIPTIONS.unknownIssuer });
    await cli(['idp', 'add', '--name', 'idp-cli', '--cert', await certificateFile(keys.cli, 'cli'), '--alias', ALIAS]);
    await inForceEverywhere('IdP added by the CLI', keys.cli, 'idp-cli', { accepted: true }, Date.now(), 1000);

    await everywhereNow(keys.cliSecond, 'idp-cli', { accepted: false, description: DESCRIPTIONS.badSignature });
    await cli(['idp', 'cert', 'add', '--name', 'idp-cli', '--cert', await certificateFile(keys.cliSecond, 'cli-second')]);
    await inForceEverywhere('certificate added by the CLI', keys.cliSecond, 'idp-cli', { accepted: true }, Date.now(), 1000);

    await cli(['idp', 'cert', 'remove', '--name', 'idp-cli', '--thumbprint', keys.cliSecond.thumbprint]);
    await inForceEverywhere(
      'certificate removed by the CLI',
      keys.cliSecond,
      'idp-cli',
      { accepted: false, description: DESCRIPTIONS.badSignature },
      Date.now(),
      1000,
    );

    await everywhereNow(keys.cli, 'idp-cli', { accepted: true });
    await cli(['idp', 'remove', '--name', 'idp-cli']);
    await inForceEverywhere(
      'IdP removed by the CLI',
      keys.cli,
      'idp-cli',
      { accepted: false, description: DESCRIPTIONS.unknownIssuer },
      Date.now(),
      1000,
    );
  }, 180_000);

  it('after every server connection to the database is cut, a later change is in force everywhere within 5 s, and the servers keep answering', async () => {
    await everywhereNow(keys.main, 'idp-main', { accepted: true });
    const cut = await knex.raw(
      'select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
    // Three primaries and six workers had connections (pools, and any listener of a configuration cache).
    expect(cut.rows.length).toBeGreaterThan(0);
    // A writer that is neither the API nor the CLI: plain SQL.
    await knex('jwt_bearer_identity_providers').where({ name: 'idp-main' }).update({ enabled: false });
    await inForceEverywhere(
      'SQL change after the cut',
      keys.main,
      'idp-main',
      { accepted: false, description: DESCRIPTIONS.unknownIssuer },
      Date.now(),
      5000,
    );

    for (const instance of instances) {
      for (let i = 0; i < PROBES_PER_ROUND; i++)
        expect((await httpRequest(`${instance.base}/healthz`)).json).toEqual({ status: 'ok', database: 'up' });
    }
    // And changes through the API work again, in force within 1 s.
    expect((await admin(B(), 'PATCH', `/identity-providers/${mainIdpId}`, { enabled: true })).status).toBe(200);
    await inForceEverywhere('IdP enabled through B after the cut', keys.main, 'idp-main', { accepted: true }, Date.now(), 1000);
    for (const instance of instances) expect(instance.server.child.exitCode).toBeNull();
  }, 120_000);
});
