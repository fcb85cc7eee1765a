import type { KeyObject } from 'node:crypto';
import { JwtBearerError } from '../errors';
import type { IdentityProviderRecord } from '../types';
import { JWK_SET_DOCUMENT, type FetchFunction } from './jwks-fetch';
import { checkJwksUrl } from '../shared/jwks-uri';
import { parseJwkSet, type JwkSetKey } from './jwk-set';
import { checkedPolicy, RemoteDocuments } from './remote-document';
import { isEmptyHint, type KeyHint, type KeySource, type VerificationKey } from './types';

export { freshnessMs } from './remote-document';

/**
 * Options of {@link createJwksKeySource}. Every bound has a default chosen for a token endpoint; all
 * durations are milliseconds.
 */
export interface JwksKeySourceOptions {
  /** One download, connect to last body byte, must finish within this (default 2000). */
  timeoutMs?: number;
  /** Largest accepted JWKS body in bytes (default 262144 = 256 KiB; real sets are 1–20 KiB). */
  maxBytes?: number;
  /** Most entries a set may list; more refuses the set (default 100). */
  maxKeys?: number;
  /** How long a set is fresh when the response has no usable `Cache-Control: max-age` (default 300000 = 5 min). */
  ttlMs?: number;
  /** Lower bound on freshness, whatever `max-age` says (`no-store`, `no-cache`, `max-age=0` included) (default 30000). */
  minTtlMs?: number;
  /** Upper bound on freshness, whatever `max-age` says (default 3600000 = 1 h): bounds how long a removed key is trusted. */
  maxTtlMs?: number;
  /**
   * How long past its freshness a set may still be used while refreshing it fails (default 3600000 =
   * 1 h). After that, with the JWKS still unreachable, verification answers `key_source_unavailable`.
   */
  staleMs?: number;
  /** After a failed download, no new attempt for this long, except an unknown-`kid` refetch (default 5000). */
  retryAfterFailureMs?: number;
  /** A hint that names no key in the set allows one refetch of that URI per this period (default 30000). */
  refetchCooldownMs?: number;
  /** How many JWKS URIs keep their set and keys in memory, least recently used dropped first (default 1024). */
  maxUris?: number;
  /** The fetch to use (default: Node's global `fetch`). For tests and proxies; it gets `redirect: 'manual'` and an abort signal. */
  fetch?: FetchFunction;
  /**
   * The clock in milliseconds (default `performance.now()`: monotonic, so a wall-clock step neither
   * stretches a TTL or cooldown nor cuts one short); for tests. Only differences between its readings count.
   */
  clock?: () => number;
}

/** The defaults of {@link JwksKeySourceOptions}. */
export const JWKS_DEFAULTS = {
  timeoutMs: 2000,
  maxBytes: 256 * 1024,
  maxKeys: 100,
  ttlMs: 5 * 60_000,
  minTtlMs: 30_000,
  maxTtlMs: 60 * 60_000,
  staleMs: 60 * 60_000,
  retryAfterFailureMs: 5000,
  refetchCooldownMs: 30_000,
  maxUris: 1024,
} as const;

