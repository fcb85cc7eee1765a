import { X509Certificate, createHash } from 'node:crypto';
import { OAuth2JwtBearerError } from './errors';

/** A certificate as the store keeps it. */
export interface ParsedCertificate {
  pem: string;
  /** base64url SHA-256 of the DER (`x5t#S256`). */
  thumbprint: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

/** A certificate that could not be read as one X.509 certificate (PEM or DER). Code: `invalid_certificate`. */
export class CertificateParseError extends OAuth2JwtBearerError {
  readonly code = 'invalid_certificate';
  constructor(message: string) {
    super(message);
    this.name = 'CertificateParseError';
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * Reads one X.509 certificate given as PEM text or DER bytes (what `keytool -export` writes) and
 * returns it normalised to PEM with its thumbprint and validity window.
 */
export function parseCertificate(input: string | Buffer): ParsedCertificate {
  let der: Buffer;
  if (typeof input === 'string' || looksLikePem(input)) {
    const text = input.toString();
    const block = PEM_BLOCK.exec(text)?.[0];
    if (!block) throw new CertificateParseError('Expected a PEM certificate (-----BEGIN CERTIFICATE-----).');
    const body = block.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+=*$/.test(body)) throw new CertificateParseError('The PEM certificate is not valid base64.');
    der = Buffer.from(body, 'base64');
  } else {
    der = input;
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new CertificateParseError('The certificate could not be parsed as X.509.');
  }
  const raw = cert.raw;
  const base64 = raw.toString('base64');
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`,
    thumbprint: createHash('sha256').update(raw).digest('base64url'),
    subject: cert.subject.split('\n').join(', '),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
  };
}

function looksLikePem(bytes: Buffer): boolean {
  return bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN');
}

/** Where `at` falls in a validity window; an open end (no date) never excludes. */
export type ValidityState = 'not_yet_valid' | 'valid' | 'expired';

/**
 * The one rule for a key's validity window, inclusive at both ends and without clock skew: the verifier
 * uses a certificate only while it is `valid`, and the admin API and CLI show the same judgement.
 */
export function validityAt(window: { notBefore?: Date | null; notAfter?: Date | null }, at: Date | number): ValidityState {
  const t = typeof at === 'number' ? at : at.getTime();
  if (window.notBefore && t < window.notBefore.getTime()) return 'not_yet_valid';
  if (window.notAfter && t > window.notAfter.getTime()) return 'expired';
  return 'valid';
}
