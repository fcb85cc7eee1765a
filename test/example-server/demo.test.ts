/** DEMO=on: the demo application and IdP on an empty database, and `npm run mint` with the demo key. */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { bootstrapDemo, demoBanner, type DemoSetup } from '../../example-server/demo';
import { runMint } from '../../example-server/mint';
import { runCli } from '../../lib/cli/program';
import { createExampleFixture, JWT_BEARER, TOKEN_URL, type ExampleFixture } from './fixture';

describe('example server: DEMO bootstrap', () => {
  let fx: ExampleFixture;
  let dataDir: string;
  let setup: DemoSetup | null;

  beforeAll(async () => {
    fx = await createExampleFixture();
    dataDir = await mkdtemp(join(tmpdir(), 'jwt-bearer-demo-'));
    setup = await bootstrapDemo(fx.db.knex, { dataDir, tokenEndpointUrl: TOKEN_URL });
  }, 90_000); // an embedded database, an RSA key and a certificate made on a shared machine
  afterAll(async () => {
    await fx.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates admin_DemoApp_PRODUCTION and the IdP jwtIDP with the token endpoint as alias', async () => {
    expect(setup).toMatchObject({ serviceProvider: 'admin_DemoApp_PRODUCTION', issuer: 'jwtIDP', alias: TOKEN_URL });
    expect(setup!.clientId).toMatch(/^[A-Za-z0-9]{28}$/);
    const idps = await fx.admin('get', '/admin/identity-providers');
    expect(idps.status).toBe(200);
    const list = Array.isArray(idps.body) ? idps.body : (idps.body.items ?? idps.body.identityProviders);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'jwtIDP', aliases: [TOKEN_URL] });
    expect(list[0].certificates).toHaveLength(1);
  });

  it('keeps the signing key and the client file private under DATA_DIR/demo', async () => {
    expect((await stat(setup!.keyPath)).mode & 0o077).toBe(0);
    expect((await stat(setup!.clientFile)).mode & 0o077).toBe(0);
    const client = JSON.parse(await readFile(setup!.clientFile, 'utf8'));
    expect(client).toEqual({
      serviceProvider: 'admin_DemoApp_PRODUCTION',
      clientId: setup!.clientId,
      clientSecret: setup!.clientSecret,
      tokenEndpointUrl: TOKEN_URL,
      tenant: 'carbon.super',
    });
  });

  it('does nothing on a database that is no longer empty', async () => {
    expect(await bootstrapDemo(fx.db.knex, { dataDir, tokenEndpointUrl: TOKEN_URL })).toBeNull();
    const counted = await fx.db.knex('example_applications').count({ n: '*' });
    expect(counted).toHaveLength(1);
    expect(Number(counted[0]!.n)).toBe(1);
  });

  it("prints a ready curl command of the WSO2 page's shape that works", async () => {
    const text = await demoBanner(setup!);
    const curl = text.split('\n').find((l) => l.startsWith('curl '))!;
    const match =
      /^curl -i -X POST -u ([A-Za-z0-9]+):([A-Za-z0-9]+) -k -d 'grant_type=(\S+)&assertion=([\w.-]+)' -H 'Content-Type: application\/x-www-form-urlencoded' (\S+)$/.exec(
        curl,
      );
    expect(match).not.toBeNull();
    const [, id, secret, grantType, assertion, url] = match!;
    expect([id, secret, grantType, url]).toEqual([setup!.clientId, setup!.clientSecret, JWT_BEARER, TOKEN_URL]);
    const res = await request(fx.app)
      .post('/oauth2/token')
      .auth(id!, secret!)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(`grant_type=${grantType}&assertion=${assertion}`);
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });

  it('mints assertions with the demo key that the server accepts (npm run mint)', async () => {
    let stdout = '';
    const code = await runMint(['--data-dir', dataDir, '--sub', 'alice'], {
      env: {},
      cwd: process.cwd(),
      stdout: (s) => (stdout += s),
      stderr: () => undefined,
    });
    expect(code).toBe(0);
    const assertion = stdout.trim();
    const res = await fx.token(setup!, assertion);
    expect(res.status).toBe(200);
    const me = await request(fx.app).get('/api/me').set('Authorization', `Bearer ${res.body.access_token}`);
    expect(me.body).toMatchObject({ sub: 'alice', idp: 'jwtIDP' });
  });

  it('npm run mint -- --curl prints the whole command with the demo credentials', async () => {
    let stdout = '';
    const code = await runMint(['--data-dir', dataDir, '--curl'], {
      env: {},
      cwd: process.cwd(),
      stdout: (s) => (stdout += s),
      stderr: () => undefined,
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(
      new RegExp(
        `^curl -i -X POST -u ${setup!.clientId}:${setup!.clientSecret} -k -d 'grant_type=${JWT_BEARER}&assertion=[\\w.-]+' -H 'Content-Type: application/x-www-form-urlencoded' ${TOKEN_URL}\\n$`,
      ),
    );
  });

  it('npm run mint says what to do when the data directory has no demo key', async () => {
    let stderr = '';
    const empty = join(dataDir, 'nothing-here');
    const code = await runMint(['--data-dir', empty], {
      env: {},
      cwd: process.cwd(),
      stdout: () => undefined,
      stderr: (s) => (stderr += s),
    });
    expect(code).toBe(1);
    expect(stderr).toBe(
      `error: No demo key at ${join(empty, 'demo', 'jwtIDP.key.pem')}. Start the example server once with DEMO=on (and the same DATA_DIR).\n`,
    );
  });

  it('the published CLI signs with the demo key when told everything (mint --key --iss --sub --aud)', async () => {
    let stdout = '';
    const code = await runCli(
      ['node', 'oauth2-jwt-bearer', 'mint', '--key', setup!.keyPath, '--iss', 'jwtIDP', '--sub', 'carol', '--aud', TOKEN_URL],
      {
        env: {},
        cwd: process.cwd(),
        stdout: (s) => (stdout += s),
        stderr: () => undefined,
      },
    );
    expect(code).toBe(0);
    const res = await fx.token(setup!, stdout.trim());
    expect(res.status).toBe(200);
  });
});
