/**
 * docs/workload-identity.md "Expressions" and "Limits": compiling trust rule expressions (errors with
 * their positions, the variables rules see, the bounds on what an expression may cost) and how values
 * of verified claims behave in CEL.
 */
import { compileExpression, RULE_EXPRESSION_LIMITS, RuleExpressionError, ruleVariables } from '../../lib/rules';
import { evaluate } from '../../lib/rules/rule-set';

/** The error compiling `source` as a condition throws (fails the test when it compiles). */
function compileError(source: unknown, field: 'condition' | 'subject' = 'condition'): RuleExpressionError {
  try {
    compileExpression(source, field);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleExpressionError);
    return error as RuleExpressionError;
  }
  throw new Error(`${String(source)} compiled`);
}

/** Evaluates `source` (a condition) on `claims`; an evaluation error comes back as an Error. */
function run(source: string, claims: Record<string, unknown>, header: Record<string, unknown> = {}, clientId = 'client-1'): unknown {
  return evaluate(compileExpression(source, 'condition'), ruleVariables(claims, header, clientId));
}

describe('compile errors name the field, the problem and its position', () => {
  it.each<[string, RegExp, { start: number; end: number } | null]>([
    ["claims.ref == 'main' &&", /Unexpected token: EOF/, { start: 23, end: 23 }],
    ["claims.ref == 'main' && )", /Unexpected token/, { start: 24, end: 25 }],
    ["claims.ref = 'main'", /Unexpected character|Expected|Unexpected/, null],
    ["claim.ref == 'main'", /Unknown variable: claim/, { start: 0, end: 5 }],
    ["claims.ref == 'main' && request.ip == '1'", /Unknown variable: request/, { start: 24, end: 31 }],
    ["'a' + 1 == 'a1'", /no such overload: string \+ int/, { start: 0, end: 7 }],
    ["claims.ref.nope('x')", /found no matching overload/, null],
  ])('%s', (source, message, range) => {
    const error = compileError(source);
    expect(error.code).toBe('rule_expression_invalid');
    expect(error.field).toBe('condition');
    expect(error.message).toMatch(/^condition: /);
    expect(error.message).toMatch(message);
    if (range) expect(error.range).toEqual(range);
    else expect(error.range).toEqual({ start: expect.any(Number), end: expect.any(Number) });
    if (error.range) expect(error.message).toContain(`at position ${error.range.start}`);
  });

  it('requires a bool condition and a string subject', () => {
    const notBool = compileError("claims.sub + '!'");
    expect(notBool.message).toBe('condition must be of type bool, not string.');
    expect(notBool.range).toEqual({ start: 0, end: 16 });
    const notString = compileError("claims.sub == 'x'", 'subject');
    expect(notString.field).toBe('subject');
    expect(notString.message).toBe('subject must be of type string, not bool.');
    // A claim is of type dyn: it may be used as either, its value is judged at evaluation.
    expect(compileExpression('claims.admin', 'condition').source).toBe('claims.admin');
    expect(compileExpression('claims.sub', 'subject').source).toBe('claims.sub');
  });

  it.each([undefined, null, 42, '', '   '])('refuses %p as an expression, without a position', (source) => {
    const error = compileError(source);
    expect(error.message).toBe('condition must be a non-empty CEL expression.');
    expect(error.range).toBeNull();
  });

  it('enforces the structural limits at compile time', () => {
    expect(compileError(`claims.a == '${'x'.repeat(RULE_EXPRESSION_LIMITS.maxLength)}'`).message).toMatch(/longer than 4096 characters/);
    const deep = `${'('.repeat(40)}true${')'.repeat(40)}`;
    expect(compileError(deep).message).toMatch(/Exceeded maxDepth \(32\)/);
    const wide = `claims.a in [${Array.from({ length: 300 }, (_, i) => `'${i}'`).join(', ')}]`;
    expect(compileError(wide).message).toMatch(/Exceeded maxListElements \(256\)/);
    const many = Array.from({ length: 150 }, () => 'claims.a == 1').join(' || ');
    expect(compileError(many).message).toMatch(/Exceeded maxAstNodes \(512\)/);
  });
});

