import type { IdentityProviderRecord, TrustRuleRecord } from '../types';
import { isStorableText } from '../shared/text';
import { compileExpression, type CompiledExpression, type RuleVariables } from './cel';

/** A stored rule with its expressions compiled; `null` expressions mean the rule cannot match (see {@link compiledRulesOf}). */
export interface CompiledRule {
  readonly record: TrustRuleRecord;
  readonly condition: CompiledExpression | null;
  readonly subject: CompiledExpression | null;
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
 */
export function compiledRulesOf(idp: IdentityProviderRecord): CompiledRuleSet {
  let set = compiled.get(idp);
  if (!set) {
    const rules = (idp.rules ?? []).map(compileRule);
    set = {
      enforced: rules.filter((rule) => rule.record.mode === 'enforce'),
      shadow: rules.filter((rule) => rule.record.mode === 'shadow'),
    };
    compiled.set(idp, set);
  }
  return set;
}

function compileRule(record: TrustRuleRecord): CompiledRule {
  try {
    return {
      record,
      condition: compileExpression(record.condition, 'condition'),
      subject: record.subject === null ? null : compileExpression(record.subject, 'subject'),
    };
  } catch {
    return { record, condition: null, subject: null };
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
  const { record, condition } = rule;
  if (!condition) return null;
  if (record.clients.length > 0 && !record.clients.includes(variables.client.id)) return null;
  if (evaluate(condition, variables) !== true) return null;
  const subject = rule.subject ? evaluate(rule.subject, variables) : variables.claims.sub;
  return typeof subject === 'string' && subject.length > 0 && isStorableText(subject) ? subject : null;
}

/** Evaluates an expression; an evaluation error is returned as an `Error` value, never thrown. */
export function evaluate(expression: CompiledExpression, variables: RuleVariables): unknown {
  try {
    return expression.evaluate(variables);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The shadow rules' verdict on an assertion. */
export function shadowVerdict(rules: readonly CompiledRule[], variables: RuleVariables): ShadowVerdict {
  const match = matchRule(rules, variables);
  return match ? { decision: 'would_allow', rule: match.rule.name } : { decision: 'would_deny' };
}
