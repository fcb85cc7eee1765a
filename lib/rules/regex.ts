/**
 * What a `matches()` pattern of a trust rule may be (docs/workload-identity.md, "Limits"). cel-js runs
 * `matches()` with JavaScript's backtracking RegExp, whose time on a bad pattern grows exponentially
 * with the input (`(a+)+$`) or as a power of it (`a+x` takes 0.1 s on 12 000 `a`s, `.*.*x` minutes), and
 * claims are chosen by whoever the IdP signs for. A pattern is accepted only when the number of ways
 * the engine can try it is bounded, so that its time is linear in the input:
 *
 * - no backreference (`\1`, `\k<name>`) and no lookaround: RE2, CEL's own regular expression dialect,
 *   has neither, so rules stay portable;
 * - a pattern that does not start with `^` (or has a top-level `|`) is tried at every offset, so it may
 *   not repeat at all (`*`, `+`, `{m,}`, `{m,n}` with n > m);
 * - a pattern that starts with `^` may repeat once, freely (`.*`, `[0-9]{1,20}`), as its last repetition;
 *   before it, only repetitions that can stop in one place: a negated class followed by a character it
 *   excludes (`[^:]+:`, `[^/]+/`);
 * - no repeated group holding a repetition, an alternation or an optional part (`(a+)+`, `(a|aa)*`);
 * - alternatives and optional parts multiply the ways: at most {@link MAX_REGEX_BRANCHES} in all.
 */

/** The longest pattern, in characters. */
export const MAX_REGEX_LENGTH = 256;
/** The most ways alternatives (`a|b`) and optional parts (`x?`) may give a pattern, multiplied. */
export const MAX_REGEX_BRANCHES = 16;

interface Group {
  /** It holds a repetition, an alternation or an optional part: repeating it would multiply them. */
  branches: boolean;
  /** Its `|` count. */
  bars: number;
}

type Atom = { kind: 'group'; group: Group } | { kind: 'plain'; excludes?: ReadonlySet<string> } | { kind: 'none' };

/** Why `pattern` is refused as a `matches()` argument, or `undefined` when it is accepted. */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `the pattern is longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    new RegExp(pattern); // as cel-js will build it: no flags
  } catch {
    return 'the pattern is not a valid regular expression';
  }

  const stack: Group[] = [{ branches: false, bars: 0 }];
  let last: Atom = { kind: 'none' };
  let repetitions = 0; // of any kind
  let freeRepetition = false; // one that can stop in many places has been seen
  let ways = 1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const top = stack[stack.length - 1]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && pattern[i + 2] === '<')) return 'backreferences are not supported';
      i++;
      last = { kind: 'plain' };
    } else if (c === '[') {
      const end = classEnd(pattern, i);
      last = { kind: 'plain', excludes: excludedCharacters(pattern.slice(i, end + 1)) };
      i = end;
    } else if (c === '(') {
      if (/^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) return 'lookahead and lookbehind are not supported';
      stack.push({ branches: false, bars: 0 });
      last = { kind: 'none' };
    } else if (c === ')') {
      const group = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      ways *= group.bars + 1;
      parent.branches ||= group.branches || group.bars > 0; // what a group holds, its enclosing groups hold too
      last = { kind: 'group', group };
    } else if (c === '|') {
      top.bars++;
      last = { kind: 'none' };
    } else {
      const quantifier = quantifierAt(pattern, i);
      if (!quantifier) {
        last = { kind: 'plain' };
        continue;
      }
      i = quantifier.end - 1;
      if (pattern[i + 1] === '?') i++; // lazy: the same ways
      const atom = last;
      last = { kind: 'none' };
      if (quantifier.max > 1 && atom.kind === 'group' && (atom.group.branches || atom.group.bars > 0)) {
        return 'a repeated group may not hold a repetition, an alternation or an optional part (nested quantifiers)';
      }
      if (quantifier.max <= quantifier.min) continue; // a fixed count: one way
      top.branches = true;
      if (quantifier.max === 1) {
        ways *= 2; // optional
        continue;
      }
      repetitions++;
      if (freeRepetition) return 'nothing may repeat after a repetition that can stop in many places, like .* or [a-z]+';
      // `[^:]+:` can stop only at the first `:`: one way, so it may come before the free repetition.
      const stops = atom.kind === 'plain' && atom.excludes !== undefined && stopsAt(pattern, i + 1, atom.excludes);
      if (!stops) freeRepetition = true;
    }
  }
  const anchored = pattern.startsWith('^') && stack[0]!.bars === 0;
  if (!anchored && repetitions > 0) return 'a pattern that repeats (*, +, {m,n}) must start with ^ and have no top-level |';
  if (ways * (stack[0]!.bars + 1) > MAX_REGEX_BRANCHES) {
    return `the pattern has too many alternatives and optional parts (at most ${MAX_REGEX_BRANCHES} ways)`;
  }
  return undefined;
}

/**
 * The characters a negated class of plain characters excludes (`[^:/]` → `:` and `/`); `undefined` for
 * any other class (ranges, escapes, a positive class).
 */
function excludedCharacters(characterClass: string): ReadonlySet<string> | undefined {
  const body = /^\[\^([^\]\\\-^]+)\]$/.exec(characterClass)?.[1];
  return body ? new Set(body) : undefined;
}

/**
 * Whether the pattern goes on at `i` with exactly one of the `excluded` characters, itself not repeated
 * or optional: a plain character, or an escaped punctuation mark like `\.`.
 */
function stopsAt(pattern: string, i: number, excluded: ReadonlySet<string>): boolean {
  const c = pattern[i];
  const escaped = c === '\\';
  const literal = escaped ? pattern[i + 1] : c;
  if (literal === undefined || !excluded.has(literal)) return false;
  if (escaped ? /[A-Za-z0-9]/.test(literal) : /[\\^$.|?*+()[\]{}]/.test(literal)) return false;
  return quantifierAt(pattern, i + (escaped ? 2 : 1)) === undefined;
}

/** The index of the `]` closing the character class that opens at `start` (the pattern is valid). */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']') return i;
  }
  return pattern.length;
}

/** A quantifier starting at `i`: its counts (`max` Infinity when unbounded) and where it ends. */
function quantifierAt(pattern: string, i: number): { min: number; max: number; end: number } | undefined {
  const c = pattern[i];
  if (c === '*') return { min: 0, max: Infinity, end: i + 1 };
  if (c === '+') return { min: 1, max: Infinity, end: i + 1 };
  if (c === '?') return { min: 0, max: 1, end: i + 1 };
  if (c !== '{') return undefined;
  // Without the u flag, a `{` that does not start a well-formed count is a literal character.
  const counted = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
  if (!counted) return undefined;
  const min = Number(counted[1]);
  const max = counted[2] === undefined ? min : counted[3] === '' ? Infinity : Number(counted[3]);
  return { min, max, end: i + counted[0].length };
}
