/** Trust rules of identity providers (docs/workload-identity.md). */
export { RULE_EXPRESSION_LIMITS, RuleExpressionError, compileExpression } from './cel';
export type { CelNode, CompiledExpression, RuleExpressionField, RuleVariables, SourceRange } from './cel';
export { admits, compiledRulesOf, evaluate, matchRule, shadowVerdict } from './rule-set';
export type { CompiledRule, CompiledRuleSet, RuleMatch, ShadowVerdict } from './rule-set';
export { TRUST_RULE_TEMPLATES, instantiateTemplate } from './templates';
export type { TrustRuleTemplate, TrustRuleTemplateParameter } from './templates';
export { lintIdentityProvider } from './lint';
export type { RuleWarning, RuleWarningCode } from './lint';
