import { runCli } from './program';

/**
 * Entry point of the `oauth2-jwt-bearer` command (package `bin`). Reads `DATABASE_URL` / `DATA_DIR`
 * like the example server, so both work on the same database.
 */
export async function main(argv: string[] = process.argv): Promise<void> {
  const code = await runCli(argv, {
    env: process.env,
    cwd: process.cwd(),
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  });
  process.exitCode = code;
}

if (require.main === module) void main();
