import type { CelNode, SourceRange } from './syntax';
import { regexProblem } from './regex';

/**
 * The evaluation-cost bounds of a trust rule expression (docs/workload-identity.md, "Limits"), checked
 * on its parse tree when it is compiled. cel-js has no evaluation-time budget, so what an expression may
 * cost is bounded by what it may say. With these bounds every value an expression builds is at most a
 * constant times the assertion's size, and every step costs at most its operands' size, so an
 * evaluation costs at most about (parse-tree nodes) × (assertion size): nothing grows with a power of
 * its input, or doubles with each level of nesting.
 *
 * - Only `claims`, `header`, `client`, type names and a macro's own variable are names. cel-js also
 *   knows `cel` (for `cel.bind`), `google` and `optional`; rules get none of them.
 * - Only the functions of {@link FUNCTIONS}: comparisons of strings, numbers and times, conversions,
 *   sizes and substrings. Not `bytes()` and its methods: `hex()` doubles a value, and nested `hex()`
 *   calls double it once per level.
 * - A macro (`all`, `exists`, `exists_one`, `map`, `filter`) may not contain another, in its list or in
 *   its body (`l.map(x, …).map(y, …)` included), and its body may use nothing but its own variable and
 *   literals: the body runs once per element, so it must cost no more than that element.
 * - At most {@link MAX_CONCATENATIONS} `+` operators (each can add an input's length to a string or
 *   list, and a chain of list `+` copies its left side each time).
 * - `matches()` takes a string literal with a pattern {@link regexProblem} accepts (its time linear in
 *   the input), at most {@link MAX_REGEX_CALLS} times; `join()` takes no separator or a string literal of
 *   at most {@link MAX_JOIN_SEPARATOR_LENGTH} characters; `duration()` a string literal of at most
 *   {@link MAX_DURATION_LITERAL_LENGTH} (cel-js parses it with a regular expression whose time grows with
 *   the cube of its length: 2 000 digits take seconds).
 */

/** Most `matches()` calls in one expression. */
export const MAX_REGEX_CALLS = 4;
/** Most `+` operators in one expression. */
export const MAX_CONCATENATIONS = 8;
/** Longest `join()` separator, in characters. */
export const MAX_JOIN_SEPARATOR_LENGTH = 8;
/** Longest `duration()` argument (a string literal), in characters. */
export const MAX_DURATION_LITERAL_LENGTH = 32;

