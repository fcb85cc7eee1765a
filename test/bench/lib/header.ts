import { cpus, totalmem } from 'node:os';
import type { BenchOptions } from './options';
import { postgresInfo } from './database';

/** The machine, the database and the exact command: figures mean nothing without them. */
export async function printHeader(options: BenchOptions, argv: readonly string[]): Promise<void> {
  const cores = cpus();
  const pg = await postgresInfo(options.adminUrl);
  const benchEnv = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_') || k === 'TEST_DATABASE_URL')
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const command =
    process.env.npm_lifecycle_event === 'bench'
      ? `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`
      : `${process.argv.slice(0, 2).join(' ')} ${argv.join(' ')}`.trim();
  const lines = [
    'oauth2-jwt-bearer benchmark',
    `  date:        ${new Date().toISOString()}`,
    `  command:     ${[...benchEnv, command].join(' ')}`,
    `  machine:     ${cores.length} × ${cores[0]?.model?.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${process.platform} ${process.arch}`,
    `  node:        ${process.version}`,
    `  postgres:    ${pg.version}`,
    `               synchronous_commit=${pg.synchronousCommit}`,
    `  sections:    ${options.sections.join(', ')}; ${options.rounds} alternating rounds; runs of ${options.durationS} s (warm-up ${options.warmupS} s), ${options.connections} connections`,
    `  server:      example-server/main.ts, TLS=off, HOST=127.0.0.1, LOG_LEVEL=${options.logLevel}, DEMO=off, a fresh database per server`,
  ];
  console.log(lines.join('\n'));
}
