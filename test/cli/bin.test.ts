/**
 * The package `bin` for real: `oauth2-jwt-bearer` as a process, on the embedded database under a
 * temporary DATA_DIR (the way a developer runs it after `npm ci`), with its exit codes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeSigningKey } from '../helpers/keys';
import { writeFile } from 'node:fs/promises';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'oauth2-jwt-bearer.js');

function bin(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DATABASE_URL;
  return new Promise((done) => {
    execFile('node', [BIN, ...args], { cwd: ROOT, env: childEnv, timeout: 90_000 }, (error, stdout, stderr) => {
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('oauth2-jwt-bearer (the bin, as a process)', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jwt-bearer-bin-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('prints usage with --help and exits 0', async () => {
    const res = await bin(['--help'], {});
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: oauth2-jwt-bearer \[options\] \[command\]/);
  });

  it('migrates the embedded database, adds the seed IdP and lists it', async () => {
    const key = await makeSigningKey('RS256');
    await writeFile(join(dataDir, 'wso2.crt'), key.certificatePem);
    const env = { DATA_DIR: dataDir };
    expect(await bin(['migrate'], env)).toMatchObject({
      code: 0,
      stdout: 'Migrated: 001_initial, 002_replay_namespace_and_change_feed, 003_workload_identity.\n',
    });
    expect(await bin(['migrate'], env)).toMatchObject({ code: 0, stdout: 'Database is up to date.\n' });
    const added = await bin(
      ['idp', 'add', '--name', 'jwtIDP', '--cert', join(dataDir, 'wso2.crt'), '--alias', 'https://localhost:9443/oauth2/token'],
      env,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const listed = await bin(['idp', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { name: 'jwtIDP', tenant: 'carbon.super', aliases: ['https://localhost:9443/oauth2/token'] },
    ]);
    expect(await bin(['prune'], env)).toMatchObject({ code: 0, stdout: 'Pruned 0 expired replay records.\n' });
  }, 120_000);

  it('exits non-zero with one clear sentence on an error', async () => {
    const res = await bin(['idp', 'remove', '--name', 'nobody'], { DATA_DIR: dataDir });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('error: No identity provider named "nobody" in tenant carbon.super. See: oauth2-jwt-bearer idp list\n');
    const down = await bin(['prune', '--database-url', 'postgres://nobody@127.0.0.1:1/none'], {});
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: Cannot reach .+\n$/);
    expect(down.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
