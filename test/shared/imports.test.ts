/**
 * The library's import graph has no cycles: not between files, and not between its folders (a folder
 * that imports another which imports it back cannot be understood, or tested, on its own). Shared
 * primitives in lib/shared import nothing of ours but each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = resolve(__dirname, '../../lib');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports and re-exports (type-only ones too: they still tie the modules together). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const targets: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']*)'/gms)) {
    const base = resolve(dirname(file), match[1]!);
    const candidates = [`${base}.ts`, join(base, 'index.ts')];
    const found = candidates.find((candidate) => files.includes(candidate));
    if (found) targets.push(found);
  }
  return targets;
}

const files = sourceFiles(LIB);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** Top-level folder (or root file without `.ts`) of a file under lib/. */
const unitOf = (file: string) => relative(LIB, file).split('/')[0]!.replace(/\.ts$/, '');

/** The strongly connected components with more than one member (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('lib import graph', () => {
  it('finds the imports it is meant to check', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get(join(LIB, 'verifier/decode.ts'))).toContain(join(LIB, 'shared/json.ts'));
  });

  it('has no cycle between files', () => {
    const edges = new Map([...graph].map(([file, targets]) => [relative(LIB, file), new Set(targets.map((t) => relative(LIB, t)))]));
    expect(cycles(edges)).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const [file, targets] of graph) {
      const from = unitOf(file);
      const set = edges.get(from) ?? new Set<string>();
      for (const target of targets) if (unitOf(target) !== from) set.add(unitOf(target));
      edges.set(from, set);
    }
    expect(cycles(edges)).toEqual([]);
  });

  it('keeps lib/shared free of the rest of the library', () => {
    for (const [file, targets] of graph) {
      if (unitOf(file) !== 'shared') continue;
      expect(targets.filter((t) => unitOf(t) !== 'shared').map((t) => relative(LIB, t))).toEqual([]);
    }
  });
});
