/**
 * docs/workload-identity.md "Evaluation": which rule admits an assertion (first match by position, then
 * name), clients lists, subjects, shadow verdicts, stored rules that do not compile, and compiling once
 * per IdP record.
 */
import * as cel from '../../lib/rules/cel';
import { compiledRulesOf, matchRule, RULE_EXPRESSION_LIMITS, ruleVariables, shadowVerdict } from '../../lib/rules';
import { idpWith, rule } from './support';

const claims = {
  iss: 'https://issuer.example.test',
  sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
  ref: 'refs/heads/main',
  env: 'prod',
};
const vars = (clientId = 'client-1', over: Record<string, unknown> = {}) =>
  ruleVariables({ ...claims, ...over }, { alg: 'ES256' }, clientId);
const matchOf = (idp: ReturnType<typeof idpWith>, clientId?: string, over?: Record<string, unknown>) =>
  matchRule(compiledRulesOf(idp).enforced, vars(clientId, over));

describe('first match wins', () => {
  it('by position, then by name, whatever order the record lists them in', () => {
    const idp = idpWith([
      rule('zeta', 'true', { position: 1 }),
      rule('beta', 'true', { position: 2 }),
      rule('alpha', 'true', { position: 2 }),
      rule('Zulu', 'true', { position: 1 }), // 'Z' < 'z' by code unit: Zulu before zeta, whatever the collation
    ]);
    expect(compiledRulesOf(idp).enforced.map((r) => r.record.name)).toEqual(['Zulu', 'zeta', 'alpha', 'beta']);
    expect(matchOf(idp)?.rule.name).toBe('Zulu');
  });

  it('skips rules that do not match, to the first that does', () => {
    const idp = idpWith([
      rule('staging', "claims.env == 'staging'", { position: 0 }),
      rule('missing-claim', "claims.environment == 'prod'", { position: 1 }), // an error: no match, go on
      rule('prod', "claims.env == 'prod'", { position: 2 }),
      rule('any', 'true', { position: 3 }),
    ]);
    expect(matchOf(idp)?.rule.name).toBe('prod');
    expect(matchOf(idp, 'client-1', { env: 'dev' })?.rule.name).toBe('any');
  });

  it('matches nothing when no rule does', () => {
    const idp = idpWith([rule('prod', "claims.env == 'prod'")]);
    expect(matchOf(idp, 'client-1', { env: 'dev' })).toBeNull();
  });

  it('evaluates enforced and shadow rules apart', () => {
    const idp = idpWith([
      rule('enforced-prod', "claims.env == 'prod'"),
      rule('shadow-any', 'true', { mode: 'shadow' }),
      rule('shadow-dev', "claims.env == 'dev'", { mode: 'shadow', position: -1 }),
    ]);
    const set = compiledRulesOf(idp);
    expect(set.enforced.map((r) => r.record.name)).toEqual(['enforced-prod']);
    expect(set.shadow.map((r) => r.record.name)).toEqual(['shadow-dev', 'shadow-any']);
    expect(shadowVerdict(set.shadow, vars())).toEqual({ decision: 'would_allow', rule: 'shadow-any' });
    expect(shadowVerdict(set.shadow, vars('c', { env: 'dev' }))).toEqual({ decision: 'would_allow', rule: 'shadow-dev' });
    expect(shadowVerdict([], vars())).toEqual({ decision: 'would_deny' });
  });
});

describe('clients lists', () => {
  it('an empty list admits any client; a list only its clients, whatever the condition', () => {
    const idp = idpWith([rule('ci-only', 'true', { clients: ['ci-client', 'deploy-client'] }), rule('fallback', "claims.env == 'dev'")]);
    expect(matchOf(idp, 'ci-client')?.rule.name).toBe('ci-only');
    expect(matchOf(idp, 'deploy-client')?.rule.name).toBe('ci-only');
    expect(matchOf(idp, 'other-client')).toBeNull();
    expect(matchOf(idp, 'other-client', { env: 'dev' })?.rule.name).toBe('fallback');
    expect(matchOf(idp, 'CI-CLIENT')).toBeNull(); // client ids are compared exactly
  });
});

