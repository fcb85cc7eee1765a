/**
 * A throwaway PostgreSQL cluster for fault tests: its own data directory in a temporary directory, its
 * own port on 127.0.0.1, trust authentication, no fsync. `synchronous_commit` stays on: with it off, a
 * commit already acknowledged (a token already served) is lost when the test crashes the server, which
 * is a property of that setting, not of the code under test (a process crash with fsync off loses nothing:
 * the WAL is in the OS page cache). The test starts, stops (as a crash would),
 * pauses (SIGSTOP: a database that hangs rather than refuses) and resumes it, and removes it at the end.
 *
 * The binaries are found under /usr/lib/postgresql/<version>/bin (Debian/Ubuntu), or in PG_BIN.
 * PostgreSQL refuses to run as root: as root, the binaries run as the `postgres` user via `runuser`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The directory holding initdb and pg_ctl, or `undefined` when PostgreSQL is not installed here. */
export function findPostgresBin(): string | undefined {
  const candidates = process.env.PG_BIN ? [process.env.PG_BIN] : [];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(root, v, 'bin')));
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

export interface ThrowawayCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** Starts the server and waits until it accepts connections; returns how long that took (ms). */
  start(): Promise<number>;
  /** Stops the server: `immediate` is a crash (no checkpoint, clients cut off), `fast` a clean stop. */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections and queries hang, nothing is refused. */
  pause(): Promise<void>;
  /** SIGCONT to the processes {@link pause} stopped. */
  resume(): Promise<void>;
  /** Stops the server if running and deletes its directory. */
  destroy(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound and released: another process could take it, rarely). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Creates (initdb) a cluster; it is not running until {@link ThrowawayCluster.start}. */
export async function createThrowawayCluster(bin: string): Promise<ThrowawayCluster> {
  const asRoot = userInfo().uid === 0;
  const dir = await mkdtemp(join(tmpdir(), 'jwtb-pgfault-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  /** Runs a PostgreSQL binary as a user it accepts. */
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { cwd: dir }) : run(join(bin, tool), args, { cwd: dir });

  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  let paused: number[] = [];
  let running = false;

  const processes = async (): Promise<number[]> => {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(pid)]).catch(() => ({ stdout: '' }));
    return [
      pid,
      ...stdout
        .split('\n')
        .map((l) => Number(l.trim()))
        .filter((n) => n > 0),
    ];
  };

  const cluster: ThrowawayCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      const started = performance.now();
      await pg('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'server.log'),
        '-w',
        '-t',
        '30',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=40`,
        'start',
      ]);
      running = true;
      return performance.now() - started;
    },
    async stop(mode = 'immediate') {
      if (paused.length) await cluster.resume();
      await pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
      running = false;
    },
    async pause() {
      paused = await processes();
      // Children first, so that the postmaster cannot notice them stopping and act.
      for (const pid of [...paused].reverse()) process.kill(pid, 'SIGSTOP');
    },
    async resume() {
      for (const pid of paused) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone meanwhile
        }
      }
      paused = [];
    },
    async destroy() {
      try {
        if (running) await cluster.stop('immediate');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return cluster;
}
