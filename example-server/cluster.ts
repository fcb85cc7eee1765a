import cluster, { type Worker } from 'node:cluster';
import type { ServerConfig } from './config';
import type { Logger } from './logger';
import type { WorkerMessage } from './worker';

/** How the primary looks after its workers; the defaults are the documented behaviour. */
export interface SupervisorOptions {
  /** How long workers get to finish their requests on shutdown before they are killed (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Delay before the first restart of a crashed worker; it doubles with every crash in the window (default 250 ms). */
  restartDelayMs?: number;
  /** Longest restart delay (default 10 s). */
  maxRestartDelayMs?: number;
  /** More crashes than this within `crashWindowMs` is a crash loop: the server stops (default 5). */
  maxCrashes?: number;
  /** Default 60 s. */
  crashWindowMs?: number;
}

export interface Supervisor {
  /** Resolves once every initial worker is listening; rejects with the reason when start-up failed (the cluster is then stopped). */
  ready: Promise<void>;
  /** Stops every worker gracefully; resolves to the exit code for the primary (0 clean, 1 when workers had to be killed or the cluster failed). */
  shutdown(reason: string): Promise<number>;
  /** Resolves to the exit code once the cluster has stopped for any reason (a signal, a crash loop, a failed start). */
  stopped: Promise<number>;
}

/**
 * The cluster primary: forks `config.workers` workers on one port (node:cluster, which on Linux hands
 * connections round-robin from the primary), restarts crashed ones, and stops them all on shutdown.
 *
 * Restarts: a worker that exits while the server is not shutting down is replaced after a delay that
 * starts at 250 ms and doubles with each crash counted in the last 60 s; more than 5 crashes in 60 s is
 * a crash loop, and then the whole server stops with exit code 1 (a supervisor such as systemd or
 * Kubernetes is better placed to decide what happens next than a server that keeps forking). A worker
 * that exits with code 0 (someone sent it SIGTERM) is replaced without counting as a crash. A worker of
 * the first start that fails before listening (port in use, unreadable certificate) stops the server:
 * restarting would fail the same way.
 */
export function superviseWorkers(
  config: ServerConfig,
  env: Record<string, string>,
  logger: Logger,
  options: SupervisorOptions = {},
): Supervisor {
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const restartDelayMs = options.restartDelayMs ?? 250;
  const maxRestartDelayMs = options.maxRestartDelayMs ?? 10_000;
  const maxCrashes = options.maxCrashes ?? 5;
  const crashWindowMs = options.crashWindowMs ?? 60_000;

  const live = new Set<Worker>();
  const listened = new WeakSet<Worker>();
  const restarts = new Set<NodeJS.Timeout>();
  let crashes: number[] = [];
  let starting = true;
  let stopping: Promise<number> | undefined;
  let startFailure: string | undefined;

  let markReady!: () => void;
  let failStart!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failStart = reject;
  });
  ready.catch(() => undefined); // handled by whoever awaits it
  let markStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (markStopped = resolve));

  const fork = (replaces?: Worker, delayMs?: number): Worker => {
    const worker = cluster.fork(env);
    live.add(worker);
    if (replaces) logger.warn({ event: 'worker_restarted', workerId: worker.id, replaces: replaces.id, delayMs }, 'worker restarted');
    worker.on('message', (message: WorkerMessage) => {
      if (message?.cmd === 'start_failed') startFailure ??= message.message;
    });
    worker.once('listening', () => {
      listened.add(worker);
      logger.info({ event: 'worker_started', workerId: worker.id, pid: worker.process.pid }, 'worker started');
      if (starting && [...live].every((w) => listened.has(w))) {
        starting = false;
        markReady();
      }
    });
    worker.once('exit', (code, signal) => onExit(worker, code, signal));
    return worker;
  };

  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    live.delete(worker);
    const line = { event: 'worker_exited', workerId: worker.id, pid: worker.process.pid, code, signal };
    if (stopping) {
      logger.info(line, 'worker exited');
      return;
    }
    logger.warn(line, 'worker exited unexpectedly');
    if (starting && !listened.has(worker)) {
      const reason = startFailure ?? `A worker exited during start-up (code ${code ?? signal}).`;
      failStart(new Error(reason));
      void shutdown('start_failed', 1);
      return;
    }
    const now = Date.now();
    const crashed = code !== 0 || signal !== null;
    if (crashed) crashes = [...crashes.filter((t) => now - t < crashWindowMs), now];
    if (crashes.length > maxCrashes) {
      logger.error(
        { event: 'crash_loop', crashes: crashes.length, windowSeconds: crashWindowMs / 1000 },
        'workers keep crashing; stopping the server',
      );
      void shutdown('crash_loop', 1);
      return;
    }
    const delayMs = Math.min(maxRestartDelayMs, restartDelayMs * 2 ** Math.max(0, crashes.length - 1));
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!stopping) fork(worker, delayMs);
    }, delayMs);
    restarts.add(timer);
  };

  const shutdown = (reason: string, code = 0): Promise<number> =>
    (stopping ??= (async () => {
      logger.info({ event: 'shutting_down', reason, workers: live.size }, 'shutting down');
      for (const timer of restarts) clearTimeout(timer);
      restarts.clear();
      const gone = Promise.all([...live].map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r())))));
      for (const worker of live) signal(worker, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        gone.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), shutdownTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        const stragglers = [...live];
        logger.error(
          { event: 'shutdown_timeout', timeoutSeconds: shutdownTimeoutMs / 1000, killed: stragglers.map((w) => w.id) },
          'workers did not stop in time; killed',
        );
        for (const worker of stragglers) signal(worker, 'SIGKILL');
        await gone;
        code = 1;
      }
      markStopped(code);
      return code;
    })());

  for (let i = 0; i < config.workers; i++) fork();
  return { ready, shutdown: (reason) => shutdown(reason), stopped };
}

function signal(worker: Worker, name: NodeJS.Signals): void {
  try {
    worker.process.kill(name);
  } catch {
    // already gone
  }
}
