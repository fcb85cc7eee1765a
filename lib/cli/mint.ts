import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { CliError } from './errors';

export interface MintOptions {
  /** PKCS#8 (or PKCS#1/SEC1) PEM private key of the IdP. */
  privateKeyPem: string;
  iss: string;
  sub: string;
  aud: string[];
  /** Lifetime in seconds (default 300). */
  expiresIn?: number;
  jti?: string;
  kid?: string;
  /** Defaults to the key's natural algorithm (RSA → RS256, P-256 → ES256, Ed25519 → EdDSA …). */
  alg?: string;
  /** Extra claims. */
  claims?: Record<string, unknown>;
  now?: Date;
}

/**
 * Signs an RFC 7523 assertion as the WSO2 "JWT Grant" page describes it: `iss` (the IdP name), `sub`, `aud` (the
 * token endpoint alias), `exp`, `nbf`, `iat` and a fresh `jti`, so each minted assertion can be used once.
 */
export async function mintAssertion(options: MintOptions): Promise<string> {
  let key: KeyObject;
  try {
    key = createPrivateKey(options.privateKeyPem);
  } catch {
    throw new CliError('The signing key could not be read: expected a PEM private key.');
  }
  const alg = options.alg ?? naturalAlgorithm(key);
  const expiresIn = options.expiresIn ?? 300;
  if (!Number.isInteger(expiresIn) || expiresIn <= 0) throw new CliError('--exp must be a positive whole number of seconds.');
  if (!options.sub) throw new CliError('--sub must not be empty.');
  if (options.aud.length === 0) throw new CliError('--aud must name at least one audience.');
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const header: { alg: string; typ: string; kid?: string } = { alg, typ: 'JWT' };
  if (options.kid) header.kid = options.kid;
  try {
    return await new SignJWT({ ...(options.claims ?? {}) })
      .setProtectedHeader(header)
      .setIssuer(options.iss)
      .setSubject(options.sub)
      .setAudience(options.aud.length === 1 ? options.aud[0]! : options.aud)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + expiresIn)
      .setJti(options.jti ?? randomUUID())
      .sign(key);
  } catch (error) {
    throw new CliError(`Could not sign with ${alg}: ${(error as Error).message}`);
  }
}

function naturalAlgorithm(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const alg = ({ prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' } as Record<string, string>)[curve ?? ''];
      if (alg) return alg;
      break;
    }
    case 'ed25519':
      return 'EdDSA';
  }
  throw new CliError(`Unsupported key type ${key.asymmetricKeyType ?? 'unknown'}: use an RSA, EC (P-256/384/521) or Ed25519 key.`);
}
