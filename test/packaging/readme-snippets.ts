import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

/**
 * The README's "Adding the grant" snippets, exactly as written there: `ts` for @node-oauth/oauth2-server 5
 * (ESM TypeScript), `js` for oauth2-server 3.1 (CommonJS). The type tests and the fixture apps must
 * contain them verbatim, so the README cannot drift from what is compiled and run.
 */
export function readmeSnippets(): { ts: string; js: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Adding the grant'));
  const block = (lang: string) => {
    const found = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
    if (!found?.[1]) throw new Error(`README: no \`\`\`${lang} block under "Adding the grant"`);
    return found[1];
  };
  return { ts: block('ts'), js: block('js') };
}
