import { JwtBearerError } from '../errors';
import { parseJsonObject } from '../shared/json';
import { checkJwksUrl } from '../shared/jwks-uri';
import type { IdentityProviderRecord } from '../types';
import type { DocumentKind, FetchFunction } from './jwks-fetch';
import { createJwksKeySource } from './jwks-source';
import { checkedPolicy, RemoteDocuments, type DocumentParse } from './remote-document';
import { isEmptyHint, type KeyHint, type KeySource, type VerificationKey } from './types';

/**
 * Options of {@link createDiscoveryKeySource}: the bounds of the configuration document's download and
 * cache (all durations milliseconds), and the JWKS source its `jwks_uri` is read with.
 */
export interface DiscoveryKeySourceOptions {
  /** One download of the document, connect to last body byte, must finish within this (default 2000). */
  timeoutMs?: number;
  /** Largest accepted document in bytes (default 65536 = 64 KiB; real ones are a few KiB). */
  maxBytes?: number;
  /** How long a document is fresh when the response has no usable `Cache-Control: max-age` (default 3600000 = 1 h). */
  ttlMs?: number;
  /** Lower bound on freshness, whatever `max-age` says (default 300000 = 5 min). */
  minTtlMs?: number;
  /** Upper bound on freshness, whatever `max-age` says (default 86400000 = 24 h). */
  maxTtlMs?: number;
  /** How long past its freshness a document may still be used while refreshing it fails (default 86400000 = 24 h). */
  staleMs?: number;
  /** After a failed download with no usable document, no new attempt for this long (default 5000). */
  retryAfterFailureMs?: number;
  /**
   * A hint still unknown after the JWKS source's own refetch allows one refetch of the document per this
   * period (default 30000): the IdP may have moved its `jwks_uri`.
   */
  refetchCooldownMs?: number;
  /** How many discovery URLs keep their document in memory, least recently used dropped first (default 1024). */
  maxUris?: number;
  /**
   * The key source that reads the document's `jwks_uri` (any source that reads `jwksUri` of the record it
   * is given). Default: a JWKS source of its own with the same `fetch` and `clock`; {@link defaultKeySources}
   * passes its JWKS source, so that one cache and one set of bounds serve both kinds of IdP.
   */
  jwks?: KeySource;
  /** The fetch to use (default: Node's global `fetch`). It gets `redirect: 'manual'` and an abort signal. */
  fetch?: FetchFunction;
  /** The clock in milliseconds (default `performance.now()`); for tests. */
  clock?: () => number;
}

/** The defaults of {@link DiscoveryKeySourceOptions}. */
export const DISCOVERY_DEFAULTS = {
  timeoutMs: 2000,
  maxBytes: 64 * 1024,
  ttlMs: 60 * 60_000,
  minTtlMs: 5 * 60_000,
  maxTtlMs: 24 * 60 * 60_000,
  staleMs: 24 * 60 * 60_000,
  retryAfterFailureMs: 5000,
  refetchCooldownMs: 30_000,
  maxUris: 1024,
} as const;

/** OpenID Connect Discovery 1.0 §4.2: the document is `application/json`. */
const CONFIGURATION_DOCUMENT: DocumentKind = { accept: 'application/json', mediaTypes: new Set(['application/json']) };

/** What is kept of a configuration document: only what key lookup needs. */
interface Discovered {
  /** The `issuer` member where it is a string, else `null` (which matches no IdP). */
  issuer: string | null;
  /** The `jwks_uri` member, already held to the JWKS URI rule. */
  jwksUri: string;
}

