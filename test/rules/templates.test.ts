/** docs/workload-identity.md "Templates": they compile under the rule bounds, and a value cannot change their structure. */
import { compileExpression, instantiateTemplate, TRUST_RULE_TEMPLATES } from '../../lib/rules';
import { ConfigurationError } from '../../lib/errors';

const examples = (id: string) =>
  Object.fromEntries(TRUST_RULE_TEMPLATES.find((t) => t.id === id)!.parameters.map((p) => [p.name, p.example]));

it.each(TRUST_RULE_TEMPLATES.map((t) => t.id))('%s: its example values fill it, and it compiles', (id) => {
  const rule = instantiateTemplate(id, examples(id));
  expect(rule.condition).not.toMatch(/\{\{/);
  expect(() => compileExpression(rule.condition, 'condition')).not.toThrow();
  if (rule.subject !== null) expect(() => compileExpression(rule.subject, 'subject')).not.toThrow();
  for (const parameter of TRUST_RULE_TEMPLATES.find((t) => t.id === id)!.parameters) {
    expect(new RegExp(parameter.pattern).test(parameter.example)).toBe(true);
  }
});

it.each([
  ['github-actions', 'OWNER_ID', "1' || true || '"],
  ['github-actions', 'REF', "refs/heads/main' || claims.sub != '"],
  ['gitlab-ci', 'BRANCH', 'main\\'],
  ['kubernetes-service-account', 'NAMESPACE', 'Payments'],
  ['github-actions', 'OWNER_ID', ''],
])('%s refuses %s = %p', (id, name, value) => {
  expect(() => instantiateTemplate(id, { ...examples(id), [name]: value })).toThrow(ConfigurationError);
});

it('refuses an unknown template and a missing value', () => {
  expect(() => instantiateTemplate('nope', {})).toThrow(/Unknown trust rule template "nope"/);
  expect(() => instantiateTemplate('gitlab-ci', { NAMESPACE_ID: '4', PROJECT_ID: '22' })).toThrow(/BRANCH must match/);
});
