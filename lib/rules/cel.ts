import type * as Cel from '@marcbachmann/cel-js' with { 'resolution-mode': 'import' };
import { OAuth2JwtBearerError } from '../errors';
import { MAX_CONCATENATIONS, MAX_DURATION_LITERAL_LENGTH, MAX_JOIN_SEPARATOR_LENGTH, MAX_REGEX_CALLS, boundProblem } from './bounds';
import { MAX_REGEX_BRANCHES, MAX_REGEX_LENGTH } from './regex';
import type { CelNode, SourceRange } from './syntax';

export type { CelNode, SourceRange } from './syntax';

// cel-js ships ESM only. This CommonJS build require()s it (Node ≥ 20.19, the package's engines); a static
// import would read as ESM-from-CommonJS to hosts that type-check our sources with module node16.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Environment } = require('@marcbachmann/cel-js') as typeof Cel;

/**
 * The one CEL environment of trust rules (https://cel.dev; @marcbachmann/cel-js). It declares exactly
 * the documented variables — `claims` (the verified JWT claims), `header` (the JOSE header) and `client`
 * (`{ id }`, the authenticated client) — as maps; any other name is a compile error. What one expression
 * can cost is bounded when it is compiled (at save): structurally (its size, depth and number of nodes)
 * and by what it may say (lib/rules/bounds.ts: no nested macros, macro bodies over their own element
 * only, safe literal `matches()` patterns). Its input is bounded by the assertion size limit.
 */

/** The bounds every rule expression is compiled under (docs/workload-identity.md, "Limits"). */
export const RULE_EXPRESSION_LIMITS = {
  /** Longest expression source, in characters. */
  maxLength: 4096,
  /** Most AST nodes in one expression. */
  maxAstNodes: 512,
  /** Deepest nesting. */
  maxDepth: 32,
  /** Most elements in one list literal. */
  maxListElements: 256,
  /** Most entries in one map literal. */
  maxMapEntries: 64,
  /** Most arguments of one call. */
  maxCallArguments: 16,
  /** Most `+` operators in one expression. */
  maxConcatenations: MAX_CONCATENATIONS,
  /** Longest `join()` separator (a string literal), in characters. */
  maxJoinSeparatorLength: MAX_JOIN_SEPARATOR_LENGTH,
  /** Longest `duration()` argument (a string literal), in characters. */
  maxDurationLiteralLength: MAX_DURATION_LITERAL_LENGTH,
  /** Most `matches()` calls in one expression. */
  maxRegexCalls: MAX_REGEX_CALLS,
  /** Longest `matches()` pattern, in characters. */
  maxRegexLength: MAX_REGEX_LENGTH,
  /** Most ways the alternatives (`a|b`) and optional parts (`x?`) of one `matches()` pattern may give, multiplied. */
  maxRegexBranches: MAX_REGEX_BRANCHES,
  /** Longest subject a subject expression may produce, in characters (a longer one: the rule does not match). */
  maxSubjectLength: 1024,
  /**
   * Deepest nesting of objects and arrays in the claims or header that rules are evaluated on: cel-js
   * compares nested values in time that grows with the square of their depth, so deeper input matches
   * no rule (real tokens nest three or four levels).
   */
  maxInputDepth: 32,
} as const;

const environment = new Environment({
  limits: {
    maxAstNodes: RULE_EXPRESSION_LIMITS.maxAstNodes,
    maxDepth: RULE_EXPRESSION_LIMITS.maxDepth,
    maxListElements: RULE_EXPRESSION_LIMITS.maxListElements,
    maxMapEntries: RULE_EXPRESSION_LIMITS.maxMapEntries,
    maxCallArguments: RULE_EXPRESSION_LIMITS.maxCallArguments,
  },
})
  .registerVariable('claims', 'map')
  .registerVariable('header', 'map')
  .registerVariable('client', 'map');

