import cluster from 'node:cluster';
import { exposeDatabaseToCli, KnexGrantStore } from '../lib';
import { superviseWorkers } from './cluster';
import { ConfigError, loadConfig, type ServerConfig } from './config';
import { createLogger } from './logger';
import { stdoutLines } from './log-stream';
import { banner, prepare, StartError } from './prepare';
import { startPruner } from './prune';
import { publicUrl, serve } from './serve';
import { runWorker } from './worker';

export { StartError } from './prepare';

/** How long requests in flight get to finish on SIGTERM/SIGINT (the cluster primary uses the same bound). */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * `npm start` with WORKERS=1 (always so with the embedded database): validates the environment, opens
 * and migrates the database, runs the DEMO bootstrap, serves the app over HTTPS with the development
 * certificate (or plain HTTP with TLS=off) in this process, and prunes expired replay records every
 * PRUNE_INTERVAL_SECONDS. Human-readable start-up notes (admin token, demo credentials, curl command)
 * go to stderr; stdout carries only the JSON log lines.
 */
export async function start(env: NodeJS.ProcessEnv = process.env): Promise<{ close(): Promise<void>; url: string }> {
  return startSingle(loadConfig(env));
}

async function startSingle(config: ServerConfig): Promise<{ close(): Promise<void>; url: string }> {
  const logger = createLogger({ level: config.logLevel, destination: stdoutLines() });
  const prepared = await prepare(config, logger);
  const { knex, adminToken } = prepared;
  let serving: Awaited<ReturnType<typeof serve>>;
  try {
    serving = await serve({ config, knex, adminToken, logger, tls: prepared.tls });
  } catch (error) {
    await knex.destroy().catch(() => undefined);
    throw error;
  }
  const url = publicUrl(config);
  logger.info(
    {
      event: 'listening',
      url,
      tokenEndpointUrl: config.tokenEndpointUrl,
      tls: config.tls,
      database: config.databaseUrl ? 'postgres' : 'embedded',
    },
    'listening',
  );
  note(banner(config, url, adminToken));
  if (prepared.demoText) note(`\n${prepared.demoText}\n`);
  const pruner = startPruner({ store: new KnexGrantStore(knex), intervalSeconds: config.pruneIntervalSeconds, logger });
  await exposeDatabaseToCli(knex, { dataDir: config.dataDir, logger }); // embedded database: CLI commands run here (lib/cli/server-bridge.ts)

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await pruner.stop();
      await serving.close();
      await knex.destroy();
      logger.info({ event: 'stopped' }, 'stopped');
    })());
  return { close, url };
}

/**
 * WORKERS>1: this process is the cluster primary. It does the once-only work (migrations, DEMO, the
 * certificate), forks the workers, prunes replay records with a small pool of its own, prints the banner
 * once all workers listen, and on SIGTERM/SIGINT stops them all (see superviseWorkers).
 */
async function startPrimary(config: ServerConfig, signal: AbortSignal): Promise<number> {
  const logger = createLogger({ level: config.logLevel, destination: stdoutLines() }).child({ role: 'primary' });
  // Two connections: migrate() holds one for its lock; afterwards only the pruner uses them.
  const prepared = await prepare(config, logger, { poolMax: 2 });
  const { knex, adminToken } = prepared;
  if (signal.aborted) {
    // Stopped while migrating: nothing forked yet.
    await knex.destroy().catch(() => undefined);
    logger.info({ event: 'stopped', code: 0 }, 'stopped');
    return 0;
  }

  // Re-run this very file (TypeScript under tsx, or the compiled .js) with the same loader flags.
  cluster.setupPrimary({ exec: __filename, execArgv: process.execArgv });
  const supervisor = superviseWorkers(config, { ADMIN_TOKEN: adminToken }, logger, { shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS });
  // From here a signal stops the workers, also those still starting (their exit is then no start failure).
  signal.addEventListener('abort', () => void supervisor.shutdown('signal'), { once: true });
  let pruner: ReturnType<typeof startPruner> | undefined;
  let finished: Promise<number> | undefined;
  const finish = (code: number) =>
    (finished ??= (async () => {
      await pruner?.stop();
      await knex.destroy().catch(() => undefined);
      logger.info({ event: 'stopped', code }, 'stopped');
      return code;
    })());
  const stopped = supervisor.stopped.then(finish);

  const started = await Promise.race([supervisor.ready.then(() => true), supervisor.stopped.then(() => false)]).catch(
    async (error: Error) => {
      await stopped;
      throw new StartError(error.message, error);
    },
  );
  if (started) {
    const url = publicUrl(config);
    logger.info(
      {
        event: 'listening',
        url,
        tokenEndpointUrl: config.tokenEndpointUrl,
        tls: config.tls,
        database: 'postgres',
        workers: config.workers,
      },
      'listening',
    );
    note(banner(config, url, adminToken));
    if (prepared.demoText) note(`\n${prepared.demoText}\n`);
    pruner = startPruner({ store: new KnexGrantStore(knex), intervalSeconds: config.pruneIntervalSeconds, logger });
  }
  return stopped;
}

function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Stops on SIGINT/SIGTERM; `on`, not `once`: a wrapper (npm, tsx) may pass the same signal on again, and stopping is idempotent. */
function onSignals(stop: (signal: string) => void): void {
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function failed(error: unknown): never {
  if (error instanceof ConfigError || error instanceof StartError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Start-up failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}

async function main(): Promise<void> {
  // A closed pipe (`npm start | head`, then Ctrl-C) must not crash the server before it has shut down.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  let config: ServerConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    return failed(error);
  }

  if (cluster.isWorker) return runWorker(config);

  if (config.workers === 1) {
    const { close } = await startSingle(config).catch(failed);
    let bound: NodeJS.Timeout | undefined;
    onSignals((signal) => {
      process.stderr.write(`${signal}: shutting down\n`);
      // As a cluster primary does for its workers: requests still running after 10 s are cut off.
      bound ??= setTimeout(() => {
        process.stderr.write('Requests still running after 10 s: stopping anyway.\n');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS).unref();
      close().then(
        () => process.exit(0),
        (error) => {
          process.stderr.write(`Shutdown failed: ${(error as Error)?.stack ?? String(error)}\n`);
          process.exit(1);
        },
      );
    });
    return;
  }

  // Signals during start-up count too: the primary stops what it has started so far.
  const stop = new AbortController();
  onSignals((signal) => {
    if (stop.signal.aborted) return;
    process.stderr.write(`${signal}: shutting down\n`);
    stop.abort();
  });
  process.exit(await startPrimary(config, stop.signal).catch(failed));
}

if (require.main === module) void main();