/**
 * docs/validation.md step 2/4: the keys of an IdP whose keys are named by an OpenID Provider
 * configuration document (`IdentityProviderRecord.discoveryUrl`; OpenID Connect Discovery 1.0 §4). IdPs
 * without one get no keys from here.
 *
 * - **Where**: the stored discovery URL is held to the JWKS URI rule before every download (`https:`, or
 *   `http:` on loopback; no credentials, no fragment); a refused URL is `key_source_unavailable` without
 *   a request.
 * - **Download**: as for a JWKS (one GET bounded by `timeoutMs` and `maxBytes`, redirects refused),
 *   `application/json` only; a JSON object with unique member names.
 * - **`issuer`** (§4.3): must equal the IdP's name exactly, else `discovery_issuer_mismatch` and its keys
 *   are not used: a document that speaks for another issuer must not supply this one's keys.
 * - **`jwks_uri`**: a string held to the same rule as a stored JWKS URI; missing or refused, the
 *   document is refused (`key_source_unavailable`).
 * - **Keys**: read from `jwks_uri` by the JWKS source, exactly as for an IdP with that `jwksUri` (its
 *   cache, bounds and unknown-`kid` refetch per cooldown).
 * - **Cache**: per URL, fresh for `Cache-Control: max-age` (less `Age`) clamped to [`minTtlMs`,
 *   `maxTtlMs`] (default [5 min, 24 h]), else `ttlMs` (1 h); served stale while refreshes fail for up to
 *   `staleMs` (24 h), so a discovery endpoint that is down does not take keys down with it while the
 *   JWKS still answers.
 * - **Rotation of `jwks_uri`**: a hint still unknown after the JWKS source's own refetch allows one
 *   refetch of the document per `refetchCooldownMs` (30 s); a new `jwks_uri` is then read at once.
 * - Any failure to fetch or read the document: `key_source_unavailable` (503), as for a JWKS.
 *
 * @example
 * const jwks = createJwksKeySource();
 * const verifier = createAssertionVerifier({
 *   keySources: [combineKeySources([createCertificateKeySource(), jwks, createDiscoveryKeySource({ jwks })])],
 * });
 */
export function createDiscoveryKeySource(options: DiscoveryKeySourceOptions = {}): KeySource {
  const o = checkedPolicy(options, DISCOVERY_DEFAULTS, 'Discovery key source');
  const fetchImpl: FetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
  const clock = options.clock ?? (() => performance.now());
  const jwks = options.jwks ?? createJwksKeySource({ fetch: fetchImpl, clock });
  const documents = new RemoteDocuments<Discovered>({
    label: 'discovery document',
    noun: 'document',
    policy: o,
    kind: CONFIGURATION_DOCUMENT,
    parse: parseConfiguration,
    fetch: fetchImpl,
    clock,
  });

  async function keysAt(idp: IdentityProviderRecord, doc: Discovered, hint: KeyHint): Promise<readonly VerificationKey[]> {
    if (doc.issuer !== idp.name) {
      throw new JwtBearerError('discovery_issuer_mismatch', {
        detail: doc.issuer === null ? 'the discovery document has no issuer' : 'the discovery document names another issuer',
      });
    }
    return jwks.getKeys(withJwksUri(idp, doc.jwksUri), hint);
  }

  return {
    async getKeys(idp: IdentityProviderRecord, hint: KeyHint): Promise<readonly VerificationKey[]> {
      if (!idp.discoveryUrl) return [];
      const check = checkJwksUrl(idp.discoveryUrl);
      if (!check.ok)
        throw new JwtBearerError('key_source_unavailable', { detail: `discovery_url refused before any request: ${check.problem}` });

      const { value: doc, downloaded } = await documents.current(check.url);
      const found = await keysAt(idp, doc, hint);
      if (found.length > 0 || isEmptyHint(hint) || downloaded) return found;

      // The JWKS source has had its own refetch; the key may live at a new jwks_uri. One document refetch per cooldown.
      const again = await documents.refetchAfterMiss(check.url, 'the key named by the header is not at the cached jwks_uri');
      return again ? keysAt(idp, again, hint) : [];
    },
  };
}

/** The configuration document's members that key lookup needs, or why the document is refused. */
function parseConfiguration(text: string): DocumentParse<Discovered> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok)
    return { ok: false, problem: `the document is ${parsed.problem === 'not JSON' ? 'not JSON' : `refused (${parsed.problem})`}` };
  const { issuer, jwks_uri: jwksUri } = parsed.value;
  if (typeof jwksUri !== 'string') return { ok: false, problem: 'the document has no "jwks_uri" string' };
  const check = checkJwksUrl(jwksUri);
  if (!check.ok) return { ok: false, problem: `its jwks_uri is refused: ${check.problem}` };
  return { ok: true, value: { issuer: typeof issuer === 'string' ? issuer : null, jwksUri } };
}

/** The IdP as the JWKS source should see it: with the discovered `jwks_uri`. One copy per record and URI. */
const views = new WeakMap<IdentityProviderRecord, IdentityProviderRecord>();
function withJwksUri(idp: IdentityProviderRecord, jwksUri: string): IdentityProviderRecord {
  const cached = views.get(idp);
  if (cached?.jwksUri === jwksUri) return cached;
  const view = { ...idp, jwksUri };
  views.set(idp, view);
  return view;
}
