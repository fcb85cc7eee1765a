import { setTimeout as sleep } from 'node:timers/promises';
import { compiledRulesOf, matchRule, type RuleVariables } from '../../../lib/rules';
import type { IdentityProviderRecord, TrustRuleRecord } from '../../../lib/types';
import type { TestSigningKey } from '../../helpers/keys';
import { IDP_DEFAULTS } from '../../helpers/records';
import { alternate } from '../lib/measure';
import type { Minter } from '../lib/mint';
import type { BenchOptions } from '../lib/options';
import { medianRow, medians, RUN_HEADERS, runRow } from '../lib/report';
import { benchRules, CI_SUBJECT, ciClaims, ruleName, setRules, tokensAdmittedBy, type BenchRule } from '../lib/rules';
import { change, median, ms, rate, ratio, us } from '../lib/stats';
import { heading, printTable } from '../lib/table';
import { type RunFigure, RunFailure, Target } from '../lib/target';

/**
 * Section "rules": what trust rules (docs/workload-identity.md) cost a token request. End to end: one
 * example server (WORKERS=1) and one IdP, whose rules are switched between none and BENCH_RULES (20)
 * enforced rules of a CI provider's usual shape (owner id and branch) of which only the last admits the
 * assertions — the worst case — alternating none, rules, none, rules, …; the same assertions (a GitHub
 * Actions token's claims) on both sides. In process: µs per request of matching those rules with
 * lib/rules `matchRule`, as the verifier does after docs/validation.md step 6. Target: the rules cost at
 * most 5 % of the request rate (ratio ≥ 0.95).
 */
export async function rulesSection(options: BenchOptions, key: TestSigningKey, minter: Minter): Promise<void> {
  const count = options.rules;
  heading(`rules: ${count} enforced trust rules (the last one matches) vs none`);
  const micro = inProcess(options);
  await endToEnd(options, key, minter, micro);
}

interface Micro {
  /** µs per request to match `count` rules (the last one admits). */
  allUs: number;
  /** µs per request to match the admitting rule alone. */
  oneUs: number;
}

/** In process: matchRule over the compiled rules, all of them vs the admitting one alone, A,B,A,B. */
function inProcess(options: BenchOptions): Micro {
  const count = options.rules;
  const rules = benchRules(count);
  const all = compiledRulesOf(idpWith(rules)).enforced;
  const one = compiledRulesOf(idpWith(rules.slice(-1))).enforced;
  // As the verifier sees them: every request's claims and header freshly parsed from its own JSON, never
  // one object over and over (measured: about 2 µs per request cheaper with 20 rules, and not what happens).
  const claimsJson = JSON.stringify({ iss: 'bench-idp', sub: CI_SUBJECT, aud: 'https://as.bench.test/oauth2/token', ...ciClaims(count) });
  const headerJson = JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'bench' });
  const requests = (k: number): RuleVariables[] =>
    Array.from({ length: k }, () => ({ claims: JSON.parse(claimsJson), header: JSON.parse(headerJson), client: { id: 'bench-client' } }));
  const expected = ruleName(count);
  const n = options.n * 10;
  const time = (set: typeof all, iterations = n) => {
    const variables = requests(iterations); // made before the clock starts
    const started = performance.now();
    for (let i = 0; i < iterations; i++) {
      // Checked every time: a benchmark of a matcher that stopped matching would measure nothing.
      if (matchRule(set, variables[i]!)?.rule.name !== expected) throw new RunFailure(`matchRule did not admit with ${expected}`);
    }
    return ((performance.now() - started) * 1000) / iterations;
  };
  // A rule that failed to compile is skipped, not evaluated: it would flatter the figure.
  if (all.some((rule) => rule.condition === null)) throw new RunFailure('a benchmark rule did not compile');
  // Warm-up: enough calls for the JIT whatever BENCH_N is.
  time(all, Math.max(n, 20_000));
  time(one, Math.max(n, 20_000));
  const figures = { all: [] as number[], one: [] as number[] };
  for (let round = 0; round < options.rounds; round++) {
    // A, B, A, B, as alternate() does for asynchronous runs.
    figures.all.push(time(all));
    figures.one.push(time(one));
  }
  const compileMs = median(
    Array.from({ length: 5 }, () => {
      const started = performance.now();
      compiledRulesOf(idpWith(rules)); // a fresh record: compiled anew, as after a configuration change
      return performance.now() - started;
    }),
  );
  const allUs = median(figures.all);
  const oneUs = median(figures.one);
  console.log(
    `\nin process (lib/rules matchRule, ${n.toLocaleString('en-US')} requests per round, each with its own parsed claims; medians of ${options.rounds}):`,
  );
  printTable(
    ['case', 'µs per request', 'rounds µs'],
    [
      [`${count} rules, the last matches`, us(allUs / 1000), figures.all.map((v) => us(v / 1000)).join(' ')],
      ['the matching rule alone', us(oneUs / 1000), figures.one.map((v) => us(v / 1000)).join(' ')],
      [`per non-matching rule`, us((allUs - oneUs) / (count - 1) / 1000), ''],
      [`compiling ${count} rules (once per configuration change)`, us(compileMs), ''],
    ],
  );
  return { allUs, oneUs };
}

