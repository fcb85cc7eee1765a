/** Every export of the package's two entries carries TSDoc: hosts read it in their editor. */
import ts from 'typescript';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const ENTRIES = ['lib/index.ts', 'lib/admin/index.ts'].map((entry) => join(ROOT, entry));

describe('public API documentation', () => {
  it('every export of both entries has a TSDoc comment', () => {
    const program = ts.createProgram(ENTRIES, { strict: true, esModuleInterop: true, skipLibCheck: true, noEmit: true });
    const checker = program.getTypeChecker();
    const undocumented: string[] = [];
    let exports = 0;
    for (const entry of ENTRIES) {
      const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
      for (const exported of checker.getExportsOfModule(module)) {
        exports++;
        const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === '') {
          undocumented.push(`${entry.slice(ROOT.length + 1)}: ${exported.name}`);
        }
      }
    }
    expect(exports).toBeGreaterThan(80);
    expect(undocumented).toEqual([]);
  });
});
