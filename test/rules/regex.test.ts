/**
 * docs/workload-identity.md "Limits": which `matches()` patterns a rule may use. cel-js runs them with
 * JavaScript's backtracking RegExp; an accepted pattern must take time linear in its input, which the
 * last test measures on the largest string an assertion can carry.
 */
import { MAX_REGEX_BRANCHES, MAX_REGEX_LENGTH, regexProblem } from '../../lib/rules/regex';

describe('accepted patterns', () => {
  it.each([
    'refs/heads/main',
    '^refs/heads/main$',
    '^refs/heads/release-[0-9]+$',
    '^[0-9]{1,20}$',
    '^repo:octo-org/[^:]+:ref:refs/heads/.*$', // [^:]+: stops at one place; .* is the one free repetition
    '^repo:octo-org/[^/]+/[^:]+:environment:prod$',
    '^refs/tags/v[^.]+\\.[^.]+\\.[0-9]+$',
    '^(main|develop)$',
    '^(ab){3}c*$', // a fixed count is one way
    '^system:serviceaccount:payments:[a-z0-9-]+$',
    'a|b|c', // tried at every offset, but without repetition
    '^a?b?c?d?', // 16 ways
    '[+*?{]', // quantifier characters in a class are characters
    'x{', // without the u flag, a literal brace
  ])('%s', (pattern) => {
    expect(regexProblem(pattern)).toBeUndefined();
  });
});

describe('refused patterns', () => {
  it.each<[string, RegExp]>([
    ['(a+)+$', /nested quantifiers/],
    ['^(a*)*$', /nested quantifiers/],
    ['^(a|aa)+$', /nested quantifiers/],
    ['^(a|b){3}$', /nested quantifiers/],
    ['^((a|b)c)*$', /nested quantifiers/],
    ['^(a?)+$', /nested quantifiers/],
    ['^(a)\\1$', /backreferences/],
    ['^(?<x>a)\\k<x>$', /backreferences/],
    ['^(?=a)a', /lookahead and lookbehind/],
    ['^(?!a)b', /lookahead and lookbehind/],
    ['^(?<=a)b', /lookahead and lookbehind/],
    ['^(?<!a)b', /lookahead and lookbehind/],
    ['a+x', /must start with \^/], // quadratic: tried at every offset
    ['refs/heads/.*', /must start with \^/],
    ['[^/]+/', /must start with \^/],
    ['^a|b+', /must start with \^ and have no top-level \|/],
    ['^.*.*x', /nothing may repeat after/],
    ['^a*a*x', /nothing may repeat after/],
    ['^v[0-9]+\\.[0-9]+$', /nothing may repeat after/],
    ['^.*[^:]+:', /nothing may repeat after/],
    ['^[^:]+:?.*x', /nothing may repeat after/], // the stop is optional: not one place
    ['^(a|a)(a|a)(a|a)(a|a)(a|a)x', /too many alternatives and optional parts \(at most 16 ways\)/],
    ['^a?a?a?a?a?aaaaa', /at most 16 ways/],
    ['^(a', /not a valid regular expression/],
    ['^a**', /not a valid regular expression/],
    [`^${'a'.repeat(MAX_REGEX_LENGTH)}`, /longer than 256 characters/],
  ])('%s', (pattern, message) => {
    expect(regexProblem(pattern)).toMatch(message);
  });
});

describe('the accepted worst cases run in linear time', () => {
  // The largest string a 16 KiB assertion can carry is about 12 000 characters (base64url takes 4/3).
  const inputs = ['a'.repeat(12_000), 'a:'.repeat(6_000), `${'ab'.repeat(6_000)}\n`];
  const worst = [
    '^.*x',
    '^a*x',
    '^[^:]+:[^:]+:[^:]+:.*x',
    '^(a|a)(a|a)(a|a)(a|a)a*x',
    '^a?a?a?a?.*x',
    '(a|a)(a|a)(a|a)(a|a)x',
    `${'a'.repeat(200)}x`,
    '^[a-z]{1,12000}x',
  ];

  it.each(worst)('%s takes well under 50 ms on each adversarial input', (pattern) => {
    expect(regexProblem(pattern)).toBeUndefined();
    for (const input of inputs) {
      new RegExp(pattern).test(input); // warm up the JIT
      const started = performance.now();
      new RegExp(pattern).test(input);
      expect(performance.now() - started).toBeLessThan(50);
    }
  });

  it(`is strict enough that the refused near misses are the slow ones (a reminder of why: ${MAX_REGEX_BRANCHES} ways, one free repetition)`, () => {
    // `a+x` is refused; on the same input it is quadratic, an order of magnitude slower than `^a+x`.
    const input = 'a'.repeat(12_000);
    const time = (pattern: string) => {
      new RegExp(pattern).test(input);
      const started = performance.now();
      for (let i = 0; i < 3; i++) new RegExp(pattern).test(input);
      return performance.now() - started;
    };
    expect(time('a+x')).toBeGreaterThan(10 * time('^a+x'));
  });
});
