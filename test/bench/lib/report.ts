import { median, ms, rate } from './stats';
import type { RunFigure } from './target';

/** Table rows of end-to-end runs, and the medians of a set of runs. */
export const RUN_HEADERS = [
  'run',
  'req/s',
  'p50 ms',
  'p99 ms',
  'ok',
  'server CPU ms/req',
  'postgres CPU ms/req',
  'loadgen CPU ms/req',
  'node procs',
];

export interface RunMedians {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  serverMs: number;
  postgresMs: number | null;
  loadMs: number;
  serverProcesses: number;
}

export function medians(runs: readonly RunFigure[]): RunMedians {
  const m = (f: (r: RunFigure) => number) => median(runs.map(f));
  const pg = runs.map((r) => r.cpu.postgresMs).filter((v): v is number => v !== null);
  return {
    perSecond: m((r) => r.perSecond),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    ok: m((r) => r.ok),
    serverMs: m((r) => r.cpu.serverMs),
    postgresMs: pg.length === runs.length ? median(pg) : null,
    loadMs: m((r) => r.cpu.loadMs),
    serverProcesses: Math.max(...runs.map((r) => r.cpu.serverProcesses)),
  };
}

export function runRow(label: string, r: RunFigure): string[] {
  return [
    label,
    rate(r.perSecond),
    ms(r.p50Ms),
    ms(r.p99Ms),
    String(r.ok),
    ms(r.cpu.serverMs),
    ms(r.cpu.postgresMs),
    ms(r.cpu.loadMs),
    String(r.cpu.serverProcesses),
  ];
}

export function medianRow(label: string, m: RunMedians): string[] {
  return [
    label,
    rate(m.perSecond),
    ms(m.p50Ms),
    ms(m.p99Ms),
    String(Math.round(m.ok)),
    ms(m.serverMs),
    ms(m.postgresMs),
    ms(m.loadMs),
    String(m.serverProcesses),
  ];
}
