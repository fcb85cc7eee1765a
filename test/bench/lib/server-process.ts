import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deferCleanup } from './cleanup';
import { processTree } from './cpu';

/**
 * The example server as a real process (`node --import tsx example-server/main.ts`, as `npm start` runs
 * it, without the tsx CLI's extra wrapper process), on plain HTTP at 127.0.0.1 and a free port.
 */
export interface ServerOptions {
  databaseUrl: string;
  adminToken: string;
  /** WORKERS: server processes sharing the port. */
  workers: number;
  logLevel: string;
}

export interface RunningServer {
  pid: number;
  baseUrl: string;
  /** Also TOKEN_ENDPOINT_URL, and so the alias our IdPs give. */
  tokenUrl: string;
  workers: number;
  /** Node processes in the server's tree now. */
  processCount(): number;
  /** The last output lines (stdout and stderr), for a failure message. */
  output(): string;
  stop(): Promise<void>;
}

const REPO = resolve(__dirname, '../../..');
const START_TIMEOUT_MS = 90_000;

export async function startExampleServer(options: ServerOptions): Promise<RunningServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const tokenUrl = `${baseUrl}/oauth2/token`;
  // BENCH_CPU_PROF=<dir>: every server process writes a V8 CPU profile there when it exits (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'example-server/main.ts'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      TLS: 'off',
      DEMO: 'off',
      DATABASE_URL: options.databaseUrl,
      ADMIN_TOKEN: options.adminToken,
      TOKEN_ENDPOINT_URL: tokenUrl,
      LOG_LEVEL: options.logLevel,
      WORKERS: String(options.workers),
    },
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-16_384);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: { code: number | null; signal: string | null } | undefined;
  child.once('exit', (code, signal) => (exited = { code, signal }));

  let knownPids: number[] = [child.pid!];
  const processCount = () => {
    const tree = processTree(child.pid!);
    if (tree.length > 0) knownPids = tree.map((p) => p.pid);
    return tree.filter((p) => p.comm === 'node').length;
  };
  const stop = deferCleanup(() => stopTree(child, () => knownPids));

  const server: RunningServer = { pid: child.pid!, baseUrl, tokenUrl, workers: options.workers, processCount, output: () => tail, stop };
  try {
    await waitHealthy(baseUrl, () => exited);
    // With a cluster, the primary plus its workers; the port may answer before the last worker is up.
    const expected = options.workers > 1 ? options.workers + 1 : 1;
    for (let waited = 0; processCount() < expected && waited < 10_000; waited += 200) await sleep(200);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- server output ---\n${tail.trim()}`, { cause: error });
  }
  return server;
}

async function waitHealthy(baseUrl: string, exited: () => object | undefined): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`the example server exited during start-up (${JSON.stringify(exited())})`);
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`the example server did not answer /healthz within ${START_TIMEOUT_MS / 1000} s`);
}

/** SIGTERM to the server (a primary stops its workers); SIGKILL, by pid, to whatever of its tree is left after 15 s. */
async function stopTree(child: ChildProcess, pids: () => number[]): Promise<void> {
  const tree = [...new Set([child.pid!, ...processTree(child.pid!).map((p) => p.pid), ...pids()])];
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await Promise.race([once(child, 'exit'), sleep(15_000)]);
  }
  for (let waited = 0; tree.some(alive) && waited < 5_000; waited += 100) await sleep(100);
  for (const pid of tree.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}
