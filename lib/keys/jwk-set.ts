import { createHash, createPublicKey, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto';
import { parseJsonObject } from '../shared/json';
import { algorithmsForKey } from './key-algorithms';

/** A public signature key taken from a JWK Set, with only what verification needs. */
export interface JwkSetKey {
  /** RFC 7638 JWK thumbprint (base64url SHA-256): the key's identity for caching and logs. */
  thumbprint: string;
  kid?: string;
  /** The JWK's own `x5t` / `x5t#S256` members (RFC 7517 §4.8, §4.9), matched against the header's hints. */
  x5t?: string;
  x5tS256?: string;
  /** The algorithms the key may verify: those of its type (RFC 8725 §3.1), narrowed to its `alg` if it has one. */
  algorithms: ReadonlySet<string>;
  /** The public members only (`kty`, `n`, `e` / `crv`, `x`, `y`). */
  jwk: Readonly<Record<string, string>>;
  /** The key, parsed once from {@link jwk}. */
  publicKey: KeyObject;
}

export type JwkSetResult =
  | { ok: true; keys: JwkSetKey[]; ignored: number }
  | { ok: false; problem: string; /** The set published private key material: drop anything cached from it too. */ poisoned?: boolean };

/**
 * Private (and symmetric) key members of RFC 7518 §6.2.2 (EC `d`), §6.3.2 (RSA `d`, `p`, `q`, `dp`, `dq`,
 * `qi`, `oth`) and RFC 8037 §2 (OKP `d`). A JWKS URI publishes public keys; one that serves a private
 * key has leaked it, so every key it lists is suspect (see {@link parseJwkSet}).
 */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] as const;

/** base64url without padding (RFC 7515 §2): what `n`, `e`, `x`, `y` must be. */
const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Parses and validates a JWK Set document (RFC 7517 §5) strictly.
 *
 * The whole set is refused (`ok: false`) when: it is not a JSON object with unique, non-`__proto__`
 * member names (the project's strict parser); `keys` is missing or not an array; it lists more than
 * `maxKeys` entries; an entry is not a JSON object; or any non-symmetric entry carries a private member
 * (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) — `poisoned`, because an endpoint that serves private keys
 * is broken or compromised and none of its keys can be trusted to be secret any more.
 *
 * A single entry is ignored (counted in `ignored`), never fatal, when: `kty` is `oct` (symmetric: HMAC
 * is never accepted) or unknown; `use` is present and not `sig`; `key_ops` is present and lacks
 * `verify`; `kid`, `alg`, `use`, `x5t`, `x5t#S256` are present but not strings; its public members are
 * missing or not base64url; Node cannot build a public key from it; or it may verify no supported
 * algorithm (RSA under 2048 bits, secp256k1, Ed448, X25519, an `alg` that does not fit its type…).
 * Other members (`x5c`, `x5u`, `ext`, …) are not read: `x5u` in a JWKS is as much a pointer as `jku`.
 */
export function parseJwkSet(text: string, maxKeys: number): JwkSetResult {
  const parsed = parseJsonObject(text);
  if (!parsed.ok)
    return { ok: false, problem: `the document is ${parsed.problem === 'not JSON' ? 'not JSON' : `refused (${parsed.problem})`}` };
  const entries = parsed.value.keys;
  if (!Array.isArray(entries)) return { ok: false, problem: 'the document has no "keys" array' };
  if (entries.length > maxKeys) return { ok: false, problem: `the set lists ${entries.length} keys (at most ${maxKeys})` };

  const keys: JwkSetKey[] = [];
  let ignored = 0;
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return { ok: false, problem: 'a "keys" entry is not a JSON object' };
    const jwk = entry as Record<string, unknown>;
    if (jwk.kty !== 'oct' && PRIVATE_MEMBERS.some((name) => Object.hasOwn(jwk, name))) {
      return { ok: false, problem: 'the set publishes private key members', poisoned: true };
    }
    const key = publicSignatureKey(jwk);
    if (key) keys.push(key);
    else ignored++;
  }
  return { ok: true, keys, ignored };
}

function publicSignatureKey(jwk: Record<string, unknown>): JwkSetKey | undefined {
  for (const name of ['kid', 'alg', 'use', 'x5t', 'x5t#S256'] as const) {
    if (Object.hasOwn(jwk, name) && typeof jwk[name] !== 'string') return undefined;
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return undefined;

  // Only the members that define the public key, in RFC 7638 §3.2 order (so this is also the thumbprint input).
  const members = REQUIRED_MEMBERS[String(jwk.kty)];
  if (!members) return undefined; // oct, or a kty we do not know
  const pub: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || (name !== 'kty' && name !== 'crv' && !B64URL.test(value))) return undefined;
    pub[name] = value;
  }

  let algorithms: ReadonlySet<string>;
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pub as NodeJwk, format: 'jwk' });
    algorithms = algorithmsForKey(publicKey);
  } catch {
    return undefined;
  }
  // RFC 7517 §4.4: `alg` names the algorithm the key is intended for; we hold the key to it.
  if (typeof jwk.alg === 'string') algorithms = algorithms.has(jwk.alg) ? new Set([jwk.alg]) : new Set();
  if (algorithms.size === 0) return undefined;

  return {
    thumbprint: createHash('sha256').update(JSON.stringify(pub)).digest('base64url'),
    kid: jwk.kid as string | undefined,
    x5t: jwk.x5t as string | undefined,
    x5tS256: jwk['x5t#S256'] as string | undefined,
    algorithms,
    jwk: pub,
    publicKey,
  };
}

/** RFC 7638 §3.2: the required public members of each key type, in lexicographic order. */
const REQUIRED_MEMBERS: Record<string, readonly string[] | undefined> = {
  __proto__: null,
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
} as never;
