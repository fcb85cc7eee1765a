import type { TestSigningKey } from '../../helpers/keys';
import { alternate } from '../lib/measure';
import type { Minter } from '../lib/mint';
import type { BenchOptions } from '../lib/options';
import { medianRow, medians, RUN_HEADERS, type RunMedians, runRow } from '../lib/report';
import { ms, rate, ratio } from '../lib/stats';
import { heading, printTable } from '../lib/table';
import { Target } from '../lib/target';

/**
 * Section "e2e": the example server as a real process over HTTP, WORKERS=1 and WORKERS=2, driven by
 * autocannon; the JWT bearer grant (a fresh RS256 assertion per request) against client_credentials on
 * the same server (the host's own cheapest grant: client authentication and token storage only),
 * alternating JWT, CC, JWT, CC, JWT, CC.
 */
export async function e2eSection(options: BenchOptions, key: TestSigningKey, minter: Minter): Promise<void> {
  heading('e2e: POST /oauth2/token over HTTP, JWT bearer vs client_credentials');
  const summary: Array<{ workers: number; jwt: RunMedians; cc: RunMedians }> = [];
  for (const workers of options.e2eWorkers) {
    const target = await Target.start({ ...options, workers, key, minter });
    try {
      await target.run('jwt', options.warmupS);
      await target.run('cc', options.warmupS);
      const runs = await alternate(options.rounds, {
        jwt: () => target.run('jwt', options.durationS),
        cc: () => target.run('cc', options.durationS),
      });
      const jwt = medians(runs.jwt);
      const cc = medians(runs.cc);
      console.log(
        `\nWORKERS=${workers} (server processes seen: ${Math.max(jwt.serverProcesses, cc.serverProcesses)}), ${options.durationS} s per run, ${options.connections} connections`,
      );
      const rows: string[][] = [];
      for (let i = 0; i < options.rounds; i++) rows.push(runRow(`jwt #${i + 1}`, runs.jwt[i]!), runRow(`cc  #${i + 1}`, runs.cc[i]!)); // alternate() ran each `rounds` times
      rows.push(medianRow('jwt median', jwt), medianRow('cc  median', cc));
      printTable(RUN_HEADERS, rows);
      console.log(`(${target.assertionNote()})`);
      summary.push({ workers, jwt, cc });
    } finally {
      await target.close();
    }
  }

  console.log('\ne2e summary (medians):');
  printTable(
    [
      'WORKERS',
      'JWT req/s',
      'CC req/s',
      'JWT/CC req/s',
      'JWT p50/p99 ms',
      'CC p50/p99 ms',
      'JWT server ms/req',
      'CC server ms/req',
      'JWT/CC server CPU',
      'JWT pg ms/req',
      'CC pg ms/req',
    ],
    summary.map(({ workers, jwt, cc }) => [
      String(workers),
      rate(jwt.perSecond),
      rate(cc.perSecond),
      ratio(jwt.perSecond, cc.perSecond),
      `${ms(jwt.p50Ms)} / ${ms(jwt.p99Ms)}`,
      `${ms(cc.p50Ms)} / ${ms(cc.p99Ms)}`,
      ms(jwt.serverMs),
      ms(cc.serverMs),
      ratio(jwt.serverMs, cc.serverMs),
      ms(jwt.postgresMs),
      ms(cc.postgresMs),
    ]),
  );
  console.log('\nratios of medians:');
  for (const { workers, jwt, cc } of summary) {
    console.log(
      `  WORKERS=${workers}: JWT/client_credentials req/s ${ratio(jwt.perSecond, cc.perSecond)}, server CPU per request ${ratio(jwt.serverMs, cc.serverMs)}`,
    );
  }
  const [one, two] = summary;
  if (one && two) {
    console.log(
      `  WORKERS=2 / WORKERS=1 (separate servers, not alternated): JWT req/s ${ratio(two.jwt.perSecond, one.jwt.perSecond)}, client_credentials req/s ${ratio(two.cc.perSecond, one.cc.perSecond)}`,
    );
  }
}
