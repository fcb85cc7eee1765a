import type { KeyObject } from 'node:crypto';
import type { IdentityProviderRecord } from '../types';

/**
 * What a JWS header says about its signing key (RFC 7515 §4.1.4, §4.1.7, §4.1.8). Only these three
 * may *select* among an IdP's own keys; `jwk`, `jku`, `x5u` and `x5c` never name a key (RFC 8725 §3.10:
 * a key that the token itself supplies proves nothing).
 */
export interface KeyHint {
  /** `kid`: a key's configured id, or for a certificate also its `x5t#S256` thumbprint. */
  kid?: string;
  /** `x5t`: base64url SHA-1 of the certificate DER. */
  x5t?: string;
  /** `x5t#S256`: base64url SHA-256 of the certificate DER. */
  x5tS256?: string;
}

/** A public key of an IdP that may verify an assertion. */
export interface VerificationKey {
  /** A stable, non-secret id for logs, e.g. `cert:<thumbprint>`. */
  readonly id: string;
  /** Start of the key's validity, where it has one (a certificate's `notBefore`). */
  readonly notBefore?: Date;
  /** End of the key's validity, where it has one (a certificate's `notAfter`). */
  readonly notAfter?: Date;
  /**
   * Whether this key may verify signatures of `alg`. RFC 8725 §3.1 / §2.1: a key is bound to the
   * algorithms of its own type, so that an RSA key never verifies ES256 or HS256.
   */
  supports(alg: string): boolean;
  /** The public key itself, parsed once (from the certificate or the JWK) and shared by every request. */
  readonly publicKey: KeyObject;
}

/**
 * Where an IdP's keys come from (its stored certificates, its JWKS URI). The verifier asks every
 * configured source and uses the union of their answers.
 */
export interface KeySource {
  /**
   * The keys of `idp` that match every hint given, or all of its keys when `hint` is empty. An empty
   * answer to a non-empty hint means "no such key" (docs/validation.md step 2: the verifier then refuses with
   * `key_not_found` rather than trying other keys). Keys outside their validity window are returned too:
   * the verifier skips them. A source that cannot answer now throws
   * `JwtBearerError('key_source_unavailable')`.
   */
  getKeys(idp: IdentityProviderRecord, hint: KeyHint): Promise<readonly VerificationKey[]>;
}

/** True when no hint is given. */
export function isEmptyHint(hint: KeyHint): boolean {
  return hint.kid === undefined && hint.x5t === undefined && hint.x5tS256 === undefined;
}
