/** A failure the CLI reports as one clear sentence and a non-zero exit code (no stack trace). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}
