/**
 * The package as others install it: `npm pack` once, then two small existing deployments that know
 * nothing of us (test/fixtures/) get the tarball installed and the README's "Adding the grant" lines.
 * Each registers an IdP with the tarball's own CLI, starts, exchanges a fresh assertion for a token
 * (RFC 7523 §2.1), uses the token at its own protected route, and has the replay refused.
 *
 * Needs the npm registry (or a warm npm cache) for the fixtures' own dependencies.
 * Database: TEST_DATABASE_URL's PostgreSQL (a database of its own per fixture) or embedded PGlite.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBlankPostgresDatabase, type BlankPostgresDatabase } from '../helpers/database';
import { makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { ROOT, readmeSnippets } from './readme-snippets';

const run = promisify(execFile);
const FIXTURES = join(ROOT, 'test', 'fixtures');
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
// The README's tokenEndpointUrl: the audience of an IdP registered without aliases.
const AUDIENCE = 'https://as.example.com/oauth2/token';
const ISSUER = 'fixture-idp';
const CLIENT = ['fixture-client', 'fixture-secret'] as const;
const INSTALL_TIMEOUT_MS = 5 * 60_000;

jest.setTimeout(INSTALL_TIMEOUT_MS);

interface Fixture {
  name: string;
  /** The README snippet its source must contain verbatim, and that source. */
  snippet: 'ts' | 'js';
  source: string;
  /** Steps after install (e.g. compiling), then the command that starts the app. */
  build?: string[];
  start: string[];
}

const FIXTURE_APPS: Fixture[] = [
  { name: 'oauth2-server-3-express-4', snippet: 'js', source: 'app.js', start: ['app.js'] },
  {
    name: 'node-oauth-5-express-5',
    snippet: 'ts',
    source: 'src/app.ts',
    build: ['node_modules/typescript/bin/tsc', '-p', '.'],
    start: ['dist/app.js'],
  },
];

let work: string;
let tarball: string;
let key: TestSigningKey;
const timings: Record<string, number> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jwtb-packaging-'));
  const started = performance.now();
  // `prepack` builds dist/ first, as it does for a publish.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>;
  if (packed.length !== 1 || !packed[0]) throw new Error(`npm pack made ${packed.length} tarballs; expected 1`);
  tarball = join(work, packed[0].filename);
  timings.pack = performance.now() - started;
  key = await makeSigningKey('RS256');
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  // Figures for the record (jest prints console output of passing tests only with --verbose; keep it short).
  process.stdout.write(
    `packaging timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}\n`,
  );
});

