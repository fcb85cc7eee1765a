import { CertificateParseError, parseCertificate, type ParsedCertificate } from '../certificates';
import { AdminError } from './errors';
import type { CertificateInput } from './schemas';

/** A certificate ready to be stored: parsed (normalised PEM, thumbprint, subject, window) with its optional `kid`. */
export interface NewCertificate extends ParsedCertificate {
  kid: string | null;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----/g;
/** Bare base64 (no PEM armour) long enough to be a certificate; `MI` is how base64 begins a DER SEQUENCE with a long-form length. */
const BASE64_DER = /^\s*MI[A-Za-z0-9+/\s]{100,}={0,2}\s*$/;

/**
 * Parses one certificate of an admin request, or throws a 400 naming `field`. A certificate outside its
 * validity window is accepted (lib/admin/README.md: stored to pre-load a successor; the verifier skips it while it
 * is not current).
 *
 * Takes PEM text, or the bare base64 of the DER (what `base64 wso2.crt` prints for `keytool -export`'s
 * default output). Refused with a message that says why: text that is not one certificate; several certificates in
 * one entry (a chain would silently keep only its first); anything holding a private key (it must
 * never leave the IdP, and an admin store is the wrong place for it).
 */
export function parseCertificateInput(input: CertificateInput, field: string): NewCertificate {
  const pem = typeof input === 'string' ? input : input.pem;
  const kid = typeof input === 'string' ? null : (input.kid ?? null);
  const pemField = typeof input === 'string' ? field : `${field}.pem`;

  const labels = [...pem.matchAll(BLOCK)].map((match) => match[1]!);
  if (labels.some((label) => label.includes('PRIVATE KEY'))) {
    throw new AdminError(
      'invalid_request',
      `${pemField} contains a private key: send only the public certificate, and treat that private key as exposed.`,
      { field: pemField },
    );
  }
  const certificates = labels.filter((label) => label === 'CERTIFICATE').length;
  if (certificates > 1) {
    throw new AdminError('invalid_request', `${pemField} holds ${certificates} certificates: send each as its own entry.`, {
      field: pemField,
    });
  }
  try {
    // `keytool -export` writes DER unless given -rfc; JSON cannot carry bytes, so its base64 is taken as well.
    const source = labels.length === 0 && BASE64_DER.test(pem) ? Buffer.from(pem.replace(/\s+/g, ''), 'base64') : pem;
    return { ...parseCertificate(source), kid };
  } catch (error) {
    if (error instanceof CertificateParseError) {
      throw new AdminError(
        'invalid_request',
        `${pemField} is not a valid X.509 certificate: ${error.message} (send PEM, or the base64 of the DER)`,
        { field: pemField },
      );
    }
    throw error;
  }
}

/**
 * Parses every certificate of a list. Two entries with the same thumbprint are a 400 (the request
 * contradicts itself), not a 409 (which is kept for a clash with what is already stored).
 */
export function parseCertificateList(inputs: readonly CertificateInput[], field: string): NewCertificate[] {
  const parsed = inputs.map((input, index) => parseCertificateInput(input, `${field}[${index}]`));
  const seen = new Map<string, number>();
  parsed.forEach((cert, index) => {
    const earlier = seen.get(cert.thumbprint);
    if (earlier !== undefined) {
      throw new AdminError('invalid_request', `${field}[${index}] is the same certificate as ${field}[${earlier}].`, {
        field: `${field}[${index}]`,
      });
    }
    seen.set(cert.thumbprint, index);
  });
  return parsed;
}
