/**
 * `npm run bench [-- verifier|e2e|growth|rules|all ...]`: what the JWT bearer grant costs, as figures and as
 * ratios to what it stands on, all measured in one run because the machines here drift ±30 % within
 * minutes. A script, not a test: `.ci/run` does not run it. Every comparison alternates its sides
 * (A,B,A,B,A,B) and reports medians; any failed request makes the run exit non-zero.
 *
 * Postgres: BENCH_DATABASE_URL or TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) is
 * the admin URL from which each server's fresh database is created and then dropped.
 * Knobs (environment): BENCH_DURATION (s, default 10), BENCH_WARMUP (5), BENCH_ROUNDS (3),
 * BENCH_CONNECTIONS (16), BENCH_N (2000, verifier ops per round), BENCH_LOG_LEVEL (warn), BENCH_MAX_RPS
 * (3000, sizes the first assertion pool), BENCH_IDPS (10000), BENCH_REPLAY_ROWS (1000000),
 * BENCH_GROWTH_WORKERS (1), BENCH_RULES (20, the rules section's enforced rules), BENCH_SECTIONS (comma list,
 * like the arguments).
 */
import { makeSigningKey } from '../helpers/keys';
import { cleanupAll, cleanupOnSignals } from './lib/cleanup';
import { printHeader } from './lib/header';
import { Minter } from './lib/mint';
import { readOptions, UsageError } from './lib/options';
import { RunFailure } from './lib/target';
import { e2eSection } from './sections/e2e';
import { growthSection } from './sections/growth';
import { rulesSection } from './sections/rules';
import { verifierSection } from './sections/verifier';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = readOptions(argv, process.env);
  cleanupOnSignals();
  await printHeader(options, argv);

  let minter: Minter | undefined;
  try {
    if (options.sections.includes('verifier')) await verifierSection(options);
    if (options.sections.some((s) => s !== 'verifier')) {
      minter = new Minter();
      const key = await makeSigningKey('RS256', { kid: 'bench' });
      if (options.sections.includes('e2e')) await e2eSection(options, key, minter);
      if (options.sections.includes('growth')) await growthSection(options, key, minter);
      if (options.sections.includes('rules')) await rulesSection(options, key, minter);
    }
  } finally {
    await minter?.close();
    await cleanupAll();
  }
  const http = options.sections.some((s) => s !== 'verifier');
  console.log(`\nbench: done${http ? '; every HTTP request answered 200 with an access token' : ''}.`);
}

main().then(
  () => process.exit(0),
  (error) => {
    const known = error instanceof UsageError || error instanceof RunFailure;
    console.error(`\nbench FAILED: ${known ? error.message : ((error as Error)?.stack ?? String(error))}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
