import { validityAt } from '../certificates';
import { JwtBearerError } from '../errors';
import { isEmptyHint, type KeyHint, type KeySource } from '../keys/types';
import type { IdentityProviderRecord } from '../types';
import type { DecodedAssertion } from './decode';
import { verifyJwsSignature } from './jws-signature';

/**
 * docs/validation.md steps 2 (key selection) and 4 (signature), on an `alg` already within the IdP's allow-list.
 *
 * 1. Ask every key source for the IdP's keys that match the hint. A hint that matches none →
 *    `key_not_found`: a `kid` naming a key we do not have is not a reason to try the keys we do have.
 * 2. Keep the keys valid at `now` (certificates outside notBefore/notAfter are skipped, never fatal) and
 *    of the alg's own type (RFC 8725 §3.1); none left, or none that imports for `alg` → `no_usable_key`.
 * 3. Verify with each in turn; the first that verifies wins; all failed → `signature_invalid`.
 *
 * The key is always one of ours, never anything from the header (`jwk`, `jku`, `x5u`, `x5c`), and only
 * used for an `alg` of its own type and size (RSA ≥ 2048 bits, the alg's own curve: see
 * `lib/keys/key-algorithms.ts`); the signature is checked by {@link verifyJwsSignature}.
 *
 * @returns the id of the key that verified the signature.
 */
export async function verifySignature(
  decoded: DecodedAssertion,
  alg: string,
  hint: KeyHint,
  idp: IdentityProviderRecord,
  sources: readonly KeySource[],
  now: Date,
): Promise<string> {
  const found =
    sources.length === 1
      ? await sources[0]!.getKeys(idp, hint)
      : (await Promise.all(sources.map((source) => source.getKeys(idp, hint)))).flat();
  if (found.length === 0 && !isEmptyHint(hint))
    throw new JwtBearerError('key_not_found', { detail: `the header's ${hintNames(hint)} names no key of the IdP` });

  const usable = found.filter((key) => validityAt(key, now) === 'valid' && key.supports(alg));
  let tried = 0;
  for (const key of usable) {
    let outcome: 'verified' | 'failed' | 'unusable';
    try {
      outcome = verifyJwsSignature(alg, key.publicKey, decoded.signingInput, decoded.signature) ? 'verified' : 'failed';
    } catch {
      // OpenSSL refusing the key for alg means this key cannot be used for it after all: skip it, never fatal.
      outcome = 'unusable';
    }
    if (outcome === 'verified') return key.id;
    if (outcome === 'failed') tried++;
  }
  if (tried === 0) {
    throw new JwtBearerError('no_usable_key', {
      detail:
        found.length === 0 ? 'the IdP has no keys' : `none of the IdP's ${found.length} candidate key(s) is current and fit for ${alg}`,
    });
  }
  throw new JwtBearerError('signature_invalid', { detail: `no key verified the signature (${tried} tried)` });
}

function hintNames(hint: KeyHint): string {
  return [hint.kid !== undefined && 'kid', hint.x5t !== undefined && 'x5t', hint.x5tS256 !== undefined && 'x5t#S256']
    .filter(Boolean)
    .join(' and ');
}
