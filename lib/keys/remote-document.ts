import { ConfigurationError, JwtBearerError } from '../errors';
import { LruMap } from '../lru';
import { fetchJwksDocument, JwksFetchError, type DocumentKind, type FetchFunction } from './jwks-fetch';

/** How one kind of remote document is fetched and kept. All durations are milliseconds. */
export interface RemoteDocumentPolicy {
  /** One download, connect to last body byte, must finish within this. */
  timeoutMs: number;
  /** Largest accepted body in bytes. */
  maxBytes: number;
  /** How long a document is fresh when the response has no usable `Cache-Control: max-age`. */
  ttlMs: number;
  /** Lower bound on freshness, whatever `max-age` says. */
  minTtlMs: number;
  /** Upper bound on freshness, whatever `max-age` says. */
  maxTtlMs: number;
  /** How long past its freshness a document may still be used while refreshing it fails. */
  staleMs: number;
  /** After a failed download with nothing usable, no new attempt for this long (callers are answered at once). */
  retryAfterFailureMs: number;
  /** A miss in the cached document (a key it lacks) allows one refetch of that URL per this period. */
  refetchCooldownMs: number;
  /** How many URLs keep their document in memory, least recently used dropped first. */
  maxUris: number;
}

/** What a document's parser answers: the value to keep, or why the download is refused (never echoing the body). */
export type DocumentParse<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      problem: string;
      /** The document proves the endpoint untrustworthy (e.g. private keys published): drop what was cached too. */
      poisoned?: boolean;
    };

/** What {@link RemoteDocuments} needs to fetch and keep one kind of document. */
export interface RemoteDocumentsOptions<T> {
  /** Names the document in log details, e.g. `JWKS`: "JWKS of idp.example: …". */
  label: string;
  /** What the document is, e.g. `key set`: "no usable key set". */
  noun: string;
  policy: RemoteDocumentPolicy;
  kind: DocumentKind;
  parse(text: string): DocumentParse<T>;
  fetch: FetchFunction;
  clock(): number;
}

interface Cached<T> {
  value: T;
  expiresAt: number;
  staleUntil: number;
}

/** Everything known about one URL, shared by every IdP (of any tenant) that names it. */
interface UrlState<T> {
  url: URL;
  doc?: Cached<T>;
  /** The download under way; every caller awaits this one (no thundering herd). Never rejects. */
  inflight?: Promise<boolean>;
  failedAt?: number;
  problem?: string;
  missRefetchAt: number;
}

/**
 * A per-URL cache of a remote JSON document, with the key sources' fetch policy (see the JWKS source
 * and lib/keys/README.md): one download at a time per URL, shared by every caller; fresh for
 * `Cache-Control: max-age` (less `Age`) clamped to [`minTtlMs`, `maxTtlMs`], else `ttlMs`; past that served
 * at once while one background download refreshes it, for up to `staleMs`; after a failed download with
 * nothing usable, `key_source_unavailable` at once for `retryAfterFailureMs`; after a miss in the cached
 * document, one refetch per `refetchCooldownMs`. Every failure is `JwtBearerError('key_source_unavailable')`,
 * its detail naming the host and a fixed sentence (never the URL's path or the body).
 */
export class RemoteDocuments<T> {
  readonly #o: RemoteDocumentsOptions<T>;
  readonly #states: LruMap<string, UrlState<T>>;

  constructor(options: RemoteDocumentsOptions<T>) {
    this.#o = options;
    this.#states = new LruMap(options.policy.maxUris);
  }

