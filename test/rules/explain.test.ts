/** docs/workload-identity.md "Explain": each rule's verdict, and the first top-level conjunct that is not true. */
import { explainRules, instantiateTemplate, ruleVariables } from '../../lib/rules';
import { idpWith, rule } from './support';

const github = instantiateTemplate('github-actions', { OWNER_ID: '1342004', REPOSITORY_ID: '17273051', REF: 'refs/heads/main' });
const claims = {
  sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
  repository_owner_id: '1342004',
  repository_id: '17273051',
  ref: 'refs/heads/main',
  event_name: 'push',
};
const explain = (idp: ReturnType<typeof idpWith>, over: Record<string, unknown> = {}, clientId = 'client-1') =>
  explainRules(idp, ruleVariables({ ...claims, ...over }, { alg: 'RS256' }, clientId));

/** Where `text` is in `source`: what `failed` must say. */
const at = (source: string, text: string) => ({ expression: text, start: source.indexOf(text), end: source.indexOf(text) + text.length });

describe('a matching rule', () => {
  it('matched, with its subject and no failed part', () => {
    const idp = idpWith([rule(github.name, github.condition, { subject: github.subject })]);
    expect(explain(idp)).toEqual([
      {
        name: 'github-repository-branch',
        mode: 'enforce',
        matched: true,
        clientAllowed: true,
        subject: 'github:1342004/17273051:refs/heads/main',
      },
    ]);
  });
});

describe('the failing conjunct', () => {
  const idp = idpWith([rule(github.name, github.condition, { subject: github.subject })]);

  it.each<[string, Record<string, unknown>, string]>([
    ['another owner', { repository_owner_id: '99' }, "claims.repository_owner_id == '1342004'"],
    ['another repository', { repository_id: '1' }, "claims.repository_id == '17273051'"],
    ['another branch', { ref: 'refs/heads/feature' }, "claims.ref == 'refs/heads/main'"],
    ['a pull request', { event_name: 'pull_request' }, "!(claims.event_name in ['pull_request', 'pull_request_target'])"],
    ['a wrong owner and branch: the first of them', { repository_owner_id: '99', ref: 'x' }, "claims.repository_owner_id == '1342004'"],
  ])('%s', (_label, over, conjunct) => {
    const [explanation] = explain(idp, over);
    expect(explanation).toEqual({
      name: 'github-repository-branch',
      mode: 'enforce',
      matched: false,
      clientAllowed: true,
      failed: at(github.condition, conjunct),
    });
    expect(github.condition.slice(explanation!.failed!.start, explanation!.failed!.end)).toBe(conjunct);
  });

  it('a conjunct that errors says why (a missing claim)', () => {
    const { event_name: _dropped, ...noEvent } = claims;
    const [explanation] = explainRules(idp, ruleVariables(noEvent, {}, 'c'));
    expect(explanation).toMatchObject({
      matched: false,
      failed: at(github.condition, "!(claims.event_name in ['pull_request', 'pull_request_target'])"),
      error: 'No such key: event_name',
    });
  });

  it('flattens parenthesised && chains, keeps || and ! whole', () => {
    const source = "claims.ref == 'refs/heads/main' && (claims.sub != '' && (claims.env == 'a' || claims.env == 'b')) && !(claims.x == 1)";
    const r = idpWith([rule('r', source)]);
    expect(explain(r, { env: 'c', x: 2 })[0]!.failed).toEqual(at(source, "claims.env == 'a' || claims.env == 'b'"));
    expect(explain(r, { env: 'a', x: 1 })[0]!.failed).toEqual(at(source, '!(claims.x == 1)'));
    expect(explain(r, { env: 'a', x: 2 })[0]!.matched).toBe(true);
  });

  it('a condition with no && is its own conjunct; an error there is reported too', () => {
    const source = "claims.environment == 'prod'";
    expect(explain(idpWith([rule('r', source)]))[0]).toMatchObject({
      failed: { expression: source, start: 0, end: source.length },
      error: 'No such key: environment',
    });
  });

  it('a conjunct that is not a bool fails without an error', () => {
    const source = "claims.ref != '' && claims.flag";
    expect(explain(idpWith([rule('r', source)]), { flag: 'yes' })[0]).toEqual(
      expect.objectContaining({ failed: at(source, 'claims.flag'), matched: false }),
    );
    expect(explain(idpWith([rule('r', source)]), { flag: 'yes' })[0]!.error).toBeUndefined();
  });
});

describe('clients, subjects, broken rules, shadow rules', () => {
  it('a client outside the rule’s list: not matched, though the condition holds and the subject is shown', () => {
    const [explanation] = explain(idpWith([rule('ci', 'true', { clients: ['ci-client'] })]), {}, 'other');
    expect(explanation).toEqual({ name: 'ci', mode: 'enforce', matched: false, clientAllowed: false, subject: claims.sub });
  });

  it('a subject expression without a value: not matched, with the reason', () => {
    const [explanation] = explain(idpWith([rule('r', 'true', { subject: "claims.team + ':x'" })]));
    expect(explanation).toEqual({ name: 'r', mode: 'enforce', matched: false, clientAllowed: true, error: 'subject: No such key: team' });
  });

  it('a stored rule that does not compile: not matched, with the compile error', () => {
    const [explanation] = explain(idpWith([rule('broken', "claims.ref == 'x' &&")]));
    expect(explanation).toMatchObject({ name: 'broken', matched: false, clientAllowed: true });
    expect(explanation!.error).toMatch(/^the stored rule does not compile: condition: Unexpected token: EOF at position 20\.$/);
  });

  it('lists enforced rules in order, then shadow rules in order', () => {
    const idp = idpWith([
      rule('shadow-b', 'false', { mode: 'shadow', position: 1 }),
      rule('enforce-b', 'true', { position: 5 }),
      rule('shadow-a', 'true', { mode: 'shadow', position: 1 }),
      rule('enforce-a', 'false', { position: 0 }),
    ]);
    expect(explain(idp).map(({ name, mode, matched }) => [name, mode, matched])).toEqual([
      ['enforce-a', 'enforce', false],
      ['enforce-b', 'enforce', true],
      ['shadow-a', 'shadow', true],
      ['shadow-b', 'shadow', false],
    ]);
  });

  it('an IdP without rules explains nothing', () => {
    expect(explain(idpWith([]))).toEqual([]);
  });
});
