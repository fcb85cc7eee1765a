/**
 * What one `npm run bench` does, read from the command line and the environment. Sections come from the
 * arguments (`npm run bench -- e2e growth`) or `BENCH_SECTIONS=e2e,growth`; none or `all` runs every one.
 */
export const SECTIONS = ['verifier', 'e2e', 'growth', 'rules'] as const;
export type Section = (typeof SECTIONS)[number];

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchOptions {
  sections: Section[];
  /** Postgres to create (and drop) the benchmark's databases from. */
  adminUrl: string;
  /** Seconds of each measured load run (BENCH_DURATION, default 10). */
  durationS: number;
  /** Seconds of the unmeasured warm-up per grant and server (BENCH_WARMUP, default 5). */
  warmupS: number;
  /** A,B rounds per comparison (BENCH_ROUNDS, default 3). */
  rounds: number;
  /** autocannon connections (BENCH_CONNECTIONS, default 16). */
  connections: number;
  /** Operations per in-process measurement of the verifier section (BENCH_N, default 2000). */
  n: number;
  /** The example server's LOG_LEVEL under load (BENCH_LOG_LEVEL, default warn: no line per request). */
  logLevel: string;
  /** The least request rate the assertion pool is sized for (BENCH_MAX_RPS, default 3000): a cold warm-up under-states it. */
  maxRps: number;
  /** IdPs in the tenant for growth (a) (BENCH_IDPS, default 10000). */
  idps: number;
  /** Replay rows for growth (b) (BENCH_REPLAY_ROWS, default 1000000). */
  replayRows: number;
  /** WORKERS of the servers in the growth section (BENCH_GROWTH_WORKERS, default 1). */
  growthWorkers: number;
  /** WORKERS values of the e2e section (BENCH_WORKERS, comma-separated, default 1,2). */
  e2eWorkers: number[];
  /** Enforced trust rules of the rules section's IdP, the last one matching (BENCH_RULES, default 20). */
  rules: number;
}

export class UsageError extends Error {}

export function readOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const words = [...argv, ...(env.BENCH_SECTIONS ?? '').split(',')].map((w) => w.trim().toLowerCase()).filter(Boolean);
  const unknown = words.filter((w) => w !== 'all' && !SECTIONS.includes(w as Section));
  if (unknown.length > 0) throw new UsageError(`Unknown section(s): ${unknown.join(', ')}. Use: ${SECTIONS.join(', ')} or all.`);
  const chosen = words.length === 0 || words.includes('all') ? [...SECTIONS] : SECTIONS.filter((s) => words.includes(s));

  return {
    sections: chosen,
    adminUrl: env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || DEFAULT_ADMIN_URL,
    durationS: positive(env, 'BENCH_DURATION', 10),
    warmupS: positive(env, 'BENCH_WARMUP', 5),
    rounds: positive(env, 'BENCH_ROUNDS', 3, true),
    connections: positive(env, 'BENCH_CONNECTIONS', 16, true),
    n: positive(env, 'BENCH_N', 2000, true),
    logLevel: env.BENCH_LOG_LEVEL || 'warn',
    maxRps: positive(env, 'BENCH_MAX_RPS', 3000),
    idps: positive(env, 'BENCH_IDPS', 10_000, true),
    replayRows: positive(env, 'BENCH_REPLAY_ROWS', 1_000_000, true),
    growthWorkers: positive(env, 'BENCH_GROWTH_WORKERS', 1, true),
    e2eWorkers: workerList(env.BENCH_WORKERS),
    rules: positive(env, 'BENCH_RULES', 20, true),
  };
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, integer = false): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${name} must be a positive ${integer ? 'whole ' : ''}number; got ${JSON.stringify(raw)}.`);
  }
  return value;
}

function workerList(raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return [1, 2];
  const values = raw.split(',').map((w) => Number(w.trim()));
  if (!values.every((w) => Number.isInteger(w) && w > 0))
    throw new UsageError(`BENCH_WORKERS must be whole numbers separated by commas, e.g. 2 or 1,2; got ${JSON.stringify(raw)}.`);
  return values;
}
