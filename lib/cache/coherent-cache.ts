import { ConfigurationError } from '../errors';
import { LruMap } from '../lru';
import type { ChangeFeed } from './change-feed';

/** Options of {@link CoherentCache}. */
export interface CoherentCacheOptions {
  /** The feed whose notifications empty this cache (e.g. `changeFeedFor(knex)`). */
  feed: ChangeFeed;
  /** Tables whose change empties this cache; a loss or regain of the feed's trust always does. */
  tables: readonly string[];
  /** Most entries kept, least recently used dropped first (default 10000). */
  maxEntries?: number;
}

/**
 * A read-through cache of database rows that stays true across processes: it serves an entry only while
 * its {@link ChangeFeed} is trusted, empties itself on every notification of one of its tables, and
 * never stores an answer whose read may have raced a change (the feed's generation moved while it was
 * read). Misses for one key load once, however many requests ask at the same time. Absent rows
 * (`null`) are cached like present ones, so unknown names cost one read per change, not one per request.
 *
 * @example
 * const clients = new CoherentCache<Client | null>({ feed: changeFeedFor(knex), tables: ['oauth_clients'] });
 * const client = await clients.get(id, () => knex('oauth_clients').where({ id }).first().then((r) => r ?? null));
 */
export class CoherentCache<V> {
  readonly #feed: ChangeFeed;
  readonly #tables: ReadonlySet<string>;
  readonly #entries: LruMap<string, V>;
  readonly #loading = new Map<string, { generation: number; promise: Promise<V> }>();
  #subscribed = false;

  constructor(options: CoherentCacheOptions) {
    if (!options?.feed || typeof options.feed.subscribe !== 'function')
      throw new ConfigurationError('CoherentCache: options.feed must be a ChangeFeed (changeFeedFor(knex)).');
    if (!Array.isArray(options.tables) || options.tables.length === 0)
      throw new ConfigurationError('CoherentCache: options.tables must name at least one table.');
    const maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new ConfigurationError(`CoherentCache: options.maxEntries must be a positive whole number; got ${String(options.maxEntries)}.`);
    }
    this.#feed = options.feed;
    this.#tables = new Set(options.tables);
    this.#entries = new LruMap(maxEntries);
  }

  /** The value for `key`: from memory while the feed is trusted, else (or when absent) from `load`. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const feed = this.#feed;
    if (!this.#subscribed) {
      // On first use, not at construction: a store made for a one-off command never starts listening.
      this.#subscribed = true;
      feed.subscribe((table) => {
        if (table === null || this.#tables.has(table)) this.clear();
      });
    }
    if (feed.trusted) {
      const hit = this.#entries.get(key);
      if (hit !== undefined) return Promise.resolve(hit);
    }
    const generation = feed.generation;
    const pending = this.#loading.get(key);
    if (pending && pending.generation === generation) return pending.promise;

    const promise = load();
    this.#loading.set(key, { generation, promise });
    const settle = () => {
      if (this.#loading.get(key)?.promise === promise) this.#loading.delete(key);
    };
    promise.then((value) => {
      settle();
      // Only an answer read entirely within one unchanged, trusted generation may be kept.
      if (value !== undefined && feed.trusted && feed.generation === generation) this.#entries.set(key, value);
    }, settle);
    return promise;
  }

  /** Forgets everything (also what is being loaded now: those answers will not be kept). */
  clear(): void {
    this.#entries.clear();
    this.#loading.clear();
  }

  /** How many entries are held (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }
}
