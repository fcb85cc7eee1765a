import type { KeyObject } from 'node:crypto';

/**
 * The JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) a public key may verify, from the key itself
 * (not from anything in the token): RFC 8725 §3.1 — each key only with the algorithms of its own type.
 *
 * - RSA (`rsaEncryption`) of at least 2048 bits (RFC 7518 §3.3, §3.5): RS256/384/512 and PS256/384/512.
 * - RSA-PSS (`id-RSASSA-PSS` keys): PS* only; where the key pins a hash, only that one.
 * - EC: ES256 on P-256, ES384 on P-384, ES512 on P-521 (RFC 7518 §3.4: the curve is fixed per alg).
 * - Ed25519: EdDSA (RFC 8037 §3.1). Ed448 and everything else: none (WebCrypto in Node 20 has no Ed448).
 */
export function algorithmsForKey(key: KeyObject): ReadonlySet<string> {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return (details.modulusLength ?? 0) >= 2048 ? RSA : NONE;
    case 'rsa-pss': {
      if ((details.modulusLength ?? 0) < 2048) return NONE;
      const pinned = details.hashAlgorithm ? PSS_BY_HASH[details.hashAlgorithm] : undefined;
      return pinned ? new Set([pinned]) : details.hashAlgorithm ? NONE : PSS;
    }
    case 'ec':
      return EC_BY_CURVE[details.namedCurve ?? ''] ?? NONE;
    case 'ed25519':
      return EDDSA;
    default:
      return NONE;
  }
}

const NONE: ReadonlySet<string> = new Set();
const PSS: ReadonlySet<string> = new Set(['PS256', 'PS384', 'PS512']);
const RSA: ReadonlySet<string> = new Set(['RS256', 'RS384', 'RS512', ...PSS]);
const EDDSA: ReadonlySet<string> = new Set(['EdDSA']);
const PSS_BY_HASH: Record<string, string | undefined> = {
  __proto__: null,
  sha256: 'PS256',
  'sha-256': 'PS256',
  sha384: 'PS384',
  'sha-384': 'PS384',
  sha512: 'PS512',
  'sha-512': 'PS512',
} as never;
const EC_BY_CURVE: Record<string, ReadonlySet<string> | undefined> = {
  __proto__: null,
  prime256v1: new Set(['ES256']),
  secp384r1: new Set(['ES384']),
  secp521r1: new Set(['ES512']),
} as never;
