import { join } from 'node:path';

/**
 * The file by which a running example server tells local CLI commands where to send them, in the
 * data directory beside the embedded database: `{ url, token, pid, since }`, mode 0600 (only the
 * owner of the directory can read the token, as only they can open the database files).
 */
export const CLI_ENDPOINT_FILE = 'cli-endpoint.json';

export interface CliEndpoint {
  /** `http://127.0.0.1:<port>/`: loopback only. */
  url: string;
  /** Bearer token of the endpoint, random per server start. */
  token: string;
  /** The server's pid: a file whose process is gone is stale. */
  pid: number;
  since: string;
}

export function cliEndpointPath(dataDir: string): string {
  return join(dataDir, CLI_ENDPOINT_FILE);
}

export function isCliEndpoint(value: unknown): value is CliEndpoint {
  const v = value as Partial<CliEndpoint> | null;
  return (
    !!v &&
    typeof v.url === 'string' &&
    /^http:\/\/127\.0\.0\.1:\d{1,5}\/$/.test(v.url) &&
    typeof v.token === 'string' &&
    v.token.length >= 32 &&
    Number.isInteger(v.pid) &&
    typeof v.since === 'string'
  );
}
