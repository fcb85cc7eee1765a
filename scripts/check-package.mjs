// Checks the package as it would be published: packs the already built tree once (no lifecycle
// scripts; `npm run check:package` builds first), then runs publint (warnings count as errors) and
// @arethetypeswrong/cli on that one tarball.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const out = mkdtempSync(join(tmpdir(), 'oauth2-jwt-bearer-pack-'));
try {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], { cwd: root, encoding: 'utf8' }),
  );
  const tarball = join(out, packed[0].filename);
  execFileSync(bin('publint'), ['run', '--strict', tarball], { cwd: root, stdio: 'inherit' });
  execFileSync(bin('attw'), [tarball], { cwd: root, stdio: 'inherit' });
} catch (error) {
  process.exitCode = typeof error.status === 'number' && error.status !== 0 ? error.status : 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
