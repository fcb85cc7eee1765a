import type { TestSigningKey } from '../../helpers/keys';
import { countRows, insertExtraIdps, insertReplayRows } from '../lib/bulk';
import { alternate } from '../lib/measure';
import type { Minter } from '../lib/mint';
import type { BenchOptions } from '../lib/options';
import { medianRow, medians, RUN_HEADERS, runRow } from '../lib/report';
import { change, ratio } from '../lib/stats';
import { heading, printTable } from '../lib/table';
import { type RunFigure, Target } from '../lib/target';

/**
 * Section "growth": does the JWT grant slow down as the data grows? Two servers side by side, each with
 * its own database — a baseline and one with bulk rows — loaded in turn (A,B,A,B,A,B), so that both
 * see the same machine at the same minutes. (a) 1 IdP vs 10,000 IdPs in the tenant (requests name the
 * first); (b) an empty replay table vs 1,000,000 unexpired replay rows of the very IdP requests use.
 * Target: each costs at most 10 % of the baseline's rate.
 */
export async function growthSection(options: BenchOptions, key: TestSigningKey, minter: Minter): Promise<void> {
  heading(`growth: JWT req/s as the tables grow (WORKERS=${options.growthWorkers} per server)`);
  const verdicts: string[] = [];

  verdicts.push(
    await comparePair(options, key, minter, {
      title: `(a) IdPs in the tenant: 1 vs ${options.idps.toLocaleString('en-US')}`,
      baseline: 'idps=1',
      grown: `idps=${options.idps}`,
      grow: async (t) => {
        const took = await insertExtraIdps(t.db.url, t.idp.id, options.idps - 1, t.server.tokenUrl);
        return `inserted ${(options.idps - 1).toLocaleString('en-US')} IdPs (each with an alias) in ${(took / 1000).toFixed(1)} s`;
      },
      count: (t) =>
        countRows(t.db.url, 'jwt_bearer_identity_providers').then((n) => `${n.toLocaleString('en-US')} IdP${n === 1 ? '' : 's'}`),
    }),
  );

  verdicts.push(
    await comparePair(options, key, minter, {
      title: `(b) replay table: empty vs ${options.replayRows.toLocaleString('en-US')} rows`,
      baseline: 'replay=0',
      grown: `replay=${options.replayRows}`,
      grow: async (t) => {
        const { shape, ms } = await insertReplayRows(t.db.url, t.idp, options.replayRows);
        return `inserted ${options.replayRows.toLocaleString('en-US')} unexpired replay rows ${shape} in ${(ms / 1000).toFixed(1)} s`;
      },
      count: (t) => countRows(t.db.url, 'jwt_bearer_used_assertions').then((n) => `${n.toLocaleString('en-US')} replay rows`),
    }),
  );

  console.log('\ngrowth ratios of medians (grown / baseline JWT req/s; target ≥ 0.90):');
  console.log(verdicts.join('\n'));
}

interface Pair {
  title: string;
  baseline: string;
  grown: string;
  /** Adds the bulk rows to the second server's database; returns a note. */
  grow(target: Target): Promise<string>;
  count(target: Target): Promise<string>;
}

async function comparePair(options: BenchOptions, key: TestSigningKey, minter: Minter, pair: Pair): Promise<string> {
  const start = () => Target.start({ ...options, workers: options.growthWorkers, key, minter });
  const a = await start();
  let b: Target | undefined;
  try {
    b = await start();
    const note = await pair.grow(b);
    const grownTarget = b;
    await a.run('jwt', options.warmupS);
    await b.run('jwt', options.warmupS);
    const runs = await alternate(options.rounds, {
      base: () => a.run('jwt', options.durationS),
      grown: () => grownTarget.run('jwt', options.durationS),
    });
    const base = medians(runs.base);
    const grown = medians(runs.grown);
    console.log(`\n${pair.title}: ${note}; after the runs: ${await pair.count(a)} vs ${await pair.count(b)}`);
    const rows: string[][] = [];
    for (let i = 0; i < options.rounds; i++)
      rows.push(runRow(`${pair.baseline} #${i + 1}`, runs.base[i]!), runRow(`${pair.grown} #${i + 1}`, runs.grown[i]!)); // alternate() ran each `rounds` times
    rows.push(medianRow(`${pair.baseline} median`, base), medianRow(`${pair.grown} median`, grown));
    printTable(RUN_HEADERS, rows);
    console.log(`(${pair.baseline}: ${a.assertionNote()}; ${pair.grown}: ${b.assertionNote()})`);
    const r = ratio(grown.perSecond, base.perSecond);
    // With ±30 % drift, a median gap whose rounds overlap says little: say so next to the verdict.
    const span = (fs: RunFigure[]): [number, number] => [Math.min(...fs.map((f) => f.perSecond)), Math.max(...fs.map((f) => f.perSecond))];
    const [bLo, bHi] = span(runs.base);
    const [gLo, gHi] = span(runs.grown);
    const overlap = gLo <= bHi && bLo <= gHi ? "; the rounds of both sides overlap, so the gap is within this run's spread" : '';
    const verdict = `${Number(r) >= 0.9 ? 'within target' : 'OVER the 10 % target'}${overlap}`;
    return `  ${pair.title}: ${r} (rate ${change(grown.perSecond, base.perSecond)}, server CPU/req ${change(grown.serverMs, base.serverMs)}) — ${verdict}`;
  } finally {
    await b?.close();
    await a.close();
  }
}
