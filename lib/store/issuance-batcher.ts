import type { IssuanceInput } from './types';

/** One waiting {@link IssuanceBatcher.record} call. */
interface Pending {
  input: IssuanceInput;
  now: Date;
  resolve(auditId: string | null): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

/** Writes a batch in one statement; answers, per access-token hash, the audit row id of each row written. */
export type WriteBatch = (inputs: readonly IssuanceInput[], now: Date) => Promise<ReadonlyMap<string, string>>;

/**
 * Group commit for replay records: while one batch is being written, the requests that arrive wait and
 * then go together in the next one statement (one commit), so a busy server pays for one statement and
 * one commit per batch instead of per request, and an idle one waits for nothing (a lone request is a
 * batch of one, sent at once).
 *
 * Exactly-once is the statement's: each row's replay record is inserted (or an expired one reused) by the
 * primary key, and only rows whose record was written get an audit row and an id back; a row without an
 * id was a replay. Two requests with the same replay key never share a batch (PostgreSQL cannot upsert one
 * row twice in one statement): the later one waits for the next batch, where the key is already taken.
 * A failed statement fails every request of its batch and writes nothing for any of them. A request
 * that has waited `maxWaitMs` for a batch to take it (the statement ahead of it is stuck) fails as a
 * pool acquire would, so the database's bounded waits stay bounded.
 */
export class IssuanceBatcher {
  readonly #write: WriteBatch;
  readonly #maxBatch: number;
  readonly #maxWaitMs: number;
  readonly #timedOut: () => unknown;
  #queue: Pending[] = [];
  #writing = false;

  constructor(write: WriteBatch, options: { maxBatch?: number; maxWaitMs: number; timedOut: () => unknown }) {
    this.#write = write;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#maxWaitMs = options.maxWaitMs;
    this.#timedOut = options.timedOut;
  }

  record(input: IssuanceInput, now: Date): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        input,
        now,
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.#queue.indexOf(pending);
          if (at < 0) return; // already being written
          this.#queue.splice(at, 1);
          reject(this.#timedOut());
        }, this.#maxWaitMs),
      };
      this.#queue.push(pending);
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#take();
        // The earliest clock of the batch decides which records count as expired: never more lenient
        // than any one request would have been alone.
        const now = new Date(Math.min(...batch.map((p) => p.now.getTime())));
        try {
          const written = await this.#write(
            batch.map((p) => p.input),
            now,
          );
          for (const p of batch) p.resolve(written.get(p.input.accessTokenSha256) ?? null);
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Up to maxBatch waiting requests, at most one per replay key among those that write a replay record
   * (one that writes none, `recordReplay: false`, upserts nothing and may share a batch with its key);
   * the others stay queued in order.
   */
  #take(): Pending[] {
    const batch: Pending[] = [];
    const keys = new Set<string>();
    const rest: Pending[] = [];
    for (const p of this.#queue) {
      const key = p.input.recordReplay === false ? undefined : `${p.input.tenantId}\0${p.input.idpName}\0${p.input.replayKey}`;
      if (batch.length < this.#maxBatch && (key === undefined || !keys.has(key))) {
        if (key !== undefined) keys.add(key);
        clearTimeout(p.timer);
        batch.push(p);
      } else rest.push(p);
    }
    this.#queue = rest;
    return batch;
  }
}
