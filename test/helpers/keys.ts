/**
 * Real signing keys and X.509 certificates, made in the test process (nothing checked in), for every
 * algorithm of docs/validation.md step 2's default allow-list, plus helpers to sign assertions and to hand-build
 * hostile ones.
 *
 * Cost: an RSA-2048 key pair takes 50–300 ms on this kind of machine; EC and Ed25519 keys and all
 * certificates take well under a millisecond to a few milliseconds. Every {@link makeSigningKey} call
 * makes a NEW key pair (tests rely on two keys of one algorithm being different); where a file only needs
 * "some RS256 key", use {@link sharedSigningKey}, which makes one per algorithm per test file (Jest gives
 * each file its own module registry), and {@link reissueCertificate} for another certificate (another
 * validity window, subject or kid) over an existing key pair.
 */
import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill loaded first
import { createHash, randomBytes, randomUUID, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { SignJWT, base64url } from 'jose';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** A key pair with a self-signed certificate over its public key. */
export interface TestSigningKey {
  /** The JWS `alg` this key signs with. */
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The self-signed certificate (PEM), as an IdP would hand it to the admin. */
  certificatePem: string;
  /** base64url SHA-256 of the certificate DER: the `x5t#S256` form, as the store keeps it. */
  thumbprint: string;
  /** base64url SHA-1 of the certificate DER: the `x5t` form. */
  x5t: string;
  /** `opts.kid`, or else the thumbprint (which the verifier also accepts as a `kid`). */
  kid: string;
  notBefore: Date;
  notAfter: Date;
}

export interface SigningKeyOptions {
  /** Certificate start; default one hour ago. */
  notBefore?: Date;
  /** Certificate end; default one year from now. */
  notAfter?: Date;
  /** Certificate subject DN; default `CN=<alg> test signer`. */
  subject?: string;
  kid?: string;
}

/** Every algorithm the helpers can make keys for (= DEFAULT_ALGORITHMS). */
export const TEST_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

type KeyParams = {
  generate: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams | webcrypto.Algorithm;
  certSigning: webcrypto.Algorithm | webcrypto.EcdsaParams | webcrypto.RsaPssParams;
};

const RSA_EXPONENT = new Uint8Array([1, 0, 1]);

function keyParams(alg: string): KeyParams {
  const bits = alg.slice(2);
  switch (alg) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
      return {
        generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: RSA_EXPONENT, hash: `SHA-${bits}` },
        certSigning: { name: 'RSASSA-PKCS1-v1_5' },
      };
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return {
        generate: { name: 'RSA-PSS', modulusLength: 2048, publicExponent: RSA_EXPONENT, hash: `SHA-${bits}` },
        certSigning: { name: 'RSA-PSS', saltLength: Number(bits) / 8 } as webcrypto.RsaPssParams,
      };
    case 'ES256':
    case 'ES384':
    case 'ES512': {
      const namedCurve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg];
      return { generate: { name: 'ECDSA', namedCurve }, certSigning: { name: 'ECDSA', hash: `SHA-${bits}` } as webcrypto.EcdsaParams };
    }
    case 'EdDSA':
      return { generate: { name: 'Ed25519' }, certSigning: { name: 'Ed25519' } };
    default:
      throw new TypeError(`makeSigningKey: no test keys for alg ${JSON.stringify(alg)}`);
  }
}

/**
 * Makes a fresh key pair for `alg` and a self-signed certificate over it.
 *
 * @example
 * const key = await makeSigningKey('ES256', { kid: 'idp-1', notAfter: new Date(Date.now() - 1000) });
 */