/**
 * docs/validation.md step 2/4: the keys of an IdP's configured JWKS URI (`IdentityProviderRecord.jwksUri`). IdPs
 * without one get no keys from here. Keys are never looked for anywhere else: not in the header's `jku`,
 * `x5u`, `jwk` or `x5c` (RFC 8725 §3.10), which this source is never shown.
 *
 * - **Where**: the stored URI is checked again before every download (`https:`, or `http:` on loopback;
 *   no credentials, no fragment, see {@link checkJwksUrl}); a refused URI is `key_source_unavailable`
 *   without any request.
 * - **Download**: one GET bounded by `timeoutMs` in total and `maxBytes`; redirects refused; JSON
 *   media type required (see `fetchJwksDocument` in jwks-fetch.ts); the set validated strictly (see {@link parseJwkSet}).
 * - **Cache**: per URI, fresh for `Cache-Control: max-age` (minus `Age`) clamped to
 *   [`minTtlMs`, `maxTtlMs`], else `ttlMs`. Past that, the set is still served — at once, without
 *   waiting — while one background download refreshes it; if downloads keep failing, it is served
 *   until `staleMs` after it expired, then dropped.
 * - **No set**: the caller waits for the (shared) download, at most `timeoutMs`; when it fails,
 *   `key_source_unavailable` (503), and for `retryAfterFailureMs` further callers get that answer at
 *   once instead of each waiting out a dead server.
 * - **Unknown key**: a `kid`/`x5t`/`x5t#S256` hint that names no key of a set that was not just
 *   downloaded triggers one refetch (new keys appear on rotation), at most once per
 *   `refetchCooldownMs` per URI; within the cooldown, or when the refetch also lacks it, the answer is
 *   "no such key" (the verifier's `key_not_found`). Concurrent callers share the refetch. A refetch that
 *   fails is `key_source_unavailable`: we could not tell.
 * - **Private keys published** (a set with `d`, `p`, … members): the set is refused and any cached set
 *   of that URI dropped at once (no stale use): `key_source_unavailable` until the endpoint is fixed.
 * - **Without a hint** every key of the set is returned; a rotated key without a `kid` is picked up when
 *   the set next expires (there is no way to tell "new key" from "forged signature").
 *
 * Keys are parsed into Node `KeyObject`s once per download, with the set. Memory is bounded: `maxUris`
 * × `maxKeys` keys.
 *
 * Unauthenticated callers can make this source download only for IdPs that exist (the verifier looks
 * the issuer up first), and then at most: one download at a time per URI, one unknown-kid refetch per
 * `refetchCooldownMs`, one retry per `retryAfterFailureMs` while failing, one refresh per freshness period.
 *
 * Why not jose's `createRemoteJWKSet`: it reads the whole body with no size limit and any media type,
 * ignores Cache-Control, cannot serve a stale set when a refresh fails (it throws), starts its
 * unknown-kid cooldown at *any* download (so a key rotated in just after a scheduled refresh is refused
 * for 30 s), matches only `kid`/`alg` (not `x5t`), answers as a resolver for jose's own verify calls
 * rather than as keys our verifier filters by type and reports on (`key_not_found`, `no_usable_key`),
 * and refuses a private key only when that key is selected, not the set that published it.
 *
 * @example
 * const verifier = createAssertionVerifier({
 *   keySources: [combineKeySources([createCertificateKeySource(), createJwksKeySource({ timeoutMs: 1500 })])],
 * });
 */
export function createJwksKeySource(options: JwksKeySourceOptions = {}): KeySource {
  const o = validate(options);
  const sets = new RemoteDocuments<readonly JwkSetKey[]>({
    label: 'JWKS',
    noun: 'key set',
    policy: o,
    kind: JWK_SET_DOCUMENT,
    parse: (text) => {
      const parsed = parseJwkSet(text, o.maxKeys);
      return parsed.ok ? { ok: true, value: parsed.keys } : parsed;
    },
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    clock: options.clock ?? (() => performance.now()),
  });
  const keysOf = (keys: readonly JwkSetKey[], hint: KeyHint): VerificationKey[] =>
    keys.filter((key) => matches(key, hint)).map((key) => new JwksKey(key));

  return {
    async getKeys(idp: IdentityProviderRecord, hint: KeyHint): Promise<readonly VerificationKey[]> {
      if (!idp.jwksUri) return [];
      const check = checkJwksUrl(idp.jwksUri);
      if (!check.ok)
        throw new JwtBearerError('key_source_unavailable', { detail: `jwks_uri refused before any request: ${check.problem}` });

      const { value: set, downloaded } = await sets.current(check.url);
      const found = keysOf(set, hint);
      if (found.length > 0 || isEmptyHint(hint) || downloaded) return found;

      // A hint naming no key of a set we did not just download: the IdP may have rotated. One refetch per
      // cooldown; callers arriving while a download runs share it rather than being refused.
      const again = await sets.refetchAfterMiss(check.url, 'the key named by the header is not in the cached set');
      return again ? keysOf(again, hint) : [];
    },
  };
}

/** Every hint given must name the key: `kid` its `kid`; `x5t`, `x5t#S256` its members of those names. */
function matches(key: JwkSetKey, hint: KeyHint): boolean {
  return (
    (hint.kid === undefined || hint.kid === key.kid) &&
    (hint.x5t === undefined || hint.x5t === key.x5t) &&
    (hint.x5tS256 === undefined || hint.x5tS256 === key.x5tS256)
  );
}

class JwksKey implements VerificationKey {
  readonly id: string;
  readonly publicKey: KeyObject;
  readonly #algorithms: ReadonlySet<string>;

  constructor(key: JwkSetKey) {
    this.id = `jwks:${key.thumbprint}`;
    this.publicKey = key.publicKey;
    this.#algorithms = key.algorithms;
  }

  supports(alg: string): boolean {
    return this.#algorithms.has(alg);
  }
}

type Bounds = Required<Omit<JwksKeySourceOptions, 'fetch' | 'clock'>>;

function validate(options: JwksKeySourceOptions): Bounds {
  return checkedPolicy(options, JWKS_DEFAULTS, 'JWKS key source');
}
