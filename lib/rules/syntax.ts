/**
 * The shapes of cel-js's parse tree and source positions that the compiler, its bounds, the explanations
 * and the lint all read: a module of its own so that none of them imports another just for a type.
 */

/** Where in an expression's source a problem is: zero-based character offsets, `end` exclusive. */
export interface SourceRange {
  start: number;
  end: number;
}

/** A node of cel-js's parse tree, as far as explanations and lint read it. */
export interface CelNode {
  op: string;
  args: unknown;
  start: number;
  end: number;
}
