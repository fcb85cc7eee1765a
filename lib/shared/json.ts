/**
 * JSON for JOSE headers and JWT claims sets, parsed strictly.
 *
 * RFC 7515 §5.2 (step 4) and RFC 7519 §4 allow a parser either to reject duplicate member names or to
 * keep the last one; RFC 8725 §2.x warns that parsers disagreeing on such input is how a token means one
 * thing to one component and another to the next. We reject: a duplicate name anywhere (compared after
 * unescaping, so `"a"` and `"\u0061"` collide), and a `__proto__` member (JSON.parse keeps it as an own
 * property, but code that copies claims with `Object.assign` would turn it into a prototype).
 */

/** The outcome of {@link parseJsonObject}: the object, or which rule it broke (no input echoed). */
export type JsonObjectResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; problem: 'not JSON' | 'not a JSON object' | 'duplicate member name' | '__proto__ member' };

/** Parses `text` as a JSON object with unique, non-`__proto__` member names at every depth. */
export function parseJsonObject(text: string): JsonObjectResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, problem: 'not a JSON object' };
  const problem = memberNameProblem(text);
  if (problem) return { ok: false, problem };
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * One linear pass over text that JSON.parse has already accepted, so only strings and the structural
 * characters need telling apart: a string is a member name when it follows `{` or, inside an object,
 * `,`. The nesting stack is an array, not recursion, so depth cannot overflow the call stack.
 */
function memberNameProblem(text: string): 'duplicate member name' | '__proto__ member' | undefined {
  const stack: Array<Set<string> | null> = []; // a Set of names per open object; null per open array
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      for (; ; end++) {
        const d = text.charCodeAt(end);
        if (d === BACKSLASH) {
          escaped = true;
          end++; // skip the escaped character (a `"` or `\` among them)
        } else if (d === QUOTE) {
          break;
        }
      }
      if (expectName) {
        const name: string = escaped ? JSON.parse(text.slice(i, end + 1)) : text.slice(i + 1, end);
        const names = stack[stack.length - 1]!;
        if (name === '__proto__') return '__proto__ member';
        if (names.has(name)) return 'duplicate member name';
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (c === OPEN_BRACE) {
      stack.push(new Set());
      expectName = true;
    } else if (c === OPEN_BRACKET) {
      stack.push(null);
      expectName = false;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      stack.pop();
      expectName = false;
    } else if (c === COMMA) {
      expectName = stack.length > 0 && stack[stack.length - 1] !== null;
    }
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