function idpWith(rules: readonly BenchRule[]): IdentityProviderRecord {
  const at = new Date();
  return {
    ...IDP_DEFAULTS,
    id: 'bench',
    tenantId: 'bench',
    name: 'bench-idp',
    aliases: [],
    certificates: [],
    createdAt: at,
    updatedAt: at,
    rules: rules.map((r): TrustRuleRecord => ({
      id: r.name,
      name: r.name,
      condition: r.condition,
      subject: null,
      clients: [],
      scopes: null,
      mode: 'enforce',
      position: r.position,
      createdAt: at,
      updatedAt: at,
    })),
  };
}

async function endToEnd(options: BenchOptions, key: TestSigningKey, minter: Minter, micro: Micro): Promise<void> {
  const count = options.rules;
  const rules = benchRules(count);
  const last = ruleName(count);
  const target = await Target.start({ ...options, workers: 1, key, minter, sub: CI_SUBJECT, claims: ciClaims(count) });
  try {
    const url = target.db.url;
    const switchTo = async (on: boolean) => {
      await setRules(url, target.idp.id, on ? rules : []);
      await awaitRules(target, on);
    };
    await switchTo(false);
    await target.run('jwt', options.warmupS);
    await switchTo(true);
    await target.run('jwt', options.warmupS);

    const runs = await alternate(options.rounds, {
      none: async () => {
        await switchTo(false);
        return target.run('jwt', options.durationS);
      },
      rules: async () => {
        await switchTo(true);
        const before = await tokensAdmittedBy(url, last);
        const figure = await target.run('jwt', options.durationS);
        // Proof that every request of the run went through the rules: each token's audit row names the last
        // one. Requests still in flight when the run stops (at most one per connection) are answered after it.
        const admitted = (await tokensAdmittedBy(url, last)) - before;
        if (admitted < figure.ok || admitted > figure.ok + options.connections)
          throw new RunFailure(`${figure.ok} tokens issued with ${count} rules, but ${admitted} audited as admitted by ${last}`);
        return figure;
      },
    });
    const none = medians(runs.none);
    const withRules = medians(runs.rules);
    console.log(
      `\nend to end: WORKERS=1, ${options.durationS} s per run, ${options.connections} connections, the same IdP with 0 and ${count} rules`,
    );
    const rows: string[][] = [];
    for (let i = 0; i < options.rounds; i++)
      rows.push(runRow(`0 rules #${i + 1}`, runs.none[i]!), runRow(`${count} rules #${i + 1}`, runs.rules[i]!)); // alternate() ran each `rounds` times
    rows.push(medianRow('0 rules median', none), medianRow(`${count} rules median`, withRules));
    printTable(RUN_HEADERS, rows);
    console.log(`(${target.assertionNote()})`);

    const r = ratio(withRules.perSecond, none.perSecond);
    const span = (fs: RunFigure[]): [number, number] => [Math.min(...fs.map((f) => f.perSecond)), Math.max(...fs.map((f) => f.perSecond))];
    const [aLo, aHi] = span(runs.none);
    const [bLo, bHi] = span(runs.rules);
    const overlap = bLo <= aHi && aLo <= bHi ? '; the rounds of both sides overlap, so the gap is within this run’s spread' : '';
    console.log('\nrules summary (medians):');
    printTable(
      ['', '0 rules', `${count} rules`, `${count} / 0`],
      [
        ['req/s', rate(none.perSecond), rate(withRules.perSecond), r],
        ['p50 / p99 ms', `${ms(none.p50Ms)} / ${ms(none.p99Ms)}`, `${ms(withRules.p50Ms)} / ${ms(withRules.p99Ms)}`, ''],
        ['server CPU ms/req', ms(none.serverMs), ms(withRules.serverMs), ratio(withRules.serverMs, none.serverMs)],
        ['Postgres CPU ms/req', ms(none.postgresMs), ms(withRules.postgresMs), ''],
      ],
    );
    const share = micro.allUs / 1000 / none.serverMs;
    const bracketed = bracketedRatio(runs.none, runs.rules);
    console.log(
      `\n  req/s with ${count} rules / without: ${r} (rate ${change(withRules.perSecond, none.perSecond)}, server CPU/req ${change(withRules.serverMs, none.serverMs)}) — ` +
        `${Number(r) >= 0.95 ? 'within' : 'OVER'} the 5 % target${overlap}`,
    );
    console.log(
      `  each run with rules against the mean of the runs without on either side of it (paired in time; median of ${runs.rules.length}): ` +
        `req/s ${bracketed.rate.toFixed(2)}, server CPU/req ${bracketed.cpu.toFixed(2)}`,
    );
    console.log(
      `  in process, matching ${count} rules costs ${us(micro.allUs / 1000)} µs per request: ${(share * 100).toFixed(1)} % of the server CPU per request without rules (${ms(none.serverMs)} ms)`,
    );
  } finally {
    await target.close();
  }
}

