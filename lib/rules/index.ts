/** Trust rules of identity providers (docs/workload-identity.md). */
export { RULE_EXPRESSION_LIMITS, RuleExpressionError, compileExpression, ruleVariables } from './cel';
export type { CelNode, CompiledExpression, RuleExpressionField, RuleVariables, SourceRange } from './cel';
export { admits, clientAllowed, compiledRulesOf, evaluate, matchRule, shadowVerdict, subjectOf } from './rule-set';
export type { CompiledRule, CompiledRuleSet, RuleMatch, ShadowVerdict } from './rule-set';
export { explainRule, explainRules } from './explain';
export type { RuleExplanation } from './explain';
export { TRUST_RULE_TEMPLATES, instantiateTemplate } from './templates';
export type { TrustRuleTemplate, TrustRuleTemplateParameter } from './templates';
export { lintIdentityProvider } from './lint';
export type { RuleWarning, RuleWarningCode } from './lint';