const VARIABLES = new Set(['claims', 'header', 'client']);
const TYPE_NAMES = new Set(['bool', 'int', 'uint', 'double', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn']);
const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** The functions and methods a rule may call (cel-js 8 has more; docs/workload-identity.md lists these). */
export const FUNCTIONS: ReadonlySet<string> = new Set([
  ...MACROS,
  'has',
  'size',
  'bool',
  'int',
  'uint',
  'double',
  'string',
  'dyn',
  'type',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lowerAscii',
  'upperAscii',
  'trim',
  'indexOf',
  'lastIndexOf',
  'substring',
  'split',
  'join',
  'timestamp',
  'duration',
  'getDate',
  'getDayOfMonth',
  'getDayOfWeek',
  'getDayOfYear',
  'getFullYear',
  'getHours',
  'getMilliseconds',
  'getMinutes',
  'getMonth',
  'getSeconds',
]);

/** A bound an expression breaks: what, and where in its source. */
export interface BoundProblem {
  message: string;
  range: SourceRange;
}

interface Scope {
  /** The macro the walk is inside, if any. */
  macro: string | null;
  /** The macro's own variable, inside its body. */
  variable: string | null;
}

/** The first bound that `ast` breaks, or `undefined`. `ast` has passed cel-js's parser and type check. */
export function boundProblem(ast: CelNode): BoundProblem | undefined {
  let regexCalls = 0;
  let concatenations = 0;
  const at = (node: CelNode, message: string): BoundProblem => ({ message, range: { start: node.start, end: node.end } });

  function walk(node: CelNode, scope: Scope): BoundProblem | undefined {
    switch (node.op) {
      case 'id': {
        const name = node.args as string;
        if (name === scope.variable || TYPE_NAMES.has(name)) return undefined;
        if (!VARIABLES.has(name)) return at(node, `unknown variable ${name}: rules see claims, header and client`);
        if (scope.variable !== null) {
          return at(node, `the body of ${scope.macro}() may use only its own variable ${scope.variable}, not ${name}`);
        }
        return undefined;
      }
      case 'rcall':
      case 'call': {
        const [name, receiver, args] =
          node.op === 'rcall'
            ? (node.args as [string, CelNode, CelNode[]])
            : [(node.args as [string, CelNode[]])[0], null, (node.args as [string, CelNode[]])[1]];
        if (!FUNCTIONS.has(name)) return at(node, `${name}() is not available in trust rules`);
        if (MACROS.has(name) && receiver) return macro(node, name, receiver, args, scope);
        if (name === 'matches') {
          if (++regexCalls > MAX_REGEX_CALLS) return at(node, `at most ${MAX_REGEX_CALLS} matches() calls per expression`);
          const pattern = args[args.length - 1];
          if (!pattern || !isStringLiteral(pattern)) return at(pattern ?? node, 'the pattern of matches() must be a string literal');
          const problem = regexProblem(pattern.args as string);
          if (problem) return at(pattern, `matches(): ${problem}`);
        }
        if (name === 'duration' && !receiver && !isShortStringLiteral(args[0], MAX_DURATION_LITERAL_LENGTH)) {
          return at(
            args[0] ?? node,
            `the argument of duration() must be a string literal of at most ${MAX_DURATION_LITERAL_LENGTH} characters`,
          );
        }
        const separator = name === 'join' ? args[0] : undefined;
        if (separator && !isShortStringLiteral(separator, MAX_JOIN_SEPARATOR_LENGTH)) {
          return at(separator, `the separator of join() must be a string literal of at most ${MAX_JOIN_SEPARATOR_LENGTH} characters`);
        }
        return walkAll([receiver, ...args], scope);
      }
      case '+':
        if (++concatenations > MAX_CONCATENATIONS) return at(node, `at most ${MAX_CONCATENATIONS} + operators per expression`);
        return walkAll(children(node), scope);
      default:
        return walkAll(children(node), scope);
    }
  }

  function macro(node: CelNode, name: string, receiver: CelNode, args: CelNode[], scope: Scope): BoundProblem | undefined {
    if (scope.macro !== null) return at(node, `${name}() inside ${scope.macro}(): macros may not be nested`);
    const [variable, ...body] = args;
    const inList = walk(receiver, { macro: name, variable: null });
    if (inList) return inList;
    return walkAll(body, { macro: name, variable: variable?.op === 'id' ? (variable.args as string) : null });
  }

  function walkAll(nodes: ReadonlyArray<CelNode | null>, scope: Scope): BoundProblem | undefined {
    for (const child of nodes) {
      const problem = child ? walk(child, scope) : undefined;
      if (problem) return problem;
    }
    return undefined;
  }

  return walk(ast, { macro: null, variable: null });
}

function isStringLiteral(node: CelNode): boolean {
  return node.op === 'value' && typeof node.args === 'string';
}

function isShortStringLiteral(node: CelNode | undefined, maxLength: number): boolean {
  return node !== undefined && isStringLiteral(node) && (node.args as string).length <= maxLength;
}

/** The parse-tree nodes among a node's arguments (operands, list elements, map keys and values). */
function children(node: CelNode): CelNode[] {
  const found: CelNode[] = [];
  const collect = (value: unknown): void => {
    if (isNode(value)) found.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
  };
  if (node.op !== 'value') collect(node.args);
  return found;
}

function isNode(value: unknown): value is CelNode {
  return typeof value === 'object' && value !== null && typeof (value as CelNode).op === 'string' && 'args' in value;
}