/** What a rule expression sees. */
export interface RuleVariables {
  /** The verified JWT claims set, as JSON parsed it (numbers are CEL doubles). */
  claims: Readonly<Record<string, unknown>>;
  /** The verified JOSE header. */
  header: Readonly<Record<string, unknown>>;
  /** The authenticated client: its id and nothing else. */
  client: { readonly id: string };
}

/** The variables of one evaluation, `client` built here so that it holds exactly `{ id }`. */
export function ruleVariables(
  claims: Readonly<Record<string, unknown>>,
  header: Readonly<Record<string, unknown>>,
  clientId: string,
): RuleVariables {
  return { claims, header, client: { id: clientId } };
}

/** Which of a rule's expressions: the condition (bool) or the subject (string). */
export type RuleExpressionField = 'condition' | 'subject';

/**
 * A rule expression that does not compile: a syntax or type error, an unknown variable, or a limit
 * exceeded. `code` is `rule_expression_invalid`; `field` and `range` say where.
 */
export class RuleExpressionError extends OAuth2JwtBearerError {
  readonly code = 'rule_expression_invalid';
  constructor(
    readonly field: RuleExpressionField,
    message: string,
    readonly range: SourceRange | null,
  ) {
    super(message);
  }
}

/** A compiled expression: its source, its parse tree, and a function of the variables. */
export interface CompiledExpression {
  readonly source: string;
  /** cel-js's parse tree (nodes `{ op, args, start, end }`), for explanations and lint. */
  readonly ast: CelNode;
  evaluate(variables: RuleVariables): unknown;
}

const EXPECTED: Record<RuleExpressionField, string> = { condition: 'bool', subject: 'string' };

/**
 * Compiles a condition (must be of type bool) or a subject (string) expression. Throws
 * {@link RuleExpressionError} naming the position of the first problem: a syntax error, an unknown
 * variable or function, a type error, a limit of {@link RULE_EXPRESSION_LIMITS}, or a cost bound
 * (a nested macro, a macro body using more than its element, an unsafe or non-literal `matches()`).
 *
 * @example
 * const condition = compileExpression("claims.repository_owner_id == '1342004'", 'condition');
 * condition.evaluate(ruleVariables(claims, header, clientId)); // true, false, or throws
 */
export function compileExpression(source: unknown, field: RuleExpressionField): CompiledExpression {
  if (typeof source !== 'string' || source.trim().length === 0) {
    throw new RuleExpressionError(field, `${field} must be a non-empty CEL expression.`, null);
  }
  if (source.length > RULE_EXPRESSION_LIMITS.maxLength) {
    throw new RuleExpressionError(field, `${field} is longer than ${RULE_EXPRESSION_LIMITS.maxLength} characters.`, null);
  }
  let parsed: ReturnType<typeof environment.parse>;
  try {
    parsed = environment.parse(source);
  } catch (error) {
    throw expressionError(field, error);
  }
  const checked = parsed.check();
  if (!checked.valid) throw expressionError(field, checked.error);
  const bound = boundProblem(parsed.ast as CelNode);
  if (bound) throw new RuleExpressionError(field, `${field}: ${bound.message} at position ${bound.range.start}.`, bound.range);
  const expected = EXPECTED[field];
  if (checked.type !== expected && checked.type !== 'dyn') {
    throw new RuleExpressionError(field, `${field} must be of type ${expected}, not ${String(checked.type)}.`, {
      start: 0,
      end: source.length,
    });
  }
  return { source, ast: parsed.ast as CelNode, evaluate: (variables) => parsed(variables as unknown as Record<string, unknown>) };
}

function expressionError(field: RuleExpressionField, error: unknown): RuleExpressionError {
  const { summary, message, range } = (error ?? {}) as { summary?: string; message?: string; range?: SourceRange };
  const text = summary ?? String(message ?? 'invalid expression').split('\n')[0];
  const where = range && Number.isInteger(range.start) ? { start: range.start, end: Math.max(range.end, range.start) } : null;
  return new RuleExpressionError(field, `${field}: ${text}${where ? ` at position ${where.start}` : ''}.`, where);
}