/**
 * Each B run over the mean of the A runs just before and just after it (the last B has only the one
 * before): a ratio of neighbours in time, so a machine that drifts between rounds moves both sides of it.
 * Medians of those ratios, for req/s and for server CPU per request.
 */
function bracketedRatio(a: readonly RunFigure[], b: readonly RunFigure[]): { rate: number; cpu: number } {
  const pairs = b.map((run, i) => {
    const sides = [a[i], a[i + 1]].filter((x): x is RunFigure => x !== undefined);
    const mean = (f: (r: RunFigure) => number) => sides.reduce((sum, r) => sum + f(r), 0) / sides.length;
    return { rate: run.perSecond / mean((r) => r.perSecond), cpu: run.cpu.serverMs / mean((r) => r.cpu.serverMs) };
  });
  return { rate: median(pairs.map((p) => p.rate)), cpu: median(pairs.map((p) => p.cpu)) };
}

/**
 * Waits until the server answers as its rules now say (the change reaches it through the configuration
 * cache's change feed): with rules, an assertion of an owner no rule names is refused; without, issued.
 */
async function awaitRules(target: Target, on: boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await target.exchange({ repository_owner_id: 'no-such-owner' });
    if (on ? res.status === 400 && (res.body as { error?: string }).error === 'invalid_grant' : res.status === 200) return;
    if (Date.now() > deadline)
      throw new RunFailure(
        `the server did not take up the rule change (${on ? 'rules on' : 'rules off'}): ${res.status} ${JSON.stringify(res.body)}`,
      );
    await sleep(50);
  }
}
