import cluster from 'node:cluster';
import type { Knex } from 'knex';
import { openDatabase } from '../lib';
import type { ServerConfig } from './config';
import { createLogger } from './logger';
import { stdoutLines } from './log-stream';
import { StartError } from './prepare';
import { serve } from './serve';
import { ensureDevCertificate } from './tls';

/** Messages a worker sends its primary (besides node:cluster's own). */
export type WorkerMessage = { cmd: 'start_failed'; message: string };

/**
 * One cluster worker: the primary has validated the configuration, migrated the database, run the demo
 * bootstrap and made the development certificate; it hands its admin token down in `ADMIN_TOKEN`. The
 * worker opens its own pool and serves. SIGTERM or SIGINT (from the primary, or from a terminal's
 * Ctrl-C, which reaches the whole process group) stops it gracefully: no new connections, requests in
 * flight answered, pool closed, exit 0.
 */
export async function runWorker(config: ServerConfig): Promise<void> {
  const id = cluster.worker?.id ?? 0;
  const logger = createLogger({ level: config.logLevel, destination: stdoutLines() }).child({ role: 'worker', worker: id });
  let knex: Knex | undefined;
  let serving: Awaited<ReturnType<typeof serve>>;
  try {
    knex = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    // Reads the certificate the primary has just made or checked.
    const tls = config.tls ? await ensureDevCertificate(config.dataDir, { extraHosts: [config.host] }) : undefined;
    serving = await serve({ config, knex, adminToken: config.adminToken!, logger, tls });
  } catch (error) {
    const message =
      error instanceof StartError ? error.message : `Worker ${id} could not start: ${(error as Error)?.message ?? String(error)}`;
    logger.error({ event: 'worker_start_failed', err: error }, 'worker could not start');
    await knex?.destroy().catch(() => undefined);
    // The primary prints one sentence for all workers and stops the cluster.
    const report: WorkerMessage = { cmd: 'start_failed', message };
    if (process.send) process.send(report, () => process.exit(1));
    else process.exit(1);
    return;
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await serving.close();
      await knex!.destroy();
    })().then(
      () => process.exit(0),
      (error) => {
        logger.error({ event: 'worker_stop_failed', err: error }, 'worker did not stop cleanly');
        process.exit(1);
      },
    ));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
