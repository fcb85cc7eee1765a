import { readFile, stat } from 'node:fs/promises';
import { cliEndpointPath, isCliEndpoint, type CliEndpoint } from './endpoint-file';
import { CliError } from './errors';
import { decodeWire, encodeWire, type OperationInput, type OperationName, type OperationResult } from './operations';

/** How long one command may take in the server (a bound, so a wedged server never hangs the CLI). */
const COMMAND_TIMEOUT_MS = 60_000;

/** A running example server that takes this data directory's CLI commands. */
export interface RunningServer {
  endpoint: CliEndpoint;
  /** Runs the operation in the server; `'unreachable'` when nothing answers (then the file is stale). */
  run<K extends OperationName>(name: K, input: OperationInput<K>): Promise<OperationResult<K> | 'unreachable'>;
}

/**
 * The server named by `<dataDir>/cli-endpoint.json`, if that file exists and its process is alive;
 * else `null` (nothing runs: the CLI opens the database itself).
 */
export async function findRunningServer(dataDir: string): Promise<RunningServer | null> {
  const file = cliEndpointPath(dataDir);
  let text: string;
  try {
    const info = await stat(file);
    // The token in it opens the database to whoever has it: it must be the owner's alone.
    if ((info.mode & 0o077) !== 0 || (typeof process.getuid === 'function' && info.uid !== process.getuid())) {
      throw new CliError(
        `${file} must be readable by its owner only (mode 0600, owned by you); it is not, so it is not trusted. Delete it and restart the server.`,
      );
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let endpoint: unknown;
  try {
    endpoint = JSON.parse(text);
  } catch {
    return null; // half-written by a crashed writer: as good as absent
  }
  if (!isCliEndpoint(endpoint) || !isAlive(endpoint.pid)) return null;
  const found = endpoint;
  return {
    endpoint: found,
    async run(name, input) {
      let res: Response;
      try {
        res = await fetch(`${found.url}cli`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${found.token}`, 'Content-Type': 'application/json' },
          body: encodeWire({ operation: name, input }),
          signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
        });
      } catch (error) {
        if ((error as Error).name === 'TimeoutError')
          throw new CliError(`The running server (process ${found.pid}) did not answer within ${COMMAND_TIMEOUT_MS / 1000} s.`);
        return 'unreachable';
      }
      const answer = decodeWire(await res.text()) as { ok: boolean; result?: unknown; error?: { message: string; exitCode: number } };
      if (answer.ok) return answer.result as OperationResult<typeof name>;
      throw new CliError(
        answer.error?.message ?? `The running server refused the command (HTTP ${res.status}).`,
        answer.error?.exitCode ?? 1,
      );
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
