/**
 * The CLI while `npm start` holds the embedded database: the seed's `idp add --cert wso2.crt` (the DER
 * that `keytool -export` writes) and the other commands run inside the server (one writer per data
 * directory), and the running server accepts the new IdP at once. After the server stops, the CLI
 * opens the database itself again; where another process holds it, the CLI says so clearly.
 *
 * Always on the embedded database (that is what this is about), whatever TEST_DATABASE_URL says.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../../lib/db/connect';
import { CLI_ENDPOINT_FILE } from '../../lib/cli/endpoint-file';
import {
  freePort,
  httpRequest,
  killServer,
  ROOT,
  spawnServer,
  stopServer,
  waitForLog,
  type ServerProcess,
} from '../helpers/server-process';
import { makeSigningKey } from '../helpers/keys';
import { makeWso2Keys, type Wso2Keys } from '../console/support';
import { writeFile } from 'node:fs/promises';

jest.setTimeout(180_000);

const BIN = join(ROOT, 'bin', 'oauth2-jwt-bearer.js');
const ADMIN_TOKEN = 'cli-running-admin-token-0123456789';
const TOKEN_URL = 'https://localhost:9443/oauth2/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const NOTE = /^\(run by the example server on this data directory, process \d+\)\n$/;

let dir: string;
let wso2: Wso2Keys;
let server: ServerProcess | undefined;
let base: string;

/** The bin, in `dir` (so `--cert wso2.crt` is the seed's relative path), on the embedded database of `dir`. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir };
  delete env.DATABASE_URL;
  return new Promise((done) => {
    execFile('node', [BIN, ...args], { cwd: dir, env, timeout: 90_000 }, (error, stdout, stderr) => {
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function seedAssertion(extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return wso2.sign({ iss: 'jwtIDP', sub: 'admin', aud: [TOKEN_URL], iat: now, exp: now + 300, jti: randomUUID(), ...extra });
}

async function token(app: { clientId: string; clientSecret: string }, assertion: string) {
  return httpRequest(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}` },
    form: { grant_type: JWT_BEARER, assertion },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jwt-bearer-cli-running-'));
  wso2 = await makeWso2Keys(dir);
});
afterAll(async () => {
  await killServer(server);
  await rm(dir, { recursive: true, force: true });
});

describe('while npm start runs on the embedded database', () => {
  let app: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawnServer({
      PORT: String(port),
      TLS: 'off',
      DATA_DIR: dir,
      DEMO: 'off',
      ADMIN_TOKEN,
      TOKEN_ENDPOINT_URL: TOKEN_URL,
      LOG_LEVEL: 'info',
    });
    await waitForLog(server, 'the CLI bridge', (l) => l.event === 'cli_bridge');
    await waitForLog(server, 'the listening log line', (l) => l.event === 'listening');
    const created = await httpRequest(`${base}/admin/applications`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: { owner: 'admin', name: 'DemoApp' },
    });
    expect(created.status).toBe(201);
    app = created.json;
  });

  it('publishes its endpoint in DATA_DIR, readable by the owner only', async () => {
    const info = await stat(join(dir, CLI_ENDPOINT_FILE));
    expect(info.mode & 0o777).toBe(0o600);
    const content = JSON.parse(await readFile(join(dir, CLI_ENDPOINT_FILE), 'utf8'));
    expect(content).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
      token: expect.any(String),
      pid: server!.pid,
      since: expect.any(String),
    });
    // The endpoint takes nothing without its token.
    const anonymous = await httpRequest(`${content.url}cli`, { method: 'POST', body: { operation: 'tenant.list', input: {} } });
    expect(anonymous.status).toBe(401);
  });

  it('runs the seed’s `idp add --cert wso2.crt` in the server, which accepts the new IdP at once', async () => {
    // Before: the server does not know the issuer.
    const before = await token(app, await seedAssertion());
    expect(before.status).toBe(400);
    expect(before.json).toMatchObject({ error: 'invalid_grant' });
    expect(before.json.access_token).toBeUndefined();

    const added = await cli(['idp', 'add', '--name', 'jwtIDP', '--cert', 'wso2.crt', '--alias', TOKEN_URL]);
    expect(added.code).toBe(0);
    expect(added.stderr).toMatch(NOTE);
    expect(added.stdout).toMatch(
      /^Identity provider jwtIDP added to tenant carbon\.super \(id [0-9a-f-]{36}\)\.\n {2}aliases: https:\/\/localhost:9443\/oauth2\/token\n {2}certificate \S+ .*CN=localhost.* \(valid\)\n$/,
    );

    const after = await token(app, await seedAssertion());
    expect(after.status).toBe(200);
    expect(after.json).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer' });
  });

  it('runs the other commands too, with the same output and refusals as on a database of its own', async () => {
    expect(await cli(['tenant', 'add', 'example.com'])).toMatchObject({ code: 0, stdout: 'Tenant example.com added.\n' });
    expect(await cli(['tenant', 'add', 'example.com'])).toMatchObject({ code: 0, stdout: 'Tenant example.com already exists.\n' });
    expect(await cli(['tenant', 'list'])).toMatchObject({ code: 0, stdout: 'carbon.super\nexample.com\n' });
    const listed = await cli(['idp', 'list', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      {
        name: 'jwtIDP',
        tenant: 'carbon.super',
        aliases: [TOKEN_URL],
        certificates: [{ subject: expect.stringContaining('CN=localhost') }],
      },
    ]);

    const duplicate = await cli(['idp', 'add', '--name', 'jwtIDP', '--cert', 'wso2.crt']);
    expect(duplicate).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'error: An identity provider named "jwtIDP" already exists in this tenant.\n',
    });

    const successor = await makeSigningKey('RS256', { subject: 'CN=successor' });
    await writeFile(join(dir, 'successor.pem'), successor.certificatePem);
    const certAdded = await cli(['idp', 'cert', 'add', '--name', 'jwtIDP', '--cert', 'successor.pem']);
    expect(certAdded.code).toBe(0);
    expect(certAdded.stdout).toContain(`Certificate ${successor.thumbprint} added to jwtIDP (CN=successor, valid `);
    expect(await cli(['idp', 'cert', 'remove', '--name', 'jwtIDP', '--thumbprint', successor.thumbprint])).toMatchObject({
      code: 0,
      stdout: `Certificate ${successor.thumbprint} removed from jwtIDP.\n`,
    });
    expect(await cli(['migrate'])).toMatchObject({ code: 0, stdout: 'Database is up to date.\n' });
    expect(await cli(['prune'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Pruned \d+ expired replay records?\.\n$/) });
    expect((await cli(['idp', 'add', '--name', 'x', '--cert', 'wso2.crt', '--tenant', 'nowhere.example'])).stderr).toBe(
      'error: Unknown tenant "nowhere.example". Create it first: oauth2-jwt-bearer tenant add nowhere.example\n',
    );
  });

  it('runs `idp rule add|list|remove` in the server: a rule is in force at once, a broken one is refused with its caret', async () => {
    const added = await cli(['idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'ops-only', '--condition', "claims.sub == 'ops'"]);
    expect(added).toMatchObject({ code: 0, stdout: 'Trust rule ops-only added to jwtIDP (position 0, enforce).\n' });
    expect(added.stderr).toMatch(NOTE);
    // The walkthrough's assertion (sub "admin") no longer matches any enforced rule.
    const refused = await token(app, await seedAssertion());
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: 'invalid_grant' });
    expect(refused.json.access_token).toBeUndefined();
    const ops = await token(app, await seedAssertion({ sub: 'ops' }));
    expect(ops.status).toBe(200);

    const broken = await cli(['idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'broken', '--condition', "claims.sub == 'a' &&"]);
    expect(broken).toEqual({
      code: 1,
      stdout: '',
      stderr: "error: condition: Unexpected token: EOF at position 20.\n  claims.sub == 'a' &&\n                      ^\n",
    });
    expect((await cli(['idp', 'rule', 'list', '--idp', 'jwtIDP'])).stdout).toBe("0 ops-only (enforce)\n  condition: claims.sub == 'ops'\n");

    expect((await cli(['idp', 'rule', 'remove', '--idp', 'jwtIDP', '--name', 'ops-only'])).code).toBe(0);
    const again = await token(app, await seedAssertion());
    expect(again.status).toBe(200);
  });

  it('removes the IdP in the server: its assertions are refused at once', async () => {
    expect(await cli(['idp', 'remove', '--name', 'jwtIDP'])).toMatchObject({
      code: 0,
      stdout: 'Identity provider jwtIDP removed from tenant carbon.super.\n',
    });
    const refused = await token(app, await seedAssertion());
    expect(refused.status).toBe(400);
    expect(refused.json.access_token).toBeUndefined();
    // Back, for the next part.
    expect((await cli(['idp', 'add', '--name', 'jwtIDP', '--cert', 'wso2.crt', '--alias', TOKEN_URL])).code).toBe(0);
  });
});

describe('when the server has stopped', () => {
  it('removes the endpoint file on shutdown, and the CLI opens the database itself again', async () => {
    await stopServer(server!);
    server = undefined;
    await expect(stat(join(dir, CLI_ENDPOINT_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    const listed = await cli(['idp', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toMatch(/^jwtIDP \(tenant carbon\.super, enabled, id /);
  });

  it('says clearly what to do when another process (not a server) holds the database', async () => {
    const knex = await openDatabase({ dataDir: dir });
    try {
      const refused = await cli(['tenant', 'list']);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain(
        `error: The embedded database is in use by process ${process.pid}, which does not take CLI commands`,
      );
      expect(refused.stderr).toContain('A running example server (npm start) takes them');
    } finally {
      await knex.destroy();
    }
  });
});
