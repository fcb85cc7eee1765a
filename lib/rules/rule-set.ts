import type { IdentityProviderRecord, TrustRuleRecord } from '../types';
import { isStorableText } from '../shared/text';
import { RULE_EXPRESSION_LIMITS, RuleExpressionError, compileExpression, type CompiledExpression, type RuleVariables } from './cel';

/**
 * A stored rule with its expressions compiled. A `null` condition means the rule cannot match (see
 * {@link compiledRulesOf}); `problem` then says why.
 */
export interface CompiledRule {
  readonly record: TrustRuleRecord;
  readonly condition: CompiledExpression | null;
  readonly subject: CompiledExpression | null;
  /** Why a stored expression does not compile (it was written around the admin API, or the bounds changed). */
  readonly problem: RuleExpressionError | null;
}

/** An IdP's rules, compiled, split by mode, each in evaluation order. */
export interface CompiledRuleSet {
  readonly enforced: readonly CompiledRule[];
  readonly shadow: readonly CompiledRule[];
}

/** The rule that admitted an assertion, and the subject it hands to the host. */
export interface RuleMatch {
  readonly rule: TrustRuleRecord;
  readonly subject: string;
}

/** What the shadow rules would have decided (reported, never enforced). */
export type ShadowVerdict = { decision: 'would_allow'; rule: string } | { decision: 'would_deny' };

const compiled = new WeakMap<IdentityProviderRecord, CompiledRuleSet>();

/**
 * The IdP's rules, compiled once per IdP record: the store's configuration cache holds the record, so
 * the compiled rules live exactly as long as the cached configuration they were compiled from, and a
 * change to the rules (a new record) compiles anew. A stored expression that no longer compiles (written
 * around the admin API) makes its rule match nothing: fail closed.
 *
 * Order: `position`, then `name` by UTF-16 code units, whatever order the record lists them in (the
 * database's collation could order names differently from one installation to the next).
 */
export function compiledRulesOf(idp: IdentityProviderRecord): CompiledRuleSet {
  let set = compiled.get(idp);
  if (!set) {
    const rules = [...(idp.rules ?? [])].sort(byEvaluationOrder).map(compileRule);
    set = {
      enforced: rules.filter((rule) => rule.record.mode === 'enforce'),
      shadow: rules.filter((rule) => rule.record.mode === 'shadow'),
    };
    compiled.set(idp, set);
  }
  return set;
}

function byEvaluationOrder(a: TrustRuleRecord, b: TrustRuleRecord): number {
  return a.position - b.position || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function compileRule(record: TrustRuleRecord): CompiledRule {
  try {
    return {
      record,
      condition: compileExpression(record.condition, 'condition'),
      subject: record.subject === null ? null : compileExpression(record.subject, 'subject'),
      problem: null,
    };
  } catch (error) {
    const problem = error instanceof RuleExpressionError ? error : new RuleExpressionError('condition', String(error), null);
    return { record, condition: null, subject: null, problem };
  }
}

/**
 * The first rule (in order) that admits the assertion: the client is one of its clients (or it lists
 * none), its condition evaluates to `true`, and its subject evaluates to a non-empty storable string.
 * An evaluation error (a missing claim, a type mismatch at run time) means "does not match", as in CEL.
 */
export function matchRule(rules: readonly CompiledRule[], variables: RuleVariables): RuleMatch | null {
  for (const rule of rules) {
    const subject = admits(rule, variables);
    if (subject !== null) return { rule: rule.record, subject };
  }
  return null;
}

/** The subject `rule` hands to the host, or `null` when it does not admit the assertion. */
export function admits(rule: CompiledRule, variables: RuleVariables): string | null {
  const { condition } = rule;
  if (!condition) return null;
  if (!clientAllowed(rule, variables)) return null;
  if (evaluate(condition, variables) !== true) return null;
  const subject = subjectOf(rule, variables);
  return typeof subject === 'string' ? subject : null;
}

/** Whether the rule lets the client present the assertion: it lists no clients, or this one. */
export function clientAllowed(rule: CompiledRule, variables: RuleVariables): boolean {
  return rule.record.clients.length === 0 || rule.record.clients.includes(variables.client.id);
}

/**
 * The subject the rule hands to the host once its condition holds: its subject expression's value, or
 * `claims.sub` where it has none. An `Error` when the expression fails or its value is not a non-empty
 * storable string (no NUL, no lone surrogate) of at most {@link RULE_EXPRESSION_LIMITS}.maxSubjectLength characters.
 */
export function subjectOf(rule: CompiledRule, variables: RuleVariables): string | Error {
  const value = rule.subject ? evaluate(rule.subject, variables) : variables.claims.sub;
  if (value instanceof Error) return value;
  if (typeof value !== 'string' || value.length === 0 || !isStorableText(value)) return new Error('the subject is not a non-empty string');
  if (rule.subject && value.length > RULE_EXPRESSION_LIMITS.maxSubjectLength) {
    return new Error(`the subject is longer than ${RULE_EXPRESSION_LIMITS.maxSubjectLength} characters`);
  }
  return value;
}

/**
 * Evaluates an expression; an evaluation error is returned as an `Error` value, never thrown. Claims or
 * a header nested deeper than {@link RULE_EXPRESSION_LIMITS}.maxInputDepth are an error for every
 * expression, before cel-js sees them.
 */
export function evaluate(expression: CompiledExpression, variables: RuleVariables): unknown {
  if (tooDeep(variables.claims) || tooDeep(variables.header)) {
    return new Error(`the claims or header nest deeper than ${RULE_EXPRESSION_LIMITS.maxInputDepth} levels`);
  }
  try {
    return expression.evaluate(variables);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

const depthChecked = new WeakMap<object, boolean>();

/** Whether `value` nests objects and arrays deeper than the limit; measured once per object, without recursion. */
function tooDeep(value: object): boolean {
  let deep = depthChecked.get(value);
  if (deep === undefined) {
    deep = false;
    const stack: Array<[unknown, number]> = [[value, 1]];
    while (stack.length > 0 && !deep) {
      const [node, depth] = stack.pop()!;
      if (typeof node !== 'object' || node === null) continue;
      if (depth > RULE_EXPRESSION_LIMITS.maxInputDepth) deep = true;
      else for (const child of Object.values(node)) stack.push([child, depth + 1]);
    }
    depthChecked.set(value, deep);
  }
  return deep;
}

/** The shadow rules' verdict on an assertion. */
export function shadowVerdict(rules: readonly CompiledRule[], variables: RuleVariables): ShadowVerdict {
  const match = matchRule(rules, variables);
  return match ? { decision: 'would_allow', rule: match.rule.name } : { decision: 'would_deny' };
}
