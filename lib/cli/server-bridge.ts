import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { isPglite } from '../db/pglite';
import { cliEndpointPath, type CliEndpoint } from './endpoint-file';
import { decodeWire, encodeWire, isOperationName, runOperation } from './operations';
import { describeCliError, exitCodeOf } from './errors';

/** Largest command body: a few certificates. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Options of {@link exposeDatabaseToCli}. */
export interface CliBridgeOptions {
  /** The data directory of the embedded database (where the CLI looks for the endpoint file). */
  dataDir: string;
  /** For one line per command (name and outcome, never the input) and for failures. */
  logger?: { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/** The running bridge: the loopback URL the CLI is sent to, and how to stop it (removes the endpoint file). */
export interface CliBridge {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Lets `oauth2-jwt-bearer` commands (`idp add`, `tenant add`, …) work while this process holds the
 * embedded database. PGlite is one process's database: a second process opening the same directory
 * would silently diverge, so the directory is locked and the CLI used to be refused. Instead, this
 * process listens on 127.0.0.1 (a random port) and runs the CLI's own operations
 * (`operations.ts`) on its own connection: one writer, and every change is seen at once by this
 * server. The CLI finds the endpoint through `<dataDir>/cli-endpoint.json` (mode 0600: URL, a random
 * token, pid), which is removed again when the database closes or the process exits.
 *
 * Does nothing (resolves to `null`) for PostgreSQL or an in-memory database: there the CLI opens the
 * database itself. The bridge closes itself just before `knex.destroy()` runs, so a command never
 * reaches a closed database.
 *
 * @example
 * const knex = await openDatabase({ dataDir });
 * await exposeDatabaseToCli(knex, { dataDir, logger });
 */
export async function exposeDatabaseToCli(knex: Knex, options: CliBridgeOptions): Promise<CliBridge | null> {
  if (!isPglite(knex) || options.dataDir === ':memory:') return null;
  const token = randomBytes(32).toString('base64url');
  const expected = digest(`Bearer ${token}`);
  const logger = options.logger;

  const server = http.createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      const text = encodeWire(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const authorization = req.headers.authorization ?? '';
    if (!timingSafeEqual(digest(authorization), expected))
      return answer(401, { ok: false, error: { message: 'Wrong or missing CLI endpoint token.', exitCode: 1 } });
    if (req.method !== 'POST' || req.url !== '/cli') return answer(404, { ok: false, error: { message: 'Only POST /cli.', exitCode: 1 } });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      let command: { operation?: unknown; input?: unknown };
      try {
        command = decodeWire(Buffer.concat(chunks).toString('utf8')) as typeof command;
      } catch {
        return answer(400, { ok: false, error: { message: 'The command is not valid JSON.', exitCode: 1 } });
      }
      const { operation, input } = command ?? {};
      if (!isOperationName(operation))
        return answer(400, { ok: false, error: { message: `Unknown operation ${JSON.stringify(operation)}.`, exitCode: 1 } });
      runOperation(knex, operation, (input ?? {}) as never).then(
        (result) => {
          logger?.info({ event: 'cli_command', operation, outcome: 'done' }, 'CLI command run');
          answer(200, { ok: true, result });
        },
        (error: unknown) => {
          const { message, expected: known } = describeCliError(error, false);
          if (!known) logger?.error({ event: 'cli_command', operation, outcome: 'failed', err: error }, 'CLI command failed');
          else logger?.info({ event: 'cli_command', operation, outcome: 'refused' }, 'CLI command refused');
          answer(200, { ok: false, error: { message, exitCode: exitCodeOf(error) } });
        },
      );
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // The database's own life decides; the bridge never keeps the process up.
  server.unref();

  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const file = cliEndpointPath(options.dataDir);
  const content: CliEndpoint = { url, token, pid: process.pid, since: new Date().toISOString() };
  const text = `${JSON.stringify(content)}\n`;
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600, flag: 'w' });
  await rename(temporary, file); // atomic: a reader sees the old file or the whole new one

  // Removed on every way out: close() / knex.destroy(), or the process exiting without them.
  const removeSync = () => {
    try {
      if (readFileSync(file, 'utf8') === text) unlinkSync(file);
    } catch {
      // gone already
    }
  };
  process.once('exit', removeSync);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      process.removeListener('exit', removeSync);
      if ((await readFile(file, 'utf8').catch(() => null)) === text) await unlink(file).catch(() => undefined);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })());

  // knex.destroy() is read-only, and hands over to its client's destroy(): close the bridge first there.
  const client = knex.client as { destroy(callback?: unknown): Promise<void> };
  const destroy = client.destroy.bind(client);
  client.destroy = async (callback?: unknown) => {
    await close();
    return destroy(callback);
  };
  logger?.info({ event: 'cli_bridge', file }, 'CLI commands on this data directory run in this server');
  return { url, close };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
