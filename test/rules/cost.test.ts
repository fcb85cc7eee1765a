/**
 * docs/workload-identity.md "Limits": with the compile-time bounds, the costliest expressions we could
 * write, on the largest claims a 16 KiB assertion can carry, evaluate in at most about a tenth of a
 * second (measured on one core: 0.1 s for a 500-node macro body over 5 700 elements; most cases a few
 * milliseconds). The comments name the bound that keeps a case there; without it, it took seconds.
 * Here each case must compile and evaluate to a verdict; its time is printed with PRINT_COST=1 (a
 * figure, not an assertion: speed is the benchmark's job, and this machine's timings drift).
 */
import { compileExpression, ruleVariables } from '../../lib/rules';
import { evaluate } from '../../lib/rules/rule-set';

/** About the most claim JSON a 16 KiB assertion carries (its payload segment is base64url, 4/3 longer). */
const MAX_CLAIMS_JSON = 12_000;
const big = 'a'.repeat(MAX_CLAIMS_JSON - 20);
const smallList = Array.from({ length: 5_700 }, () => 1); // `1,` per element
const stringList = Array.from({ length: 2_800 }, () => 'ab');
const refs = (term: string, count: number) => Array.from({ length: count }, () => term).join(' + ');
const any = (term: string, count: number) => Array.from({ length: count }, () => term).join(' || ');

const cases: Array<[string, string, Record<string, unknown>]> = [
  // Without the regex rules: `a+x` 0.1 s, `.*.*x` minutes, `(a|a)*x` forever.
  [
    'four worst accepted patterns',
    "claims.s.matches('^a?a?a?a?.*x') || claims.s.matches('^[^:]+:[^:]+:.*x') || claims.s.matches('(a|a)(a|a)(a|a)(a|a)x') || claims.s.matches('^(a|a)(a|a)(a|a)(a|a)a*x')",
    { s: big },
  ],
  // Without the + limit: 120 list concatenations took 2 s.
  ['eight list concatenations', `size(${refs('claims.l', 9)}) == 0 && 2 in (${refs('claims.l', 1)})`, { l: smallList }],
  ['eight string concatenations, sized', `(${refs('claims.s', 9)}).size() == 0`, { s: big }],
  // Without the macro body rule: a body sizing a long concatenation of outer claims took 13 s.
  ['a macro body over its element only', `claims.l.exists(x, (${refs('x', 9)}).size() == 0 || ${any('x.size() == 0', 40)})`, { l: [big] }],
  // The costliest bounded case we found: a body of ~500 nodes run for each of ~5 700 elements.
  ['a macro body of 120 comparisons over many elements', `claims.l.exists(x, ${any('x == 0', 120)})`, { l: smallList }],
  ['a macro body of sizes over many elements', `claims.l.exists(x, ${any('x.size() == 0', 40)})`, { l: stringList }],
  ['map, then join with the longest separator', "claims.l.map(x, x + x + x + x).join('--------').size() == 0", { l: stringList }],
  ['split into characters, join with the longest separator', `${any("claims.s.split('').join('--------').size() == 0", 12)}`, { s: big }],
  ['size of the largest claim, many times', any('claims.s.size() == 0', 60), { s: big }],
  ['substring search', any('claims.s.contains(claims.t)', 40), { s: 'a'.repeat(7_000), t: `${'a'.repeat(3_500)}b` }],
  // Without the depth bound: comparing two 2 800-deep arrays took 1 s (cel-js types nested values per level).
  ['nested values as deep as allowed', 'claims.d == claims.e && claims.d != claims.f', { d: nest(31), e: nest(31), f: nest(30) }],
  ['nested values deeper than allowed', 'claims.d == claims.e', { d: nest(2_800), e: nest(2_800) }],
];

function nest(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

it.each(cases)('%s: compiles, and evaluates to a verdict', (_label, source, claims) => {
  const expression = compileExpression(source, 'condition');
  const variables = ruleVariables(claims, {}, 'client-1');
  evaluate(expression, variables); // warm up
  const started = performance.now();
  const value = evaluate(expression, variables);
  const elapsed = performance.now() - started;
  expect(typeof value === 'boolean' || value instanceof Error).toBe(true);
  if (process.env.PRINT_COST) process.stdout.write(`${_label}: ${elapsed.toFixed(1)} ms\n`);
});
