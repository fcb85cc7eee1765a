/**
 * The CLI's workload identity commands (README.md, example-server/README.md): `idp add --replay-policy
 * --discovery`, and `idp rule add|list|remove` against a real database, through `runCli` with the test
 * database injected. Lint warnings go to stderr and never fail a command; an expression that does not
 * compile is refused with a caret under its position, and nothing is written.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../lib/cli/program';
import { pointAt } from '../../lib/cli/trust-rules';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { sharedSigningKey } from '../helpers/keys';

const GITHUB = 'https://token.actions.githubusercontent.com';

let db: TestDatabase;
let dir: string;

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

async function rules(idpName: string): Promise<Array<Record<string, unknown>>> {
  return db
    .knex('jwt_bearer_idp_rules as r')
    .join('jwt_bearer_identity_providers as i', 'i.id', 'r.idp_id')
    .where('i.name', idpName)
    .orderBy(['r.position', 'r.name'])
    .select('r.name', 'r.condition', 'r.subject', 'r.clients', 'r.scopes', 'r.mode', 'r.position');
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'jwt-bearer-cli-rules-'));
  await writeFile(join(dir, 'idp.pem'), (await sharedSigningKey('ES256')).certificatePem);
});
afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('idp add: replay policy and discovery', () => {
  it('--discovery alone uses the issuer name; the lint warns on stderr about a shared issuer without rules', async () => {
    const res = await cli('idp', 'add', '--name', GITHUB, '--discovery');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`  discovery: ${GITHUB}/.well-known/openid-configuration\n`);
    expect(res.stderr).toBe(
      `warning: ${GITHUB} signs tokens for every GitHub customer, and this identity provider has no enforced trust rule: ` +
        'it admits all of them. Add a rule that binds claims.repository_owner_id.\n',
    );
    const row = await db.knex('jwt_bearer_identity_providers').where({ name: GITHUB }).first();
    expect(row).toMatchObject({ discovery_url: `${GITHUB}/.well-known/openid-configuration`, jwks_uri: null, replay_policy: 'once' });
  });

  it('--discovery <url> and --replay-policy reuse (the lifetime takes the one-hour cap)', async () => {
    const res = await cli(
      'idp',
      'add',
      '--name',
      'https://k8s.example.test',
      '--discovery',
      'https://k8s.example.test/.well-known/openid-configuration',
      '--replay-policy',
      'reuse',
      '--json',
    );
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(res.stdout)).toMatchObject({
      name: 'https://k8s.example.test',
      replayPolicy: 'reuse',
      discoveryUrl: 'https://k8s.example.test/.well-known/openid-configuration',
      rules: [],
      warnings: [],
    });
    const row = await db.knex('jwt_bearer_identity_providers').where({ name: 'https://k8s.example.test' }).first();
    expect(row).toMatchObject({ replay_policy: 'reuse', max_assertion_lifetime_seconds: 3600 });
  });

  it('refuses what the admin API refuses, and writes nothing', async () => {
    const before = await db.knex('jwt_bearer_identity_providers').count({ n: '*' });
    expect(await cli('idp', 'add', '--name', 'x1', '--cert', 'idp.pem', '--replay-policy', 'twice')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: replayPolicy must be "once" or "reuse".\n',
    });
    expect(await cli('idp', 'add', '--name', 'jwtIDP', '--discovery')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^error: discoveryUrl: true needs an issuer name that is an https: URL/),
    });
    expect(
      await cli('idp', 'add', '--name', 'https://x2.example.test', '--discovery', '--jwks-uri', 'https://x2.example.test/jwks'),
    ).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: discoveryUrl and jwksUri are exclusive/) });
    expect(await cli('idp', 'add', '--name', 'x3', '--discovery', 'http://x3.example.test/config')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^error: discoveryUrl must use https:/),
    });
    expect(await cli('idp', 'add', '--name', 'x4')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/--jwks-uri <https URL> or --discovery \[url\]/),
    });
    expect(await db.knex('jwt_bearer_identity_providers').count({ n: '*' })).toEqual(before);
  });
});

describe('idp rule add | list | remove', () => {
  beforeAll(async () => {
    expect((await cli('idp', 'add', '--name', 'jwtIDP', '--cert', 'idp.pem')).code).toBe(0);
  });

  it('add: stores the rule with every option; output on stdout, no warnings for an ordinary issuer', async () => {
    const res = await cli(
      'idp',
      'rule',
      'add',
      '--idp',
      'jwtIDP',
      '--name',
      'deploy',
      '--condition',
      "claims.sub == 'svc-deploy'",
      '--subject',
      "'svc:' + claims.sub",
      '--client',
      'app-1',
      '--client',
      'app-2',
      '--scope',
      'read',
      '--scope',
      'write',
    );
    expect(res).toEqual({ code: 0, stdout: 'Trust rule deploy added to jwtIDP (position 0, enforce).\n', stderr: '' });
    expect(
      (await cli('idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'watch', '--condition', 'true', '--shadow', '--position', '9')).stdout,
    ).toBe('Trust rule watch added to jwtIDP (position 9, shadow).\n');
    expect(await rules('jwtIDP')).toEqual([
      {
        name: 'deploy',
        condition: "claims.sub == 'svc-deploy'",
        subject: "'svc:' + claims.sub",
        clients: ['app-1', 'app-2'],
        scopes: ['read', 'write'],
        mode: 'enforce',
        position: 0,
      },
      { name: 'watch', condition: 'true', subject: null, clients: [], scopes: null, mode: 'shadow', position: 9 },
    ]);
  });

  it('add: an expression that does not compile is refused with its position and a caret; nothing written', async () => {
    const broken = await cli('idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'broken', '--condition', "claims.sub == 'a' &&");
    expect(broken).toEqual({
      code: 1,
      stdout: '',
      stderr: "error: condition: Unexpected token: EOF at position 20.\n  claims.sub == 'a' &&\n                      ^\n",
    });
    const subject = await cli(
      'idp',
      'rule',
      'add',
      '--idp',
      'jwtIDP',
      '--name',
      'broken',
      '--condition',
      'true',
      '--subject',
      'claims.nope + foo',
    );
    expect(subject).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: subject: Unknown variable: foo at position 14.\n  claims.nope + foo\n                ^^^\n',
    });
    expect((await rules('jwtIDP')).map((r) => r.name)).toEqual(['deploy', 'watch']);
  });

  it('add: refuses a taken name, a bad scope, a bad position, an unknown IdP or tenant', async () => {
    expect(await cli('idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'deploy', '--condition', 'true')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: This identity provider already has a trust rule named "deploy".\n',
    });
    expect((await cli('idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'n', '--condition', 'true', '--scope', 'a b')).stderr).toMatch(
      /^error: scopes\[0\] must be a scope token \(RFC 6749 §3\.3/,
    );
    expect((await cli('idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'n', '--condition', 'true', '--position', '-1')).stderr).toBe(
      'error: --position must be a whole number (0 or more).\n',
    );
    expect((await cli('idp', 'rule', 'add', '--idp', 'nobody', '--name', 'n', '--condition', 'true')).stderr).toBe(
      'error: No identity provider named "nobody" in tenant carbon.super. See: oauth2-jwt-bearer idp list\n',
    );
    expect(
      (await cli('idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'n', '--condition', 'true', '--tenant', 'nowhere.test')).stderr,
    ).toBe('error: Unknown tenant "nowhere.test". Create it first: oauth2-jwt-bearer tenant add nowhere.test\n');
    expect((await cli('idp', 'rule', 'add', '--idp', 'jwtIDP', '--name', 'n')).stderr).toContain(
      "required option '--condition <cel>' not specified",
    );
    expect((await rules('jwtIDP')).map((r) => r.name)).toEqual(['deploy', 'watch']);
  });

  it('add on a shared issuer: saved, with the lint on stderr (stdout stays JSON with --json)', async () => {
    const res = await cli(
      'idp',
      'rule',
      'add',
      '--idp',
      GITHUB,
      '--name',
      'by-name',
      '--condition',
      "claims.repository_owner == 'octo-org'",
      '--json',
    );
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ name: 'by-name', mode: 'enforce', position: 0 });
    expect(res.stderr.split('\n')).toEqual([
      expect.stringMatching(/^warning: Rule "by-name" does not bind claims\.repository_owner_id: /),
      expect.stringMatching(/^warning: Rule "by-name" binds repository_owner by name without repository_owner_id: /),
      '',
    ]);
    expect((await rules(GITHUB)).map((r) => r.name)).toEqual(['by-name']);
  });

  it('list: in evaluation order, text and JSON; warnings on stderr', async () => {
    const text = await cli('idp', 'rule', 'list', '--idp', 'jwtIDP');
    expect(text).toEqual({
      code: 0,
      stdout:
        "0 deploy (enforce)\n  condition: claims.sub == 'svc-deploy'\n  subject: 'svc:' + claims.sub\n  clients: app-1, app-2\n  scopes: read write\n" +
        '9 watch (shadow)\n  condition: true\n',
      stderr: '',
    });
    const json = await cli('idp', 'rule', 'list', '--idp', 'jwtIDP', '--json');
    expect(JSON.parse(json.stdout).map((r: { name: string }) => r.name)).toEqual(['deploy', 'watch']);
    const shared = await cli('idp', 'rule', 'list', '--idp', GITHUB);
    expect(shared.stdout).toBe("0 by-name (enforce)\n  condition: claims.repository_owner == 'octo-org'\n");
    expect(shared.stderr).toMatch(/^warning: Rule "by-name" does not bind/);
    // idp list shows the rules, and names the IdP in its warnings.
    const idps = await cli('idp', 'list');
    expect(idps.stdout).toContain('  trust rules: deploy, watch (shadow)\n');
    expect(idps.stderr).toMatch(new RegExp(`^warning: ${GITHUB.replace(/[.]/g, '\\.')} \\(tenant carbon\\.super\\): Rule "by-name"`));
  });

  it('remove: by name; an unknown name says where to look', async () => {
    expect(await cli('idp', 'rule', 'remove', '--idp', 'jwtIDP', '--name', 'watch')).toEqual({
      code: 0,
      stdout: 'Trust rule watch removed from jwtIDP.\n',
      stderr: '',
    });
    expect(await cli('idp', 'rule', 'remove', '--idp', 'jwtIDP', '--name', 'watch')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: The identity provider "jwtIDP" has no trust rule named "watch". See: oauth2-jwt-bearer idp rule list --idp jwtIDP\n',
    });
    expect((await rules('jwtIDP')).map((r) => r.name)).toEqual(['deploy']);
    expect((await cli('idp', 'rule', 'remove', '--idp', 'jwtIDP', '--name', 'deploy')).code).toBe(0);
    expect((await cli('idp', 'rule', 'list', '--idp', 'jwtIDP')).stdout).toBe(
      'No trust rules: jwtIDP admits every assertion that passes the other checks.\n',
    );
  });
});

describe('pointAt (the caret line)', () => {
  it('points at the line of a multi-line expression, and cuts a long line to a window around the position', () => {
    expect(pointAt("claims.a == 'x' &&\n  foo == 1", { start: 21, end: 24 })).toBe('    foo == 1\n    ^^^');
    const long = `claims.a == '${'x'.repeat(300)}' && foo`;
    const shown = pointAt(long, { start: long.length - 3, end: long.length });
    const [line, carets] = shown.split('\n');
    expect(line!.length).toBeLessThanOrEqual(2 + 1 + 100 + 1);
    expect(line!.startsWith('  …')).toBe(true);
    expect(line!.slice(carets!.indexOf('^'), carets!.indexOf('^') + 3)).toBe('foo');
    expect(pointAt('', { start: 0, end: 0 })).toBe('  \n  ^');
  });
});
