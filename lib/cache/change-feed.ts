import type { Knex } from 'knex';
import { Client, type ClientConfig } from 'pg';
import { pgliteOf } from '../db/pglite';
import { CONFIG_CHANNEL, CONFIG_TABLES as TABLES_OF_002 } from '../../migrations/002_replay_namespace_and_change_feed';
import { RULES_TABLE } from '../../migrations/003_workload_identity';

export { CONFIG_CHANNEL };
/** The configuration tables whose changes notify {@link CONFIG_CHANNEL}: those of migration 002 and the trust rules of 003. */
export const CONFIG_TABLES: readonly string[] = [...TABLES_OF_002, RULES_TABLE];

/** How a {@link ChangeFeed} watches its connection. All in milliseconds. */
export interface ChangeFeedOptions {
  /** How often the listening connection is asked to answer (default 1000). */
  heartbeatIntervalMs?: number;
  /** How long an answer may take before the connection is taken for lost (default 2000). */
  heartbeatTimeoutMs?: number;
  /** First wait before reconnecting; doubles on each failure up to {@link reconnectMaxMs} (default 100). */
  reconnectMinMs?: number;
  /** Longest wait between reconnection attempts (default 2000). */
  reconnectMaxMs?: number;
}

/** Defaults of {@link ChangeFeedOptions}: worst-case staleness after a silent connection loss is interval + timeout (3 s). */
export const CHANGE_FEED_DEFAULTS = {
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 2000,
  reconnectMinMs: 100,
  reconnectMaxMs: 2000,
} as const;

/**
 * Tells in-process caches that the configuration in the database changed, from the database's own
 * `NOTIFY jwt_bearer_config, '<table>'` (sent by triggers, whoever wrote). A cache may serve what it holds
 * only while the feed is {@link trusted}: listening, with no notification possibly missed since the
 * cache's entries were read. Each change and each loss or regain of trust bumps {@link generation}, so
 * a read that started before a change can tell that its answer may be stale.
 */
export interface ChangeFeed {
  /** Whether cached configuration may be served now. */
  readonly trusted: boolean;
  /** Bumped on every notification and every change of {@link trusted}. */
  readonly generation: number;
  /**
   * Calls `listener(table)` on every change notification, and `listener(null)` when trust is lost or
   * regained (everything may have changed). Starts the feed if it is not running. Returns the unsubscriber.
   */
  subscribe(listener: (table: string | null) => void): () => void;
  /**
   * Tells every cache on this feed to forget everything now, without waiting for the database's
   * notification: for a process that has just committed a configuration change itself.
   */
  invalidate(): void;
  /** Stops listening; the feed is untrusted from then on. Idempotent. */
  close(): Promise<void>;
}

const feeds = new WeakMap<object, ChangeFeed>();

/**
 * The change feed of a knex's database: one per knex (one listening connection per process, shared by
 * every cache on that knex). PostgreSQL: a dedicated `pg` connection with `LISTEN`, a heartbeat and
 * reconnection. PGlite: `pglite.listen()` on the one instance (only this process can write to it).
 * A knex whose connection settings cannot be read (a connection function) gets a feed that is never
 * trusted: caches on it read through to the database every time.
 *
 * @example
 * const feed = changeFeedFor(knex);
 * const off = feed.subscribe((table) => console.log('changed:', table ?? 'everything'));
 */
export function changeFeedFor(knex: Knex, options: ChangeFeedOptions = {}): ChangeFeed {
  let feed = feeds.get(knex.client);
  if (!feed) {
    const pglite = pgliteOf(knex);
    if (pglite) feed = new PgliteChangeFeed((listener) => pglite.listen(CONFIG_CHANNEL, listener));
    else {
      const config = connectionConfigOf(knex);
      feed = config ? new PostgresChangeFeed(knex, config, { ...CHANGE_FEED_DEFAULTS, ...options }) : new UntrustedChangeFeed();
    }
    feeds.set(knex.client, feed);
  }
  return feed;
}

/** Shared bookkeeping: listeners, generation, trust. */
abstract class BaseFeed implements ChangeFeed {
  #trusted = false;
  #generation = 0;
  #listeners = new Set<(table: string | null) => void>();
  protected closed = false;

  get trusted(): boolean {
    return this.#trusted;
  }

  get generation(): number {
    return this.#generation;
  }

  subscribe(listener: (table: string | null) => void): () => void {
    this.#listeners.add(listener);
    this.start();
    return () => void this.#listeners.delete(listener);
  }

  invalidate(): void {
    this.changed(null);
  }

  abstract close(): Promise<void>;
  protected abstract start(): void;

