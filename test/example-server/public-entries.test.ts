/**
 * The example server is a consumer of the package: it may import nothing of ours but the package's
 * public entries, `lib/index.ts` (`oauth2-jwt-bearer`) and `lib/admin/index.ts` (`oauth2-jwt-bearer/admin`).
 * Whatever else it needs is either missing public API or does not belong in the example.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'example-server');
const PUBLIC_ENTRIES = new Set(['lib', 'lib/index', 'lib/admin', 'lib/admin/index']);
const PACKAGE_ENTRIES = new Set(['oauth2-jwt-bearer', 'oauth2-jwt-bearer/admin']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Every module specifier: static and type imports, re-exports, `import()` and `require()`. */
export function specifiersOf(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]!));
}

/** The specifiers of `file` that reach into the package other than through a public entry. */
function violations(file: string): string[] {
  return specifiersOf(readFileSync(file, 'utf8')).filter((specifier) => {
    if (specifier.startsWith('.')) {
      const target = relative(ROOT, resolve(dirname(file), specifier))
        .replace(/\\/g, '/')
        .replace(/\.(ts|js)$/, '');
      if (target === 'example-server' || target.startsWith('example-server/')) return false;
      return !PUBLIC_ENTRIES.has(target);
    }
    return specifier.startsWith('oauth2-jwt-bearer') && !PACKAGE_ENTRIES.has(specifier);
  });
}

describe('example-server imports only the public entries', () => {
  const files = sourceFiles(EXAMPLE);

  it('finds the example sources', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(files).toContain(join(EXAMPLE, 'app.ts'));
  });

  it('reads every kind of import the check relies on', () => {
    const sample = [
      "import { a } from '../lib/http/form-body';",
      "import type { B } from '../lib/types';",
      "export { c } from '../lib/admin/router';",
      "import '../lib/side-effect';",
      "const d = await import('../lib/cli/program');",
      "const e = require('../lib/hash');",
      "import {\n  f,\n  type G,\n} from '../lib';",
    ].join('\n');
    expect(specifiersOf(sample)).toEqual([
      '../lib/http/form-body',
      '../lib/types',
      '../lib/admin/router',
      '../lib/side-effect',
      '../lib',
      '../lib/cli/program',
      '../lib/hash',
    ]);
  });

  it('has no import of ours but ../lib and ../lib/admin', () => {
    const found = files.flatMap((file) => violations(file).map((specifier) => `${relative(ROOT, file)}: ${specifier}`));
    expect(found).toEqual([]);
  });
});
