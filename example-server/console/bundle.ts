import { join } from 'node:path';

/** The console's front-end sources: Preact components in JSX, bundled by esbuild. */
export const WEB_DIR = join(__dirname, 'web');

/**
 * Bundles the console's JavaScript in memory (esbuild, about 20–50 ms): nothing generated is
 * committed or written, so a fresh clone's `npm start` serves the console with no build step, and
 * the bundle can never be older than its sources. esbuild is loaded only here, on the first request
 * for the console, so a server that never serves it never starts esbuild.
 */
export async function bundleConsole(): Promise<string> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(WEB_DIR, 'main.jsx')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'eof',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no console bundle.');
  return file.text;
}