describe.each(FIXTURE_APPS)('fixture app $name with the packed tarball', (fixture) => {
  const dir = () => join(work, fixture.name);
  let database: BlankPostgresDatabase | undefined;
  let env: NodeJS.ProcessEnv;
  let app: ChildProcess | undefined;

  beforeAll(async () => {
    cpSync(join(FIXTURES, fixture.name), dir(), { recursive: true });
    const started = performance.now();
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
      cwd: dir(),
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    timings[`install ${fixture.name}`] = performance.now() - started;
    const adminUrl = process.env.TEST_DATABASE_URL;
    if (adminUrl) database = await createBlankPostgresDatabase(adminUrl);
    // No DATABASE_URL: the snippet's openDatabase() and the CLI both use the embedded database in ./.data.
    env = { ...process.env, PORT: '0' };
    delete env.TEST_DATABASE_URL;
    delete env.DATABASE_URL;
    delete env.DATA_DIR;
    delete env.NODE_OPTIONS;
    if (database) env.DATABASE_URL = database.url;
  });

  afterAll(async () => {
    if (app && app.exitCode === null) {
      const exited = new Promise((resolve) => app!.once('exit', resolve));
      app.kill('SIGTERM');
      await exited;
    }
    await database?.drop();
  });

  it("contains the README's lines verbatim", () => {
    expect(readFileSync(join(dir(), fixture.source), 'utf8')).toContain(readmeSnippets()[fixture.snippet]);
  });

  it('loads both entries with require and import; the main entry loads no Express', async () => {
    const probe = `
      const main = require('oauth2-jwt-bearer');
      const expressLoaded = Object.keys(require.cache).some((f) => /node_modules[\\\\/]express[\\\\/]/.test(f));
      const admin = require('oauth2-jwt-bearer/admin');
      import('oauth2-jwt-bearer').then((esm) => import('oauth2-jwt-bearer/admin').then((esmAdmin) => console.log(JSON.stringify({
        expressLoaded,
        sameGrant: esm.createJwtBearerGrant === main.createJwtBearerGrant,
        sameError: esm.JwtBearerError === main.JwtBearerError,
        esmNames: Object.keys(esm).sort().join() === Object.keys(main).sort().join(),
        admin: typeof admin.createAdminRouter === 'function' && esmAdmin.createAdminRouter === admin.createAdminRouter,
      }))));`;
    const { stdout } = await run(process.execPath, ['-e', probe], { cwd: dir(), env });
    expect(JSON.parse(stdout)).toEqual({ expressLoaded: false, sameGrant: true, sameError: true, esmNames: true, admin: true });
  });

  if (fixture.build) {
    it("the main entry's typings pull in no Express typings, though @types/express is installed here", async () => {
      const listed = async (entry: string) => {
        const file = `probe-${entry.replace(/\W/g, '-')}.mts`;
        writeFileSync(join(dir(), file), `export * from '${entry}';\n`);
        const { stdout } = await run(
          process.execPath,
          ['node_modules/typescript/bin/tsc', '--listFilesOnly', '--strict', '--module', 'node16', '--types', 'node', file],
          { cwd: dir(), env },
        );
        return stdout.split('\n').filter((f) => f.includes('/node_modules/@types/express'));
      };
      expect(await listed('oauth2-jwt-bearer')).toEqual([]);
      expect((await listed('oauth2-jwt-bearer/admin')).length).toBeGreaterThan(0);
    });
  }

  it("migrates a new database through the API with the package's shipped migrations", async () => {
    const script = `
      const { openDatabase, migrate, migrationStatus } = require('oauth2-jwt-bearer');
      (async () => {
        const knex = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: '.data' });
        try {
          const applied = await migrate(knex);
          console.log(JSON.stringify({ applied, status: await migrationStatus(knex) }));
        } finally {
          await knex.destroy();
        }
      })();`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: dir(), env });
    const { applied, status } = JSON.parse(stdout) as { applied: string[]; status: { applied: string[]; pending: string[] } };
    expect(applied.length).toBeGreaterThan(0);
    expect(status).toEqual({ applied, pending: [] });
    // The database really is the one chosen: embedded files only without a URL.
    expect(existsSync(join(dir(), '.data', 'pglite'))).toBe(database === undefined);
  });

  it('compiles (strict, no cast) and registers an IdP with the CLI from the tarball', async () => {
    if (fixture.build) await run(process.execPath, fixture.build, { cwd: dir(), env });
    writeFileSync(join(dir(), 'idp.pem'), key.certificatePem);
    const cli = async (...args: string[]) => (await run('npx', ['--no-install', 'oauth2-jwt-bearer', ...args], { cwd: dir(), env })).stdout;
    expect(await cli('migrate')).toBe('Database is up to date.\n');
    expect(await cli('idp', 'add', '--name', ISSUER, '--cert', 'idp.pem')).toContain(
      `Identity provider ${ISSUER} added to tenant carbon.super`,
    );
  });

  it('issues a token for a fresh assertion, which works at its own protected route; the replay is refused', async () => {
    const started = performance.now();
    const port = await startApp();
    timings[`start ${fixture.name}`] = performance.now() - started;
    const base = `http://127.0.0.1:${port}`;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await signAssertion(key, { iss: ISSUER, sub: 'alice', aud: AUDIENCE, iat: now, exp: now + 300, jti: randomUUID() });
    const exchange = () =>
      fetch(`${base}/oauth2/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(CLIENT.join(':')).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: GRANT_TYPE, assertion }).toString(),
      });

    const issued = await exchange();
    const token = (await issued.json()) as Record<string, unknown>;
    expect({ status: issued.status, type: token.token_type, cache: issued.headers.get('cache-control') }).toEqual({
      status: 200,
      type: 'Bearer',
      cache: 'no-store',
    });
    expect(typeof token.access_token).toBe('string');

    const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token.access_token as string}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user: { id: 'alice', sub: 'alice', idp: ISSUER, tenant: 'carbon.super' }, client: CLIENT[0] });

    const replay = await exchange();
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');

    const anonymous = await fetch(`${base}/me`);
    expect(anonymous.status).toBe(401);
  });

  /** Starts the app and resolves with the port it prints once listening. */
  function startApp(): Promise<number> {
    const child = spawn(process.execPath, fixture.start, { cwd: dir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    app = child;
    let output = '';
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${fixture.name} did not start in 60 s:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const found = /listening on (\d+)/.exec(output);
        if (found) {
          clearTimeout(timer);
          resolve(Number(found[1]));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${fixture.name} exited (${code}) before listening:\n${output}`));
      });
    });
  }
});
