/**
 * The example server as a real process tree, for tests of start-up, signals, clustering and several
 * instances: spawned in its own process group (so the whole tree can be stopped, workers included),
 * its stdout (JSON log lines of the primary and every worker) and stderr captured, and plain HTTP
 * helpers that open a fresh connection per request (node:cluster hands out connections, not requests,
 * so only new connections spread over the workers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { resolve } from 'node:path';

export { freePort } from './pg-cluster';

export const ROOT = resolve(__dirname, '..', '..');

/** Every variable the example server reads: a test's environment never leaks into the server's. */
const SERVER_VARIABLES = [
  'PORT',
  'HOST',
  'TLS',
  'DATABASE_URL',
  'DATA_DIR',
  'ADMIN_TOKEN',
  'TOKEN_ENDPOINT_URL',
  'DEMO',
  'LOG_LEVEL',
  'WORKERS',
  'PRUNE_INTERVAL_SECONDS',
];

export interface ServerProcess {
  child: ChildProcess;
  /** The first process's pid: npm's with `via: 'npm'`, else the server's own (the cluster primary). */
  pid: number;
  stdout(): string;
  stderr(): string;
  /** The complete JSON log lines so far (a line still being written is left out). */
  logs(): Array<Record<string, any>>;
  /** The first process's exit. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when every process of the tree has closed its end of stdout/stderr (workers included). */
  closed: Promise<void>;
}

/**
 * Starts the example server: `via: 'node'` (default) runs `node --import tsx example-server/main.ts`,
 * so the test's pid is the server's; `via: 'npm'` runs `npm start --silent`, as the README says.
 */
export function spawnServer(env: Record<string, string>, options: { via?: 'node' | 'npm' } = {}): ServerProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SERVER_VARIABLES) delete childEnv[name];
  Object.assign(childEnv, env);
  const [command, args] =
    options.via === 'npm' ? ['npm', ['start', '--silent']] : [process.execPath, ['--import', 'tsx', 'example-server/main.ts']];
  const child = spawn(command, args, { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  return { child, pid: child.pid!, stdout: () => out, stderr: () => err, logs: () => logLines(out), exited, closed };
}

/** Parses JSON log lines; an unfinished last line is left for later. */
export function logLines(text: string): Array<Record<string, any>> {
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** Polls `predicate` every 100 ms; fails with the server's output if it exits first or time runs out. */
export async function waitFor(what: string, predicate: () => boolean, server: ServerProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `server exited (${server.child.exitCode ?? server.child.signalCode}) before ${what}:\n${server.stderr()}\n${server.stdout()}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${server.stderr()}\n${server.stdout()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for the first log line matching `match`, and returns it. */
export async function waitForLog(
  server: ServerProcess,
  what: string,
  match: (line: Record<string, any>) => boolean,
  timeoutMs = 90_000,
): Promise<Record<string, any>> {
  let found: Record<string, any> | undefined;
  await waitFor(what, () => (found = server.logs().find(match)) !== undefined, server, timeoutMs);
  return found!;
}

/** Waits for the `listening` log line (the primary's, once every worker listens). */
export function waitUntilListening(server: ServerProcess, timeoutMs = 90_000): Promise<Record<string, any>> {
  return waitForLog(server, 'the listening log line', (l) => l.event === 'listening', timeoutMs);
}

/** Sends `signal` to the server's process group, or with `only: true` to its first process alone. */
export function signalServer(server: ServerProcess, signal: NodeJS.Signals, options: { only?: boolean } = {}): void {
  try {
    process.kill(options.only ? server.pid : -server.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM (to the group, as a terminal's Ctrl-C reaches every process of it; or `only` the first
 * process), then waits until the whole tree is gone. Anything alive after `killAfterMs` (default 20 s)
 * is killed, so a test always ends.
 */
export async function stopServer(server: ServerProcess, options: { only?: boolean; killAfterMs?: number } = {}): Promise<void> {
  signalServer(server, 'SIGTERM', options);
  const timer = setTimeout(() => signalServer(server, 'SIGKILL'), options.killAfterMs ?? 20_000);
  try {
    await server.closed;
  } finally {
    clearTimeout(timer);
  }
}

/** For afterAll: kills whatever is left of the tree at once, and waits (at most 10 s) for it to go. */
export async function killServer(server: ServerProcess | undefined): Promise<void> {
  if (!server) return;
  signalServer(server, 'SIGKILL');
  await Promise.race([server.closed, new Promise((r) => setTimeout(r, 10_000).unref())]);
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or `undefined`. */
  json: any;
}

/**
 * One request on a new connection (no keep-alive agent), bounded by `timeoutMs` (default 10 s).
 * `https:` URLs accept the development certificate (self-signed).
 */
export function httpRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Record<string, unknown>;
    form?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise<HttpAnswer>((resolvePromise, reject) => {
    const req = transport.request(
      target,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        agent: false,
        rejectUnauthorized: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolvePromise({ status: res.statusCode!, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${req.method} ${url}: no answer within ${options.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
