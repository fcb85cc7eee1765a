/**
 * Each CLI command (example-server/README.md) against a real database, through `runCli` with the test database injected
 * and the output captured.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { runCli } from '../../lib/cli/program';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { makeSigningKey, type TestSigningKey } from '../helpers/keys';

describe('oauth2-jwt-bearer CLI commands', () => {
  let db: TestDatabase;
  let dir: string;
  let key: TestSigningKey;
  let successor: TestSigningKey;

  /** Runs the CLI; resolves to its exit code and captured output. */
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['node', 'oauth2-jwt-bearer', ...args], {
      env: {},
      cwd: dir,
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      openDatabase: async () => db.knex,
    });
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'jwt-bearer-cli-'));
    key = await makeSigningKey('RS256');
    successor = await makeSigningKey('ES256');
    await writeFile(join(dir, 'wso2.pem'), key.certificatePem);
    // keytool -export writes DER by default.
    const der = Buffer.from(key.certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''), 'base64');
    await writeFile(join(dir, 'wso2.crt'), der);
    await writeFile(join(dir, 'successor.pem'), successor.certificatePem);
    await writeFile(join(dir, 'garbage.crt'), 'not a certificate');
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('migrate: brings the database up to date, and is safe to run again', async () => {
    expect(await cli('migrate')).toEqual({ code: 0, stdout: 'Database is up to date.\n', stderr: '' });
    expect((await cli('migrate')).code).toBe(0);
  });

  it('idp add: registers the seed IdP from a DER certificate file (keytool -export) with its alias', async () => {
    const res = await cli('idp', 'add', '--name', 'jwtIDP', '--cert', 'wso2.crt', '--alias', 'https://localhost:9443/oauth2/token');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Identity provider jwtIDP added to tenant carbon.super');
    expect(res.stdout).toContain(key.thumbprint);
    const row = await db.knex('jwt_bearer_identity_providers').where({ name: 'jwtIDP' }).first();
    const certs = await db.knex('jwt_bearer_idp_certificates').where({ idp_id: row.id });
    expect(certs.map((c) => c.thumbprint)).toEqual([key.thumbprint]);
    expect(certs[0].pem.trim()).toBe(key.certificatePem.trim());
    const aliases = await db.knex('jwt_bearer_idp_aliases').where({ idp_id: row.id });
    expect(aliases.map((a) => a.alias)).toEqual(['https://localhost:9443/oauth2/token']);
  });

  it('idp add: takes PEM too, in another tenant with --tenant, and prints JSON with --json', async () => {
    const missing = await cli('idp', 'add', '--name', 'jwtIDP', '--cert', 'wso2.pem', '--tenant', 'example.com');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: Unknown tenant "example.com"\. Create it first: oauth2-jwt-bearer tenant add example.com\n$/);

    expect((await cli('tenant', 'add', 'example.com')).stdout).toBe('Tenant example.com added.\n');
    expect((await cli('tenant', 'list')).stdout).toBe('carbon.super\nexample.com\n');
    const res = await cli(
      'idp',
      'add',
      '--name',
      'jwtIDP',
      '--cert',
      'wso2.pem',
      '--alias',
      'a1',
      '--alias',
      'a2',
      '--tenant',
      'example.com',
      '--json',
    );
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({
      tenant: 'example.com',
      name: 'jwtIDP',
      aliases: ['a1', 'a2'],
      certificates: [{ thumbprint: key.thumbprint }],
    });
  });

  it('idp add: refuses clearly — a taken name, an unreadable file, no key source, a missing --name, HMAC', async () => {
    const taken = await cli('idp', 'add', '--name', 'jwtIDP', '--cert', 'wso2.pem');
    expect(taken).toMatchObject({ code: 1, stderr: 'error: An identity provider named "jwtIDP" already exists in this tenant.\n' });
    const absent = await cli('idp', 'add', '--name', 'x', '--cert', 'nope.crt');
    expect(absent).toMatchObject({ code: 1, stderr: 'error: Cannot read certificate file nope.crt: ENOENT\n' });
    const garbage = await cli('idp', 'add', '--name', 'x', '--cert', 'garbage.crt');
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/^error: garbage\.crt: certificates\[0\] is not a valid X\.509 certificate: .+\n$/);
    const noKey = await cli('idp', 'add', '--name', 'x');
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/--cert <file>.+--jwks-uri/);
    const noName = await cli('idp', 'add', '--cert', 'wso2.pem');
    expect(noName.code).toBe(1);
    expect(noName.stderr).toContain("required option '--name <issuer>' not specified");
    const hmac = await cli('idp', 'add', '--name', 'x', '--cert', 'wso2.pem', '--algorithms', 'RS256,HS256');
    expect(hmac.code).toBe(1);
    expect(hmac.stderr).toBe('error: algorithms[1]: "HS256" is a symmetric (HMAC) algorithm; only asymmetric signatures are accepted.\n');
    const http = await cli('idp', 'add', '--name', 'x', '--jwks-uri', 'http://idp.example.com/jwks');
    expect(http.code).toBe(1);
    expect(http.stderr).toContain('error: jwksUri must use https:');
    expect(await db.knex('jwt_bearer_identity_providers').where({ name: 'x' })).toEqual([]);
  });

  it('idp add / tenant add / cert add: refuse what the admin API refuses, with its sentences', async () => {
    const refused = async (...args: string[]) => {
      const res = await cli(...args);
      expect(res).toMatchObject({ code: 1, stdout: '' });
      return res.stderr;
    };
    expect(await refused('idp', 'add', '--name', 'x', '--cert', 'wso2.pem', '--alias', 'a', '--alias', 'a')).toBe(
      'error: aliases[1] repeats aliases[0].\n',
    );
    expect(await refused('idp', 'add', '--name', 'x', '--cert', 'wso2.pem', '--cert', 'wso2.crt')).toBe(
      'error: wso2.crt: certificates[1] is the same certificate as certificates[0].\n',
    );
    expect(await refused('idp', 'add', '--name', ' x', '--cert', 'wso2.pem')).toBe(
      'error: name must not begin or end with whitespace (it is compared exactly).\n',
    );
    expect(await refused('idp', 'add', '--name', 'x', '--cert', 'wso2.pem', '--algorithms', ',')).toMatch(
      /^error: algorithms must name at least one algorithm/,
    );
    expect(await refused('idp', 'add', '--name', 'x', '--cert', 'wso2.pem', '--algorithms', 'rs256')).toContain('did you mean "RS256"?');
    expect(await refused('idp', 'add', '--name', 'x', '--jwks-uri', 'https://u:p@idp.example.com/jwks')).toContain(
      'jwksUri must not carry credentials',
    );
    expect(await refused('idp', 'cert', 'add', '--name', 'jwtIDP', '--cert', 'successor.pem', '--kid', ' k')).toBe(
      'error: kid must not begin or end with whitespace (it is compared exactly).\n',
    );
    expect(await refused('tenant', 'add', 'bad-.example')).toMatch(/^error: domain must be a DNS-style name/);
    expect(await db.knex('jwt_bearer_identity_providers').where({ name: 'x' })).toEqual([]);
    expect(await db.knex('jwt_bearer_tenants').where({ domain: 'bad-.example' })).toEqual([]);
    // A JWKS URI alone is a key source, and http: is fine on any loopback address, as in the API.
    expect((await cli('idp', 'add', '--name', 'jwks-only', '--jwks-uri', 'http://127.0.0.2:8080/jwks')).code).toBe(0);
    expect((await cli('idp', 'remove', '--name', 'jwks-only')).code).toBe(0);
  });

  it('idp list: every tenant, or one; text and JSON', async () => {
    const all = await cli('idp', 'list');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(
      /^jwtIDP \(tenant carbon\.super, enabled, id [0-9a-f-]+\)\n {2}aliases: https:\/\/localhost:9443\/oauth2\/token\n {2}certificate \S+ CN=RS256 test signer \w+ \S+\.\.\S+ \(valid\)\njwtIDP \(tenant example\.com/,
    );
    const one = JSON.parse((await cli('idp', 'list', '--tenant', 'example.com', '--json')).stdout);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ tenant: 'example.com', aliases: ['a1', 'a2'] });
  });

  it('idp cert add / remove: adds a successor certificate, removes by thumbprint', async () => {
    const updatedAt = async () =>
      (
        await db
          .knex('jwt_bearer_identity_providers')
          .where({ name: 'jwtIDP' })
          .whereIn('tenant_id', db.knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).select('id'))
          .first('updated_at')
      ).updated_at as Date;
    const before = await updatedAt();
    const added = await cli('idp', 'cert', 'add', '--name', 'jwtIDP', '--cert', 'successor.pem', '--kid', 'k2');
    expect(added.code).toBe(0);
    const afterAdd = await updatedAt();
    expect(afterAdd.getTime()).toBeGreaterThan(before.getTime());
    expect(added.stdout).toContain(`Certificate ${successor.thumbprint} added to jwtIDP`);
    const dup = await cli('idp', 'cert', 'add', '--name', 'jwtIDP', '--cert', 'successor.pem');
    expect(dup).toMatchObject({ code: 1, stderr: `error: This identity provider already has the certificate ${successor.thumbprint}.\n` });
    const listed = JSON.parse((await cli('idp', 'list', '--tenant', 'carbon.super', '--json')).stdout);
    expect(listed[0].certificates.map((c: { thumbprint: string }) => c.thumbprint).sort()).toEqual(
      [key.thumbprint, successor.thumbprint].sort(),
    );

    const removed = await cli('idp', 'cert', 'remove', '--name', 'jwtIDP', '--thumbprint', key.thumbprint);
    expect(removed).toEqual({ code: 0, stdout: `Certificate ${key.thumbprint} removed from jwtIDP.\n`, stderr: '' });
    expect((await updatedAt()).getTime()).toBeGreaterThan(afterAdd.getTime());
    const again = await cli('idp', 'cert', 'remove', '--name', 'jwtIDP', '--thumbprint', key.thumbprint);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('has no certificate');
    const unknownIdp = await cli('idp', 'cert', 'add', '--name', 'nobody', '--cert', 'wso2.pem');
    expect(unknownIdp).toMatchObject({
      code: 1,
      stderr: 'error: No identity provider named "nobody" in tenant carbon.super. See: oauth2-jwt-bearer idp list\n',
    });
  });

  it('idp remove: deletes the IdP of one tenant only', async () => {
    expect(await cli('idp', 'remove', '--name', 'jwtIDP', '--tenant', 'example.com')).toEqual({
      code: 0,
      stdout: 'Identity provider jwtIDP removed from tenant example.com.\n',
      stderr: '',
    });
    expect((await cli('idp', 'remove', '--name', 'jwtIDP', '--tenant', 'example.com')).code).toBe(1);
    expect(JSON.parse((await cli('idp', 'list', '--json')).stdout).map((i: { tenant: string }) => i.tenant)).toEqual(['carbon.super']);
  });

  it('prune: deletes replay records expired longer than the 5-minute grace only', async () => {
    const idp = await db.knex('jwt_bearer_identity_providers').where({ name: 'jwtIDP' }).first();
    const record = (jti: string, offsetMs: number) => ({
      tenant_id: idp.tenant_id,
      idp_name: idp.name,
      jti,
      expires_at: new Date(Date.now() + offsetMs),
    });
    await db
      .knex('jwt_bearer_used_assertions')
      .insert([record('old-1', -3_600_000), record('old-2', -301_000), record('recent', -60_000), record('live', 600_000)]);
    expect(await cli('prune')).toEqual({ code: 0, stdout: 'Pruned 2 expired replay records.\n', stderr: '' });
    expect(await db.knex('jwt_bearer_used_assertions').orderBy('jti').pluck('jti')).toEqual(['live', 'recent']);
    expect((await cli('prune')).stdout).toBe('Pruned 0 expired replay records.\n');
  });

  it('mint: signs with --key, with sub/aud/exp/iss/claims options', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(dir, 'idp.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const res = await cli(
      'mint',
      '--key',
      'idp.key',
      '--iss',
      'myIdP',
      '--sub',
      'bob',
      '--aud',
      'https://a/token',
      '--aud',
      'wso2-IS',
      '--exp',
      '120',
      '--claim',
      'tenant=acme',
      '--claim',
      'roles=["x"]',
      '--kid',
      'k1',
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const jwt = res.stdout.trim();
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', typ: 'JWT', kid: 'k1' });
    const { payload } = await jwtVerify(jwt, createPublicKey(privateKey), { issuer: 'myIdP', audience: 'https://a/token' });
    expect(payload).toMatchObject({ sub: 'bob', aud: ['https://a/token', 'wso2-IS'], tenant: 'acme', roles: ['x'] });
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(payload.nbf).toBe(payload.iat);
    expect(typeof payload.jti).toBe('string');
  });

  it('mint: names everything explicitly (no demo defaults in the published CLI), and says what is missing', async () => {
    const none = await cli('mint');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("required option '--key <file>' not specified");
    const noAud = await cli('mint', '--key', 'idp.key', '--iss', 'myIdP', '--sub', 'bob');
    expect(noAud).toMatchObject({
      code: 1,
      stderr: 'error: --aud <audience> is required: the token endpoint URL, or an alias by which the identity provider names it.\n',
    });
    const missing = await cli('mint', '--key', 'nowhere.key', '--iss', 'myIdP', '--sub', 'bob', '--aud', 'https://a/token');
    expect(missing).toMatchObject({ code: 1, stderr: 'error: Cannot read the key file nowhere.key.\n' });
    const bad = await cli('mint', '--key', 'idp.key', '--iss', 'myIdP', '--sub', 'bob', '--aud', 'https://a/token', '--exp', 'soon');
    expect(bad).toMatchObject({ code: 1, stderr: 'error: --exp must be a positive whole number of seconds.\n' });
  });

  it('answers an unknown command or option with usage and exit code 1', async () => {
    const res = await cli('frobnicate');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("unknown command 'frobnicate'");
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const command of ['migrate', 'idp', 'mint', 'prune']) expect(help.stdout).toContain(command);
  });
});