export async function makeSigningKey(alg: string, opts: SigningKeyOptions = {}): Promise<TestSigningKey> {
  const params = keyParams(alg);
  // Private key not extractable: the tests never need its bytes. The public key is (the certificate needs it).
  const keys = (await webcrypto.subtle.generateKey(params.generate as webcrypto.RsaHashedKeyGenParams, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return certify(alg, keys, opts);
}

/** Another certificate (its own window, subject, kid, thumbprint) for the key pair of `key`. Cheap. */
export async function reissueCertificate(key: TestSigningKey, opts: SigningKeyOptions = {}): Promise<TestSigningKey> {
  return certify(key.alg, { privateKey: key.privateKey, publicKey: key.publicKey }, opts);
}

const shared = new Map<string, Promise<TestSigningKey>>();

/** One key per algorithm for the whole test file: for tests that need "a key", not "another key". */
export function sharedSigningKey(alg: string): Promise<TestSigningKey> {
  let key = shared.get(alg);
  if (!key) {
    key = makeSigningKey(alg, { kid: `shared-${alg}` });
    shared.set(alg, key);
  }
  return key;
}

async function certify(alg: string, keys: CryptoKeyPair, opts: SigningKeyOptions): Promise<TestSigningKey> {
  const notBefore = opts.notBefore ?? new Date(Date.now() - 3600_000);
  const notAfter = opts.notAfter ?? new Date(Date.now() + 365 * 86400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8)
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: opts.subject ?? `CN=${alg} test signer ${randomUUID().slice(0, 8)}`,
    notBefore,
    notAfter,
    signingAlgorithm: keyParams(alg).certSigning,
    keys,
  });
  const der = Buffer.from(cert.rawData);
  const thumbprint = createHash('sha256').update(der).digest('base64url');
  return {
    alg,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    certificatePem: cert.toString('pem'),
    thumbprint,
    x5t: createHash('sha1').update(der).digest('base64url'),
    kid: opts.kid ?? thumbprint,
    // The certificate holds whole seconds.
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/**
 * Signs `claims` as a compact JWS with jose. `header` merges into `{ alg: key.alg, typ: 'JWT' }`
 * (e.g. `kid`, `x5t#S256`, `jwk`, `crit`); an `alg` in it overrides the key's (jose refuses an alg
 * the key cannot make; use {@link rawJws} for those).
 */
export async function signAssertion(
  key: TestSigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const protectedHeader = { alg: key.alg, typ: 'JWT', ...header } as Parameters<SignJWT['setProtectedHeader']>[0];
  const jwt = new SignJWT(claims).setProtectedHeader(protectedHeader);
  return jwt.sign(key.privateKey, { crit: critOf(header) });
}

/** jose refuses to sign with a `crit` it does not know; tell it every listed name is understood. */
function critOf(header: Record<string, unknown>): Record<string, boolean> | undefined {
  const crit = header.crit;
  if (!Array.isArray(crit)) return undefined;
  return Object.fromEntries(crit.filter((name): name is string => typeof name === 'string').map((name) => [name, true]));
}

/** The issuer the helpers use unless told otherwise. */
export const TEST_ISSUER = 'https://idp.example.test';
/** The audience the helpers use unless told otherwise (= test/helpers/host-app.ts TOKEN_URL). */
export const TEST_AUDIENCE = 'https://as.example.test/oauth2/token';

/**
 * Valid claims: `iss`, `sub`, `aud`, `iat` = now, `exp` = now + 300, a random `jti`. Overrides merge;
 * an override of `undefined` deletes the claim. `now` defaults to the real clock.
 */
export function assertionClaims(overrides: Record<string, unknown> = {}, now: Date = new Date()): Record<string, unknown> {
  const seconds = Math.floor(now.getTime() / 1000);
  const claims: Record<string, unknown> = {
    iss: TEST_ISSUER,
    sub: 'alice',
    aud: TEST_AUDIENCE,
    iat: seconds,
    exp: seconds + 300,
    jti: randomUUID(),
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }
  return claims;
}

/**
 * A compact JWS built by hand, for hostile tests. `header`/`payload`: a string or Buffer is encoded as
 * those exact bytes (so `'{not json'` works); anything else is `JSON.stringify`-ed. `signature`: a
 * string is used verbatim as the third segment (so `''` gives an unsecured JWS); a Buffer is
 * base64url-encoded; default 64 random bytes.
 */
export function rawJws(header: unknown, payload: unknown, signature?: string | Buffer): string {
  const sig = typeof signature === 'string' ? signature : (signature ?? randomBytes(64)).toString('base64url');
  return `${segment(header)}.${segment(payload)}.${sig}`;
}

/**
 * Like {@link rawJws}, but with a real signature by `key` over exactly those bytes: for inputs jose would
 * never produce (duplicate members, `1e400`, odd whitespace) that must still reach the checks behind the
 * signature. The `alg` in `header` is not looked at; the signature is always `key.alg`'s.
 */
export async function signRawJws(key: TestSigningKey, header: unknown, payload: unknown): Promise<string> {
  const input = `${segment(header)}.${segment(payload)}`;
  const signature = await webcrypto.subtle.sign(rawSigningParams(key.alg), key.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

function segment(part: unknown): string {
  return typeof part === 'string' || Buffer.isBuffer(part)
    ? Buffer.from(part).toString('base64url')
    : base64url.encode(JSON.stringify(part));
}

/** WebCrypto parameters that produce JWS signature bytes (RFC 7518 §3; ECDSA as raw r‖s, §3.4). */
function rawSigningParams(alg: string): webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams | webcrypto.RsaPssParams {
  const bits = Number(alg.slice(2));
  if (alg.startsWith('RS')) return { name: 'RSASSA-PKCS1-v1_5' };
  if (alg.startsWith('PS')) return { name: 'RSA-PSS', saltLength: bits / 8 } as webcrypto.RsaPssParams;
  if (alg.startsWith('ES')) return { name: 'ECDSA', hash: `SHA-${bits}` } as webcrypto.EcdsaParams;
  return { name: 'Ed25519' };
}