describe('variables: claims, header and client { id }, nothing else', () => {
  it.each<[string, RegExp]>([
    ['google == google', /unknown variable google: rules see claims, header and client/],
    ['type(claims.t) == google.protobuf.Timestamp', /unknown variable google/],
    ["cel.bind(x, claims.sub, x == 'a')", /bind\(\) is not available in trust rules/],
    ['optional.of(claims.sub).hasValue()', /(of|hasValue)\(\) is not available in trust rules/],
  ])('refuses cel-js’s own names: %s', (source, message) => {
    expect(compileError(source).message).toMatch(message);
  });

  it('client holds exactly { id }', () => {
    expect(run("client.id == 'client-1' && size(client) == 1", {})).toBe(true);
    expect(run("client.secret == 'x'", {})).toEqual(expect.objectContaining({ message: expect.stringMatching(/No such key: secret/) }));
    expect(ruleVariables({}, {}, 'c')).toEqual({ claims: {}, header: {}, client: { id: 'c' } });
  });

  it('header is the JOSE header', () => {
    expect(run("header.alg == 'ES256' && header.kid == 'k1'", {}, { alg: 'ES256', kid: 'k1' })).toBe(true);
  });

  it('type names may be used', () => {
    expect(run('type(claims.groups) == list && type(claims.sub) == string', { sub: 'a', groups: [] })).toBe(true);
  });
});

describe('JSON numbers in claims are CEL doubles', () => {
  const claims = {
    exp: 1_900_000_000,
    runner_id: 12,
    ratio: 1.5,
    repository_id: '17273051',
    big: JSON.parse('9007199254740993') as number,
  };

  it.each<[string, unknown]>([
    ['claims.exp > 5', true],
    ['claims.exp > 1900000000', false],
    ['claims.runner_id == 12', true],
    ['claims.runner_id == 12.0', true],
    ['claims.runner_id in [11, 12]', true],
    ['claims.ratio > 1 && claims.ratio < 2', true],
    ["claims.runner_id == '12'", false], // a number never equals a string
    ["claims.repository_id == '17273051'", true], // GitHub sends ids as strings
    ['claims.repository_id == 17273051', false],
    ["string(claims.runner_id) == '12'", true],
    ['int(claims.runner_id) + 1 == 13', true],
    ['claims.exp - 60.0 > 0.0', true],
    ['type(claims.runner_id) == double && type(claims.repository_id) == string', true],
    // Beyond 2^53 JSON numbers are rounded: the parsed value is 9007199254740992.
    ['claims.big == 9007199254740993', false],
  ])('%s → %p', (source, expected) => {
    expect(run(source, claims)).toBe(expected);
  });

  it.each(['claims.runner_id + 1 == 13', 'timestamp(claims.exp) > timestamp(0)'])(
    '%s is an evaluation error (no int arithmetic on a double), hence no match',
    (source) => {
      const value = run(source, claims);
      expect(value).toBeInstanceOf(Error);
      expect((value as Error).message).toMatch(/no (such|matching) overload/);
    },
  );
});

describe('odd input cannot crash evaluation: errors are values', () => {
  it('a missing claim is an error; has() tests for it', () => {
    expect((run("claims.environment == 'prod'", {}) as Error).message).toMatch(/No such key: environment/);
    expect(run("has(claims.environment) && claims.environment == 'prod'", {})).toBe(false);
    expect(run("!has(claims.environment) || claims.environment == 'prod'", {})).toBe(true);
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])('Object.prototype’s %s is no claim', (key) => {
    expect((run(`claims['${key}'] == claims['${key}']`, { sub: 'a' }) as Error).message).toMatch(new RegExp(`No such key: ${key}`));
    expect(run(`has(claims.${key})`, { sub: 'a' })).toBe(false);
  });

  it('claims nested deeper than maxInputDepth match nothing; as deep as allowed they work', () => {
    const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : [nest(depth - 1)]);
    const limit = RULE_EXPRESSION_LIMITS.maxInputDepth;
    // claims is level 1, claims.d level 2: `limit - 1` nested arrays reach the limit.
    expect(run('claims.d == claims.e', { d: nest(limit - 2), e: nest(limit - 2) })).toBe(true);
    const tooDeep = run('claims.sub == claims.sub', { sub: 'a', d: nest(5000) });
    expect(tooDeep).toBeInstanceOf(Error);
    expect((tooDeep as Error).message).toMatch(/nest deeper than 32 levels/);
    const deepHeader = evaluate(compileExpression('true', 'condition'), ruleVariables({}, { x: nest(40) }, 'c'));
    expect(deepHeader).toBeInstanceOf(Error);
  });

  it('long arrays and large maps evaluate', () => {
    const groups = Array.from({ length: 3000 }, (_, i) => `group-${i}`);
    expect(run("'group-2999' in claims.groups && claims.groups.exists(g, g == 'group-0')", { groups })).toBe(true);
    expect(run("claims.groups.all(g, g.startsWith('group-'))", { groups })).toBe(true);
    expect(run("claims.groups.exists_one(g, g.endsWith('-7'))", { groups })).toBe(true);
    expect(run("claims.groups.exists_one(g, g.endsWith('7'))", { groups })).toBe(false);
    expect(run("claims.groups.filter(g, g.endsWith('99')).size() == 30", { groups })).toBe(true);
  });

  it('a value of the wrong type at run time is an error, not a crash', () => {
    expect(run("claims.ref.startsWith('refs/')", { ref: 42 })).toBeInstanceOf(Error);
    expect(run("claims.groups.exists(g, g == 'a')", { groups: 'a' })).toBeInstanceOf(Error);
    expect(run('claims.flag', { flag: 'yes' })).toBe('yes'); // not `true`: the rule does not match
  });
});