describe('subjects', () => {
  it('without a subject expression, the subject is claims.sub', () => {
    expect(matchOf(idpWith([rule('r', 'true')]))).toEqual({ rule: expect.objectContaining({ name: 'r' }), subject: claims.sub });
  });

  it('a subject expression’s value is the subject', () => {
    const idp = idpWith([rule('r', 'true', { subject: "'ci:' + claims.env + ':' + claims.ref" })]);
    expect(matchOf(idp)?.subject).toBe('ci:prod:refs/heads/main');
  });

  it.each<[string, Record<string, unknown>]>([
    ['claims.missing', {}], // an error
    ["claims.ref + ''", { ref: 42 }], // an error
    ['claims.n', { n: 42 }], // not a string
    ['claims.env.substring(0, 0)', {}], // empty
    ["claims.env + '\\u0000'", {}], // not storable
    [`claims.long + ''`, { long: 'x'.repeat(RULE_EXPRESSION_LIMITS.maxSubjectLength + 1) }], // too long
  ])('a subject %s without a usable value means the rule does not match, and the next one may', (subject, over) => {
    const idp = idpWith([rule('bad-subject', 'true', { subject }), rule('next', 'true', { position: 1 })]);
    expect(matchOf(idp, 'client-1', over)).toEqual({ rule: expect.objectContaining({ name: 'next' }), subject: claims.sub });
  });

  it('a subject of exactly maxSubjectLength characters is fine', () => {
    const long = 'x'.repeat(RULE_EXPRESSION_LIMITS.maxSubjectLength);
    expect(matchOf(idpWith([rule('r', 'true', { subject: 'claims.long' })]), 'c', { long })?.subject).toBe(long);
  });
});

describe('a stored rule that does not compile', () => {
  it('matches nothing (fail closed), says why, and the other rules still work', () => {
    const idp = idpWith([
      rule('broken', 'claims.env == ', { position: 0 }),
      rule('broken-subject', 'true', { subject: 'claims.env == 1', position: 1 }),
      rule('nested', 'claims.l.exists(a, claims.l.exists(b, a == b))', { position: 2 }),
      rule('works', "claims.env == 'prod'", { position: 3 }),
    ]);
    const set = compiledRulesOf(idp);
    expect(set.enforced.map((r) => [r.record.name, r.condition === null, r.problem?.field])).toEqual([
      ['broken', true, 'condition'],
      ['broken-subject', true, 'subject'],
      ['nested', true, 'condition'],
      ['works', false, undefined],
    ]);
    expect(set.enforced[2]!.problem?.message).toMatch(/macros may not be nested/);
    expect(matchOf(idp)?.rule.name).toBe('works');
    expect(matchOf(idpWith([rule('broken', 'true &&')]))).toBeNull();
  });
});

describe('compiled once per IdP record', () => {
  afterEach(() => jest.restoreAllMocks());

  it('the same record gives the same compiled set, compiled once; a new record compiles anew', () => {
    const compile = jest.spyOn(cel, 'compileExpression');
    const records = [rule('a', "claims.env == 'prod'", { subject: 'claims.ref' }), rule('b', 'true')];
    const idp = idpWith(records);
    const first = compiledRulesOf(idp);
    for (let i = 0; i < 5; i++) {
      expect(compiledRulesOf(idp)).toBe(first);
      matchRule(compiledRulesOf(idp).enforced, vars());
    }
    expect(compile).toHaveBeenCalledTimes(3); // two conditions and one subject
    const changed = idpWith(records); // what the cache holds after a rule changed: another record
    expect(compiledRulesOf(changed)).not.toBe(first);
    expect(compile).toHaveBeenCalledTimes(6);
  });
});
