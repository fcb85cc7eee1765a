/** In-process measurement of one async operation, and the A,B,A,B alternation every comparison uses. */

export interface OpFigure {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `op(i)` for i = 0..n-1 with `concurrency` in flight; throughput and latency percentiles. */
export async function measure(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<OpFigure> {
  const latencies = new Float64Array(n);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies[i] = performance.now() - t;
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort();
  const at = (q: number) => latencies[Math.min(n - 1, Math.floor(q * n))] ?? Number.NaN;
  return { perSecond: (n / elapsed) * 1000, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/**
 * Runs each named measurement once per round, in the same order every round (A,B,A,B,A,B), so that a
 * drift of the machine within the run (±30 % within minutes here) hits every side alike.
 */
export async function alternate<K extends string, T>(
  rounds: number,
  runs: Record<K, (round: number) => Promise<T>>,
): Promise<Record<K, T[]>> {
  const names = Object.keys(runs) as K[];
  const out = Object.fromEntries(names.map((k) => [k, [] as T[]])) as Record<K, T[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) out[name].push(await runs[name](round));
  }
  return out;
}