describe('cost bounds, refused at compile time with their position', () => {
  it.each<[string, RegExp, number]>([
    ['claims.groups.exists(g, claims.teams.exists(t, t == g))', /exists\(\) inside exists\(\): macros may not be nested/, 24],
    ["claims.groups.map(g, g + '!').exists(h, h == 'a!')", /map\(\) inside exists\(\)/, 0],
    ["claims.groups.filter(g, g != '').all(h, h != '')", /filter\(\) inside all\(\)/, 0],
    ['claims.groups.exists(g, g == claims.team)', /the body of exists\(\) may use only its own variable g, not claims/, 29],
    ['claims.groups.exists(g, g == client.id)', /may use only its own variable g, not client/, 29],
    ['bytes(claims.sub).size() > 0', /bytes\(\) is not available in trust rules/, 0],
    ["b'x'.hex() == '78'", /hex\(\) is not available/, 0],
    ['claims.sub.matches(claims.pattern)', /the pattern of matches\(\) must be a string literal/, 19],
    ["claims.sub.matches('^(a+)+$')", /nested quantifiers/, 19],
    ["claims.sub.matches('^(a)\\\\1')", /backreferences are not supported/, 19],
    ["claims.sub.matches('^(?=a)a')", /lookahead and lookbehind/, 19],
    ["claims.sub.matches('repo:.*:ref:main')", /must start with \^/, 19],
    ["claims.sub.matches('^.*:.*$')", /nothing may repeat after/, 19],
    ["claims.groups.join(claims.sep) == ''", /separator of join\(\) must be a string literal/, 19],
    ["claims.groups.join('-----------') == ''", /at most 8 characters/, 19],
  ])('%s', (source, message, start) => {
    const error = compileError(source);
    expect(error.message).toMatch(message);
    expect(error.range?.start).toBe(start);
  });

  it(`allows ${RULE_EXPRESSION_LIMITS.maxRegexCalls} matches() calls and ${RULE_EXPRESSION_LIMITS.maxConcatenations} + operators, not one more`, () => {
    const regex = (n: number) => Array.from({ length: n }, (_, i) => `claims.sub.matches('^a${i}')`).join(' || ');
    expect(() => compileExpression(regex(RULE_EXPRESSION_LIMITS.maxRegexCalls), 'condition')).not.toThrow();
    expect(compileError(regex(RULE_EXPRESSION_LIMITS.maxRegexCalls + 1)).message).toMatch(/at most 4 matches\(\) calls/);
    const plus = (n: number) => `claims.sub${" + 'x'".repeat(n)}`;
    expect(() => compileExpression(plus(RULE_EXPRESSION_LIMITS.maxConcatenations), 'subject')).not.toThrow();
    expect(compileError(plus(RULE_EXPRESSION_LIMITS.maxConcatenations + 1), 'subject').message).toMatch(/at most 8 \+ operators/);
  });

  it('allows one macro per list, macros side by side, and their own variable even when it shadows claims', () => {
    const source = "claims.groups.exists(g, g == 'a') && claims.amr.all(m, m in ['pwd', 'otp']) && claims.l.exists(claims, claims == 1)";
    expect(run(source, { groups: ['a'], amr: ['pwd'], l: [1] })).toBe(true);
  });
});
