import type { Logger } from './logger';

/** What the pruner needs of the store: `KnexGrantStore.pruneUsedAssertions`. */
export interface ReplayPruneTarget {
  pruneUsedAssertions(now: Date): Promise<number>;
}

export interface Pruner {
  /** Stops the timer and waits for a run in progress, so the database can be closed after it. */
  stop(): Promise<void>;
}

/**
 * Deletes expired replay records every `intervalSeconds` (0: never), so the used-assertions table does
 * not grow without end. Runs are chained (the next is scheduled when one ends), so two never overlap on a
 * slow database; the first runs one interval after start. A failure is logged and the next run tries
 * again: pruning is housekeeping and must never take the server down. The timer is unref'd, so it alone
 * keeps no process alive.
 */
export function startPruner(options: { store: ReplayPruneTarget; intervalSeconds: number; logger: Logger; now?: () => Date }): Pruner {
  const { store, intervalSeconds, logger } = options;
  const now = options.now ?? (() => new Date());
  if (intervalSeconds <= 0) return { stop: async () => undefined };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const run = async () => {
    try {
      const deleted = await store.pruneUsedAssertions(now());
      if (deleted > 0) logger.info({ event: 'replay_pruned', deleted }, 'expired replay records deleted');
    } catch (error) {
      logger.warn({ event: 'replay_prune_failed', err: error }, 'pruning expired replay records failed; will try again');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalSeconds * 1000);
    timer.unref();
  };
  schedule();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
