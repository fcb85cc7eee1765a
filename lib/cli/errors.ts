import { AdminError } from '../admin/errors';
import { DataDirLockedError } from '../db/data-dir-lock';
import { OAuth2JwtBearerError, StoreUnavailableError } from '../errors';
import { isDatabaseUnavailable } from '../db/failure';

/** A failure the CLI reports as one clear sentence and a non-zero exit code (no stack trace). */
export class CliError extends OAuth2JwtBearerError {
  readonly code = 'cli_failed';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : 1;
}

/**
 * The sentence the CLI prints for a failure; `expected` is false for a failure nobody meant (a bug,
 * a driver error), which a server running the command should log.
 */
export function describeCliError(error: unknown, usesUrl: boolean): { message: string; expected: boolean } {
  if (error instanceof CliError || error instanceof AdminError) return { message: error.message, expected: true };
  if (error instanceof DataDirLockedError) {
    return {
      expected: true,
      message:
        `The embedded database is in use by process ${error.pid}, which does not take CLI commands (lock file ${error.lockFile}). ` +
        'A running example server (npm start) takes them: if that process is one still starting, try again in a moment. ' +
        'Otherwise stop it, or use its admin API (/admin), or a DATABASE_URL. If no such process runs any more, delete the lock file.',
    };
  }
  const code = driverCode(error);
  if (code === '42P01')
    return { message: 'The database has no oauth2-jwt-bearer tables yet: run `oauth2-jwt-bearer migrate` first.', expected: true };
  if (isDatabaseUnavailable(error)) {
    const where = usesUrl ? 'the database at --database-url/DATABASE_URL' : 'the embedded database';
    return {
      message: `Cannot reach ${where}${code ? ` (${code})` : ''}. Check that the database is running and the URL is right.`,
      expected: true,
    };
  }
  return { message: (error as Error)?.message ?? String(error), expected: false };
}

/** The driver's error code (SQLSTATE or errno), looking through wrappers such as StoreUnavailableError. */
function driverCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && !(e instanceof StoreUnavailableError)) return e.code;
  }
  return undefined;
}
