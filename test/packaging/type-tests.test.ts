import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readmeSnippets } from './readme-snippets';

const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

describe('type tests (test-d)', () => {
  it('compile the README snippets verbatim', () => {
    const { ts, js } = readmeSnippets();
    expect(readFileSync(join(ROOT, 'test-d', 'node-oauth-5', 'app.ts'), 'utf8')).toContain(ts);
    expect(readFileSync(join(ROOT, 'test-d', 'oauth2-server-3', 'app.js'), 'utf8')).toContain(js);
  });

  it('pass under strict against both hosts, with the negative cases refused', () => {
    const run = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'test-d')], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 120_000);

  it('the main entry needs no Express typings', () => {
    const files = execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'test-d', 'main-entry'), '--listFilesOnly'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(files.some((f) => f.endsWith('/lib/index.ts'))).toBe(true);
    expect(files.filter((f) => /node_modules\/(@types\/)?express[^/]*\//.test(f))).toEqual([]);
  }, 120_000);
});
