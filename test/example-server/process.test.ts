/**
 * The README's start command for real: `npm start` with TLS on, DEMO on, a temporary DATA_DIR and a
 * free port, then the WSO2 page's curl command exactly as printed, against the running process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, logLines, ROOT, spawnServer, stopServer, waitFor, type ServerProcess } from '../helpers/server-process';

const run = promisify(execFile);
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** `npm start` in its own process group, so the whole tree (npm → tsx → node) can be stopped. */
const npmStart = (env: Record<string, string>): ServerProcess => spawnServer(env, { via: 'npm' });

describe('npm start (TLS on, DEMO on) and the seed curl command', () => {
  let dataDir: string;
  let port: number;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jwt-bearer-start-'));
    port = await freePort();
  });
  afterAll(async () => {
    if (server) await stopServer(server);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts, prints a ready curl command, and that command gets a token', async () => {
    server = npmStart({ PORT: String(port), DATA_DIR: dataDir, DEMO: 'on', TLS: 'on', LOG_LEVEL: 'info' });
    await waitFor('the demo curl command', () => /^curl .+$/m.test(server!.stderr()), server);
    await waitFor('the listening log line', () => server!.stdout().includes('"event":"listening"'), server);

    const printed = /^curl .+$/m.exec(server.stderr())![0];
    const shape = new RegExp(
      `^curl -i -X POST -u ([A-Za-z0-9]+):([A-Za-z0-9]+) -k -d 'grant_type=${JWT_BEARER}&assertion=[\\w.-]+' -H 'Content-Type: application/x-www-form-urlencoded' https://localhost:${port}/oauth2/token$`,
    );
    const [, clientId, clientSecret] = shape.exec(printed) ?? [];
    expect(clientId).toBeDefined();

    const first = await run('bash', ['-c', printed]);
    expect(first.stdout).toMatch(/^HTTP\/1\.1 200 OK\r$/m);
    expect(first.stdout).toMatch(/^cache-control: no-store\r$/im);
    const body = JSON.parse(first.stdout.slice(first.stdout.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
    });

    // The WSO2 page's command with a fresh assertion from the example's `npm run mint`, exactly as written there.
    const minted = await run('npm', ['run', '--silent', 'mint', '--', '--data-dir', dataDir], { cwd: ROOT });
    const assertion = minted.stdout.trim();
    expect(assertion).toMatch(/^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    const seed = await run('curl', [
      '-i',
      '-X',
      'POST',
      '-u',
      `${clientId}:${clientSecret}`,
      '-k',
      '-d',
      `grant_type=${JWT_BEARER}&assertion=${assertion}`,
      '-H',
      'Content-Type: application/x-www-form-urlencoded',
      `https://localhost:${port}/oauth2/token`,
    ]);
    expect(seed.stdout).toMatch(/^HTTP\/1\.1 200 OK\r$/m);
    const token = JSON.parse(seed.stdout.slice(seed.stdout.indexOf('\r\n\r\n') + 4)).access_token;

    const me = await run('curl', ['-s', '-k', '-H', `Authorization: Bearer ${token}`, `https://localhost:${port}/api/me`]);
    expect(JSON.parse(me.stdout)).toMatchObject({ sub: 'admin', client_id: clientId, idp: 'jwtIDP' });
    const health = await run('curl', ['-s', '-k', `https://localhost:${port}/healthz`]);
    expect(JSON.parse(health.stdout)).toEqual({ status: 'ok', database: 'up' });

    // The development certificate and the demo key were made locally, and are kept for the next start.
    expect((await stat(join(dataDir, 'tls', 'localhost.key'))).mode & 0o077).toBe(0);
    expect((await stat(join(dataDir, 'demo', 'jwtIDP.key.pem'))).mode & 0o077).toBe(0);

    // Logs: JSON lines, one per token request, never the secret, a token or an assertion.
    await new Promise((r) => setTimeout(r, 200));
    const lines = logLines(server.stdout()).filter((l) => l.event === 'token_request');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ outcome: 'issued', tenant: 'carbon.super', issuer: 'jwtIDP', clientId });
    expect(server.stdout()).not.toContain(clientSecret);
    expect(server.stdout()).not.toContain(token);
    expect(server.stdout()).not.toContain(assertion);

    await stopServer(server);
    expect(logLines(server.stdout()).at(-1)).toMatchObject({ event: 'stopped' });
    server = undefined;
  }, 150_000);

  it('starts again on the same DATA_DIR: same certificate, no second demo, earlier data kept', async () => {
    server = npmStart({ PORT: String(port), DATA_DIR: dataDir, DEMO: 'on', TLS: 'on' });
    await waitFor('the listening log line', () => server!.stdout().includes('"event":"listening"'), server);
    expect(server.stderr()).not.toContain('Demo setup created');
    expect(server.stdout()).not.toContain('tls_certificate_created');
    const minted = await run('npm', ['run', '--silent', 'mint', '--', '--data-dir', dataDir, '--curl'], { cwd: ROOT });
    const again = await run('bash', ['-c', minted.stdout.trim()]);
    expect(again.stdout).toMatch(/^HTTP\/1\.1 200 OK\r$/m);
    await stopServer(server);
    expect(logLines(server.stdout()).at(-1)).toMatchObject({ event: 'stopped' });
    server = undefined;
  }, 150_000);
});
