import { JwtBearerError } from '../errors';
import { createCertificateKeySource } from './certificate-source';
import { createDiscoveryKeySource, type DiscoveryKeySourceOptions } from './discovery-source';
import { createJwksKeySource, type JwksKeySourceOptions } from './jwks-source';
import { isEmptyHint, type KeySource, type VerificationKey } from './types';

/**
 * One key source made of several, asked in their order (e.g. certificates first, then the JWKS):
 *
 * - **With a hint** (`kid`, `x5t`, `x5t#S256`): the first source that has a key matching it answers,
 *   and the later ones are not asked. So a hint naming a stored certificate never waits for, downloads,
 *   or depends on the JWKS: the IdP keeps working while its JWKS endpoint is down. A source that cannot
 *   answer (`key_source_unavailable`) is passed over; if no later source matches either, that error is
 *   the answer (503): the key may be in the source we could not ask, so "no such key" would be a guess.
 *   Where two sources both have a key of that name, the earlier one's is used.
 * - **Without a hint**: every source is asked and the union of their keys is tried (docs/validation.md
 *   step 2: each current key). If any source cannot answer, its error is the answer: a signature by a
 *   key we could not fetch must not be reported as invalid.
 *
 * Any other error (a bug, not an outage) is thrown as is.
 */
export function combineKeySources(sources: readonly KeySource[]): KeySource {
  const list = [...sources];
  return {
    async getKeys(idp, hint) {
      if (isEmptyHint(hint)) {
        // In order, one after the other: the certificate source does no I/O, so nothing is gained by
        // running them at once, and this keeps the common no-JWKS case as cheap as one source.
        const keys: VerificationKey[] = [];
        for (const source of list) keys.push(...(await source.getKeys(idp, hint)));
        return keys;
      }
      let unavailable: unknown;
      for (const source of list) {
        try {
          const keys = await source.getKeys(idp, hint);
          if (keys.length > 0) return keys;
        } catch (error) {
          if (!(error instanceof JwtBearerError && error.reason === 'key_source_unavailable')) throw error;
          unavailable ??= error;
        }
      }
      if (unavailable !== undefined) throw unavailable;
      return [];
    },
  };
}

/**
 * The key sources a verifier uses unless told otherwise: an IdP's stored certificates, then its JWKS URI,
 * then its OpenID Provider configuration document's `jwks_uri` (an IdP has at most one of the two URLs),
 * combined ({@link combineKeySources}): an IdP with certificates and a URL has the union of both. The
 * discovery source reads keys through the same JWKS source (one cache, one set of bounds) and uses the
 * JWKS options' `fetch` and `clock` unless `discovery` gives its own.
 */
export function defaultKeySources(jwks: JwksKeySourceOptions = {}, discovery: Omit<DiscoveryKeySourceOptions, 'jwks'> = {}): KeySource[] {
  const jwksSource = createJwksKeySource(jwks);
  const discoverySource = createDiscoveryKeySource({ fetch: jwks.fetch, clock: jwks.clock, ...discovery, jwks: jwksSource });
  return [combineKeySources([createCertificateKeySource(), jwksSource, discoverySource])];
}
