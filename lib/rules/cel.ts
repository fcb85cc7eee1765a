import { Environment } from '@marcbachmann/cel-js';
import { OAuth2JwtBearerError } from '../errors';

/**
 * The one CEL environment of trust rules (https://cel.dev; @marcbachmann/cel-js). It declares exactly
 * the documented variables — `claims` (the verified JWT claims), `header` (the JOSE header) and `client`
 * (`{ id }`, the authenticated client) — as maps; any other name is a compile error. Structural limits
 * bound what one expression can cost: its size, its depth and its number of nodes are capped when it is
 * compiled (at save), and its input is capped by the assertion size limit.
 */

/** The bounds every rule expression is compiled under (docs/workload-identity.md). */
export const RULE_EXPRESSION_LIMITS = {
  /** Longest expression source, in characters. */
  maxLength: 4096,
  /** Most AST nodes in one expression. */
  maxAstNodes: 512,
  /** Deepest nesting. */
  maxDepth: 32,
  /** Most elements in one list literal, entries in one map literal. */
  maxListElements: 256,
  maxMapEntries: 64,
  maxCallArguments: 16,
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
  claims: Readonly<Record<string, unknown>>;
  header: Readonly<Record<string, unknown>>;
  client: { id: string };
}

/** Which of a rule's expressions: the condition (bool) or the subject (string). */
export type RuleExpressionField = 'condition' | 'subject';

/** Where in an expression's source a problem is: zero-based character offsets, `end` exclusive. */
export interface SourceRange {
  start: number;
  end: number;
}

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

/** A node of cel-js's parse tree, as far as explanations and lint read it. */
export interface CelNode {
  op: string;
  args: unknown;
  start: number;
  end: number;
}

const EXPECTED: Record<RuleExpressionField, string> = { condition: 'bool', subject: 'string' };

/**
 * Compiles a condition (must be of type bool) or a subject (string) expression. Throws
 * {@link RuleExpressionError} naming the position of the first problem.
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