  /**
   * The document at `url`: the cached one while usable (once expired, a background download refreshes
   * it), else a download awaited. `downloaded` says the value was fetched for this call, so a miss in it
   * is not worth a refetch.
   */
  async current(url: URL): Promise<{ value: T; downloaded: boolean }> {
    const state = this.#stateOf(url);
    const now = this.#o.clock();
    const doc = state.doc && now < state.doc.staleUntil ? state.doc : undefined;
    if (doc) {
      if (now >= doc.expiresAt && !state.inflight && !this.#coolingAfterFailure(state, now)) void this.#refresh(state);
      return { value: doc.value, downloaded: false };
    }
    // Nothing usable: wait for a download, unless one failed moments ago (then answer at once).
    if (!state.inflight && this.#coolingAfterFailure(state, now))
      throw this.#unavailable(state, `no usable ${this.#o.noun}; the last download failed moments ago`);
    if (!(await this.#refresh(state)) || !state.doc) throw this.#unavailable(state, `no usable ${this.#o.noun}`);
    return { value: state.doc.value, downloaded: true };
  }

  /**
   * After a miss in the document {@link current} gave (a key it does not list): one refetch per
   * `refetchCooldownMs` per URL; callers arriving while a download runs share it rather than being
   * refused. Answers the refetched value, or `undefined` within the cooldown; a failed refetch is
   * `key_source_unavailable` (`why` says what was being looked for).
   */
  async refetchAfterMiss(url: URL, why: string): Promise<T | undefined> {
    const state = this.#stateOf(url);
    if (!state.inflight) {
      const now = this.#o.clock();
      if (now - state.missRefetchAt < this.#o.policy.refetchCooldownMs) return undefined;
      state.missRefetchAt = now;
    }
    if (!(await this.#refresh(state)) || !state.doc) throw this.#unavailable(state, `${why} and the refetch failed`);
    return state.doc.value;
  }

  #stateOf(url: URL): UrlState<T> {
    let state = this.#states.get(url.href);
    if (!state) {
      state = { url, missRefetchAt: -Infinity };
      this.#states.set(url.href, state);
    }
    return state;
  }

  #refresh(state: UrlState<T>): Promise<boolean> {
    if (state.inflight) return state.inflight;
    const { policy, kind, fetch, parse, clock } = this.#o;
    const run = (async () => {
      try {
        const download = await fetchJwksDocument(state.url, policy, fetch, kind);
        const parsed = parse(download.text);
        if (!parsed.ok) {
          if (parsed.poisoned) state.doc = undefined;
          throw new JwksFetchError(parsed.problem);
        }
        const expiresAt = clock() + freshnessMs(download.cacheControl, download.age, policy);
        state.doc = { value: parsed.value, expiresAt, staleUntil: expiresAt + policy.staleMs };
        state.failedAt = undefined;
        state.problem = undefined;
        return true;
      } catch (error) {
        state.failedAt = clock();
        state.problem = error instanceof JwksFetchError ? error.message : 'unexpected error';
        return false;
      }
    })();
    state.inflight = run;
    void run.finally(() => {
      if (state.inflight === run) state.inflight = undefined;
    });
    return run;
  }

  #coolingAfterFailure(state: UrlState<T>, now: number): boolean {
    return state.failedAt !== undefined && now - state.failedAt < this.#o.policy.retryAfterFailureMs;
  }

  #unavailable(state: UrlState<T>, what: string): JwtBearerError {
    return new JwtBearerError('key_source_unavailable', {
      detail: `${this.#o.label} of ${state.url.host}: ${what}${state.problem ? `: ${state.problem}` : ''}`,
    });
  }
}

/**
 * RFC 9111 §4.2.1/§5.2.2.1: freshness is `max-age` less the response's `Age`; `no-store`/`no-cache`
 * mean "do not reuse", which for us is the shortest period we allow (fetching on every request would
 * make each assertion a request to the IdP). Clamped to [minTtlMs, maxTtlMs]; no usable directive → ttlMs.
 */
export function freshnessMs(
  cacheControl: string | null,
  age: string | null,
  o: Pick<RemoteDocumentPolicy, 'ttlMs' | 'minTtlMs' | 'maxTtlMs'>,
): number {
  let seconds: number | undefined;
  let noReuse = false;
  for (const directive of (cacheControl ?? '').split(',')) {
    const [name = '', value] = directive
      .trim()
      .split('=', 2)
      .map((part) => part.trim());
    const lower = name.toLowerCase();
    if (lower === 'no-store' || lower === 'no-cache') noReuse = true;
    else if (lower === 'max-age' && value !== undefined && /^"?\d{1,10}"?$/.test(value)) seconds ??= Number(value.replace(/"/g, ''));
  }
  if (noReuse) return o.minTtlMs;
  if (seconds === undefined) return o.ttlMs;
  const ageSeconds = age !== null && /^\d{1,10}$/.test(age.trim()) ? Number(age.trim()) : 0;
  return Math.min(o.maxTtlMs, Math.max(o.minTtlMs, (seconds - ageSeconds) * 1000));
}

/**
 * A source's options checked against its `defaults` (every member a positive whole number, `staleMs` may be
 * 0; `minTtlMs ≤ ttlMs ≤ maxTtlMs`; `fetch` and `clock` functions where given): the bounds to use, or a
 * {@link ConfigurationError} naming `where` and the option.
 */
export function checkedPolicy<D extends Record<string, number>>(
  options: Partial<Record<keyof D, unknown>> & { fetch?: unknown; clock?: unknown },
  defaults: D,
  where: string,
): { -readonly [K in keyof D]: number } {
  if (options === null || typeof options !== 'object') throw new ConfigurationError(`${where}: options must be an object.`);
  const o = { ...defaults } as { -readonly [K in keyof D]: number };
  for (const name of Object.keys(defaults) as Array<keyof D & string>) {
    const value = options[name];
    if (value === undefined) continue;
    const positive = name === 'staleMs' ? Number(value) >= 0 : Number(value) >= 1;
    if (!Number.isSafeInteger(value) || !positive) {
      throw new ConfigurationError(
        `${where}: ${name} must be a ${name === 'staleMs' ? 'non-negative' : 'positive'} integer; got ${String(value)}.`,
      );
    }
    o[name] = value as number;
  }
  const { minTtlMs, ttlMs, maxTtlMs } = o as Record<string, number>;
  if (!(minTtlMs! <= ttlMs! && ttlMs! <= maxTtlMs!)) {
    throw new ConfigurationError(`${where}: need minTtlMs <= ttlMs <= maxTtlMs; got ${minTtlMs}, ${ttlMs}, ${maxTtlMs}.`);
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function')
    throw new ConfigurationError(`${where}: fetch must be a function.`);
  if (options.clock !== undefined && typeof options.clock !== 'function')
    throw new ConfigurationError(`${where}: clock must be a function returning milliseconds.`);
  return o;
}