  protected changed(table: string | null): void {
    this.#generation++;
    for (const listener of this.#listeners) {
      try {
        listener(table);
      } catch {
        // A cache's bookkeeping must not stop the others from hearing of the change.
      }
    }
  }

  protected setTrusted(trusted: boolean): void {
    if (this.#trusted === trusted) return;
    this.#trusted = trusted;
    this.changed(null);
  }
}

class UntrustedChangeFeed extends BaseFeed {
  protected start(): void {}
  async close(): Promise<void> {}
}

class PgliteChangeFeed extends BaseFeed {
  #started?: Promise<(() => Promise<void>) | undefined>;

  constructor(private readonly listen: (listener: (payload: string) => void) => Promise<() => Promise<void>>) {
    super();
  }

  protected start(): void {
    this.#started ??= this.listen((payload) => this.changed(payload)).then(
      (unlisten) => {
        if (this.closed) return void unlisten().catch(() => undefined);
        this.setTrusted(true);
        return unlisten;
      },
      () => undefined, // PGlite closed: stay untrusted, caches read through.
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.setTrusted(false);
    const unlisten = await this.#started;
    await unlisten?.().catch(() => undefined);
  }
}

/**
 * LISTEN on a dedicated connection. Trust is given only after `LISTEN` has been acknowledged (so no
 * notification after that point can be missed), and taken away at once when the connection errors,
 * ends, or misses a heartbeat; the caches then read through to the database until the feed has
 * reconnected and listens again. The connection's socket is unref'd and the feed stops by itself once
 * the knex is destroyed, so it never keeps a process alive.
 */
class PostgresChangeFeed extends BaseFeed {
  #client?: Client;
  #running = false;
  #timer?: NodeJS.Timeout;
  #backoff: number;

  constructor(
    private readonly knex: Knex,
    private readonly config: ClientConfig,
    private readonly options: Required<ChangeFeedOptions>,
  ) {
    super();
    this.#backoff = options.reconnectMinMs;
  }

  protected start(): void {
    if (this.#running || this.closed) return;
    this.#running = true;
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.#timer);
    this.setTrusted(false);
    await this.drop();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    if (!knexAlive(this.knex)) return void this.close();
    const client = new Client({
      ...this.config,
      application_name: 'oauth2-jwt-bearer change feed',
      query_timeout: this.options.heartbeatTimeoutMs,
    });
    this.#client = client;
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel === CONFIG_CHANNEL) this.changed(message.payload ?? null);
    });
    try {
      await client.connect();
      unrefSocket(client);
      await client.query(`LISTEN ${CONFIG_CHANNEL}`);
    } catch {
      return this.lost(client);
    }
    if (this.#client !== client || this.closed) return;
    this.#backoff = this.options.reconnectMinMs;
    this.setTrusted(true);
    this.schedule(() => this.heartbeat(client), this.options.heartbeatIntervalMs);
  }

  private async heartbeat(client: Client): Promise<void> {
    if (this.#client !== client) return;
    if (!knexAlive(this.knex)) return void this.close();
    try {
      await client.query('SELECT 1');
    } catch {
      return this.lost(client);
    }
    this.schedule(() => this.heartbeat(client), this.options.heartbeatIntervalMs);
  }

  /** The connection is gone or unusable: distrust at once, drop it, and try again after a pause. */
  private lost(client: Client): void {
    if (this.#client !== client) return;
    this.setTrusted(false);
    void this.drop();
    if (this.closed) return;
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.options.reconnectMaxMs);
    this.schedule(() => this.connect(), wait);
  }

  private async drop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  }

  private schedule(work: () => Promise<void>, ms: number): void {
    clearTimeout(this.#timer);
    if (this.closed) return;
    this.#timer = setTimeout(() => void work(), ms);
    this.#timer.unref();
  }
}

/** The pg connection settings of a knex made with a string or object connection; `undefined` otherwise. */
function connectionConfigOf(knex: Knex): ClientConfig | undefined {
  const connection = (knex.client.config as Knex.Config).connection;
  if (typeof connection === 'string') return { connectionString: connection };
  if (connection && typeof connection === 'object') {
    const { statement_timeout: _s, query_timeout: _q, ...rest } = connection as Record<string, unknown>;
    return rest as ClientConfig;
  }
  return undefined;
}

/** knex sets its pool to undefined when destroyed. */
function knexAlive(knex: Knex): boolean {
  return Boolean((knex.client as { pool?: unknown }).pool);
}

/** The listening socket must not keep a process alive by itself. */
function unrefSocket(client: Client): void {
  (client as unknown as { connection?: { stream?: { unref?(): void } } }).connection?.stream?.unref?.();
}
