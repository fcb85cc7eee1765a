import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time from /proc (Linux): of the example server's whole process tree (a cluster primary and its
 * workers share one port, and `ss` shows only the primary), of Postgres (the postmaster's tree: every
 * backend, plus what it has reaped from backends that exited), and of this process (the load generator).
 */
export const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime + cutime + cstime, in clock ticks: live CPU plus that of reaped children. */
  ticks: number;
}

function readProcs(): Map<number, ProcStat> {
  const procs = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    // After comm: [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.
    procs.set(Number(entry), {
      pid: Number(entry),
      ppid: Number(f[1]),
      comm,
      ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    });
  }
  return procs;
}

function descendants(procs: Map<number, ProcStat>, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (!procs.has(pid)) continue;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

const sumMs = (procs: Map<number, ProcStat>, pids: number[]) =>
  (pids.reduce((s, pid) => s + procs.get(pid)!.ticks, 0) * 1000) / CLOCK_TICKS_PER_SECOND;

export interface CpuSnapshot {
  /** CPU ms of the server's process tree. */
  serverMs: number;
  /** Node processes in the server's tree (1 without a cluster; primary + workers with one; tsx's esbuild helpers not counted). */
  serverProcesses: number;
  /** CPU ms of every local Postgres cluster's process tree; null when no postmaster is visible here. */
  postgresMs: number | null;
  /** CPU ms of this process (the load generator, and any minting threads). */
  selfMs: number;
}

/** The processes of the server's tree, e.g. to stop workers a primary left behind. */
export function processTree(rootPid: number): Array<{ pid: number; comm: string }> {
  const procs = readProcs();
  return descendants(procs, rootPid).map((pid) => ({ pid, comm: procs.get(pid)!.comm }));
}

const isNode = (comm: string) => comm === 'node' || comm.startsWith('node ');

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  const procs = readProcs();
  const server = descendants(procs, serverPid);
  // A postmaster: a "postgres" process whose parent is not one.
  const postmasters = [...procs.values()].filter((p) => p.comm === 'postgres' && procs.get(p.ppid)?.comm !== 'postgres');
  const self = process.cpuUsage();
  return {
    serverMs: sumMs(procs, server),
    serverProcesses: server.filter((pid) => isNode(procs.get(pid)!.comm)).length,
    postgresMs: postmasters.length === 0 ? null : postmasters.reduce((s, pm) => s + sumMs(procs, descendants(procs, pm.pid)), 0),
    selfMs: (self.user + self.system) / 1000,
  };
}

export interface CpuPerRequest {
  serverMs: number;
  postgresMs: number | null;
  loadMs: number;
  serverProcesses: number;
}

/** CPU ms per request between two snapshots. */
export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, requests: number): CpuPerRequest {
  const per = (a: number, b: number) => (requests > 0 ? (b - a) / requests : Number.NaN);
  return {
    serverMs: per(before.serverMs, after.serverMs),
    postgresMs: before.postgresMs === null || after.postgresMs === null ? null : per(before.postgresMs, after.postgresMs),
    loadMs: per(before.selfMs, after.selfMs),
    serverProcesses: Math.max(before.serverProcesses, after.serverProcesses),
  };
}
