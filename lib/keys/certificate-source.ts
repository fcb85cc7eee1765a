import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { ConfigurationError } from '../errors';
import type { CertificateRecord, IdentityProviderRecord } from '../types';
import { algorithmsForKey } from './key-algorithms';
import { LruMap } from '../lru';
import type { KeyHint, KeySource, VerificationKey } from './types';

/** Options of {@link createCertificateKeySource}. */
export interface CertificateKeySourceOptions {
  /**
   * How many distinct certificates keep their parsed form and imported keys in memory (default
   * {@link CERTIFICATE_KEY_SOURCE_DEFAULTS}: 1024). Parsing costs 100–300 µs each; a cached key costs
   * nothing per request.
   */
  maxEntries?: number;
}

/** Defaults of {@link CertificateKeySourceOptions}. */
export const CERTIFICATE_KEY_SOURCE_DEFAULTS = { maxEntries: 1024 } as const;

/** What one certificate yields, computed once from its DER and shared by every IdP that lists it. */
interface ParsedKey {
  /** The PEM this entry was parsed from. */
  pem: string;
  /** base64url SHA-256 of the DER (`x5t#S256`), recomputed here, never taken on trust. */
  thumbprint: string;
  /** base64url SHA-1 of the DER (`x5t`). */
  sha1: string;
  notBefore: Date;
  notAfter: Date;
  algorithms: ReadonlySet<string>;
  publicKey: KeyObject;
}

/**
 * docs/validation.md step 2/4: keys from the IdP's stored X.509 certificates. Each certificate is parsed once,
 * cached by thumbprint: an entry is made only after the thumbprint was
 * recomputed from the PEM and found equal to the stored one, and is used only for that same PEM.
 *
 * A certificate that cannot be parsed, whose stored thumbprint does not match its DER, or whose key is of
 * no supported type is skipped, never fatal: the IdP's other certificates still work.
 *
 * @example
 * const verifier = createAssertionVerifier({ keySources: [createCertificateKeySource({ maxEntries: 256 })] });
 */
export function createCertificateKeySource(options: CertificateKeySourceOptions = {}): KeySource {
  const maxEntries = options.maxEntries ?? CERTIFICATE_KEY_SOURCE_DEFAULTS.maxEntries;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new ConfigurationError(`certificate key source: maxEntries must be a positive integer; got ${String(options.maxEntries)}.`);
  }
  const cache = new LruMap<string, ParsedKey>(maxEntries);

  function parsed(record: CertificateRecord): ParsedKey | undefined {
    const cached = cache.get(record.thumbprint);
    // The PEM comparison (a memcmp) makes a row's PEM, never its thumbprint column alone, decide its key.
    if (cached && cached.pem === record.pem) return cached;
    const entry = parse(record);
    if (entry) cache.set(entry.thumbprint, entry);
    return entry;
  }

  return {
    async getKeys(idp: IdentityProviderRecord, hint: KeyHint): Promise<readonly VerificationKey[]> {
      const keys: VerificationKey[] = [];
      for (const record of idp.certificates) {
        // kid and x5t#S256 are decided from the stored columns, so a hinted request parses only its own
        // certificate; the cached entry's thumbprint equals record.thumbprint by construction.
        if (hint.x5tS256 !== undefined && hint.x5tS256 !== record.thumbprint) continue;
        if (hint.kid !== undefined && hint.kid !== record.kid && hint.kid !== record.thumbprint) continue;
        const entry = parsed(record);
        if (!entry) continue;
        if (hint.x5t !== undefined && hint.x5t !== entry.sha1) continue;
        keys.push(new CertificateKey(entry));
      }
      return keys;
    },
  };
}

class CertificateKey implements VerificationKey {
  readonly id: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: KeyObject;
  readonly #algorithms: ReadonlySet<string>;

  constructor(entry: ParsedKey) {
    this.id = `cert:${entry.thumbprint}`;
    this.notBefore = entry.notBefore;
    this.notAfter = entry.notAfter;
    this.publicKey = entry.publicKey;
    this.#algorithms = entry.algorithms;
  }

  supports(alg: string): boolean {
    return this.#algorithms.has(alg);
  }
}

function parse(record: CertificateRecord): ParsedKey | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(record.pem);
  } catch {
    return undefined;
  }
  const der = cert.raw;
  const thumbprint = createHash('sha256').update(der).digest('base64url');
  if (thumbprint !== record.thumbprint) return undefined;
  const publicKey = cert.publicKey;
  return {
    pem: record.pem,
    thumbprint,
    sha1: createHash('sha1').update(der).digest('base64url'),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    algorithms: algorithmsForKey(publicKey),
    publicKey,
  };
}
