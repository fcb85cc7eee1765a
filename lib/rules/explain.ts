import type { IdentityProviderRecord, TrustRuleMode } from '../types';
import { compileExpression, type CelNode, type CompiledExpression, type RuleVariables, type SourceRange } from './cel';
import { clientAllowed, compiledRulesOf, evaluate, subjectOf, type CompiledRule } from './rule-set';

/**
 * Why each trust rule of an IdP does or does not admit an assertion (docs/workload-identity.md,
 * "Explain"): the admin dry run's per-rule answer. It evaluates exactly what the verifier evaluates, and,
 * for a condition that does not hold, finds the first of its top-level `&&` conjuncts that is not
 * `true`, so that a long condition points at the one comparison that failed.
 */

/** One rule's verdict on an assertion. */
export interface RuleExplanation {
  name: string;
  mode: TrustRuleMode;
  /** Whether the rule admits the assertion (for a shadow rule: would admit it). */
  matched: boolean;
  /** Whether the rule's clients list is empty or names the client. */
  clientAllowed: boolean;
  /**
   * The first top-level `&&` conjunct of the condition that does not evaluate to `true`: its source text
   * and its range in the condition (zero-based, `end` exclusive). Absent when the condition holds.
   */
  failed?: { expression: string; start: number; end: number };
  /**
   * Why that conjunct has no value (e.g. `No such key: environment`); or why the subject expression
   * gave no usable subject; or why the stored rule does not compile.
   */
  error?: string;
  /** The subject the rule hands (or would hand) to the host, when its condition holds. */
  subject?: string;
}

/**
 * Every rule of `idp`, enforced and shadow, in evaluation order (enforced first), judged on `variables`.
 *
 * @example
 * const explanations = explainRules(idp, ruleVariables(claims, header, clientId));
 * // [{ name: 'github-repository-branch', mode: 'enforce', matched: false, clientAllowed: true,
 * //    failed: { expression: "claims.ref == 'refs/heads/main'", start: 92, end: 123 } }]
 */
export function explainRules(idp: IdentityProviderRecord, variables: RuleVariables): RuleExplanation[] {
  const { enforced, shadow } = compiledRulesOf(idp);
  return [...enforced, ...shadow].map((rule) => explainRule(rule, variables));
}

/** One compiled rule judged on `variables`. */
export function explainRule(rule: CompiledRule, variables: RuleVariables): RuleExplanation {
  const explanation: RuleExplanation = {
    name: rule.record.name,
    mode: rule.record.mode,
    matched: false,
    clientAllowed: clientAllowed(rule, variables),
  };
  if (!rule.condition) {
    explanation.error = `the stored rule does not compile: ${rule.problem?.message ?? 'unknown problem'}`;
    return explanation;
  }
  if (evaluate(rule.condition, variables) !== true) {
    const failed = firstFailingConjunct(rule.condition, variables);
    explanation.failed = { expression: failed.expression, start: failed.range.start, end: failed.range.end };
    if (failed.error !== undefined) explanation.error = failed.error;
    return explanation;
  }
  const subject = subjectOf(rule, variables);
  if (subject instanceof Error) {
    explanation.error = `subject: ${messageOf(subject)}`;
    return explanation;
  }
  explanation.subject = subject;
  explanation.matched = explanation.clientAllowed;
  return explanation;
}

interface FailingConjunct {
  expression: string;
  range: SourceRange;
  error?: string;
}

interface Conjunct {
  range: SourceRange;
  expression: CompiledExpression;
}

/**
 * The first top-level `&&` conjunct of `condition` whose value is not `true`, as the condition's source
 * text. Each conjunct is compiled on its own from its source slice (it uses only the rule variables, so
 * it compiles wherever the whole did); the whole condition stands in when no single conjunct fails.
 */
function firstFailingConjunct(condition: CompiledExpression, variables: RuleVariables): FailingConjunct {
  for (const { range, expression } of conjunctsOf(condition)) {
    const value = evaluate(expression, variables);
    if (value === true) continue;
    const failed: FailingConjunct = { expression: expression.source, range };
    if (value instanceof Error) failed.error = messageOf(value);
    return failed;
  }
  return { expression: condition.source, range: { start: 0, end: condition.source.length } };
}

const conjunctCache = new WeakMap<CompiledExpression, Conjunct[]>();

/** The top-level conjuncts of a condition, compiled once per compiled condition. */
function conjunctsOf(condition: CompiledExpression): Conjunct[] {
  let conjuncts = conjunctCache.get(condition);
  if (!conjuncts) {
    const whole = [{ range: { start: 0, end: condition.source.length }, expression: condition }];
    const nodes = flattenAnd(condition.ast);
    const sliced = nodes.length === 1 ? [] : nodes.map((node) => compileSlice(condition.source, node));
    // A slice that will not compile on its own: point at the whole condition rather than fail.
    conjuncts = sliced.length > 0 && sliced.every((c) => c !== null) ? (sliced as Conjunct[]) : whole;
    conjunctCache.set(condition, conjuncts);
  }
  return conjuncts;
}

/**
 * A node's source, compiled. cel-js's range of a parenthesised operand can stop before its closing
 * parenthesis (`!(a == 1)` ends at `1`), so a slice that does not compile is retried with the closing
 * parentheses that follow it.
 */
function compileSlice(source: string, node: CelNode): Conjunct | null {
  let end = node.end;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return { range: { start: node.start, end }, expression: compileExpression(source.slice(node.start, end), 'condition') };
    } catch {
      const next = source.slice(end).search(/\S/);
      if (next < 0 || source[end + next] !== ')') return null;
      end += next + 1;
    }
  }
  return null;
}

/** `a && (b && c) && d` → `[a, b, c, d]`: `&&` is associative, so parenthesised chains are flattened too. */
function flattenAnd(node: CelNode): CelNode[] {
  if (node.op !== '&&') return [node];
  const [left, right] = node.args as [CelNode, CelNode];
  return [...flattenAnd(left), ...flattenAnd(right)];
}

/** cel-js errors carry a one-line `summary` beside a message with a source excerpt; others just a message. */
function messageOf(error: Error): string {
  const summary = (error as { summary?: unknown }).summary;
  return typeof summary === 'string' ? summary : error.message.split('\n')[0]!;
}
