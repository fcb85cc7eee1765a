import { isUtf8 } from 'node:buffer';
import { JwtBearerError } from '../errors';
import { parseJsonObject } from '../shared/json';

/** Defaults of the verifier's options: the longest assertion accepted, in bytes (16 KiB; RFC 7523 sets none). */
export const VERIFIER_DEFAULTS = { maxAssertionBytes: 16384 } as const;

/** A compact JWS taken apart, nothing verified yet. */
export interface DecodedAssertion {
  /** The JOSE header (RFC 7515 §4), unverified. */
  header: Record<string, unknown>;
  /** The JWT claims set (RFC 7519 §4), unverified. */
  payload: Record<string, unknown>;
  /** The three segments as received. */
  segments: { header: string; payload: string; signature: string };
  /** `header.payload`, the JWS signing input (RFC 7515 §5.1 step 6): what the signature covers. */
  signingInput: string;
  /** The signature's bytes (empty for an unsecured JWS, which step 2 refuses). */
  signature: Buffer;
}

/** Options of {@link decodeAssertion}. */
export interface DecodeOptions {
  /** Longest accepted assertion in bytes (default {@link VERIFIER_DEFAULTS}: 16384). */
  maxAssertionBytes?: number;
}

/**
 * docs/validation.md step 1 (format and size): takes a compact JWS (RFC 7515 §7.1) apart without verifying it.
 * Pure; useful on its own for a dry run that shows the claims of a refused assertion.
 *
 * Refuses, with `assertion_too_large`, more than `maxAssertionBytes` bytes; and with
 * `assertion_malformed`: anything but three segments in the strict base64url alphabet without padding
 * (RFC 7515 §2, §C) in canonical form (unused trailing bits zero, so one byte string has one spelling),
 * a header or payload that is not valid UTF-8 (RFC 7515 §5.2 step 3/4, RFC 7519 §7.2 step 8), not a JSON
 * object, or that has duplicate member names (see {@link parseJsonObject}).
 *
 * @example
 * const { header, payload } = decodeAssertion(assertion);
 */
export function decodeAssertion(assertion: string, options: DecodeOptions = {}): DecodedAssertion {
  const max = options.maxAssertionBytes ?? VERIFIER_DEFAULTS.maxAssertionBytes;
  if (typeof assertion !== 'string') throw malformed('not a string');
  // Every character is at least one byte: the cheap test first, the exact one only when it can matter.
  if (assertion.length > max || (assertion.length * 3 > max && Buffer.byteLength(assertion, 'utf8') > max)) {
    throw new JwtBearerError('assertion_too_large', { detail: `longer than ${max} bytes` });
  }
  const parts = assertion.split('.');
  if (parts.length !== 3) throw malformed(`${parts.length} segments, not 3`);
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];

  const header = parseJsonObject(utf8(decodeSegment(headerSegment, 'header'), 'header'));
  if (!header.ok) throw malformed(`header: ${header.problem}`);
  const payload = parseJsonObject(utf8(decodeSegment(payloadSegment, 'payload'), 'payload'));
  if (!payload.ok) throw malformed(`payload: ${payload.problem}`);
  // The signature may be empty here (an unsecured JWS, RFC 7515 §A.5): its alg is refused in step 2
  // with a more useful reason than "malformed".
  const signature = decodeSegment(signatureSegment, 'signature');

  return {
    header: header.value,
    payload: payload.value,
    segments: { header: headerSegment, payload: payloadSegment, signature: signatureSegment },
    signingInput: `${headerSegment}.${payloadSegment}`,
    signature,
  };
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url (RFC 4648 §5, no padding, RFC 7515 §2). Node's own decoder skips characters outside
 * the alphabet and ignores non-zero trailing bits, so the alphabet is checked first and the result is
 * re-encoded: only the canonical spelling of a byte string survives the round trip.
 */
export function decodeSegment(segment: string, name: string): Buffer {
  if (!BASE64URL.test(segment)) throw malformed(`${name}: not base64url`);
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) throw malformed(`${name}: not canonical base64url`);
  return bytes;
}

function utf8(bytes: Buffer, name: string): string {
  // isUtf8 rejects overlong forms and encoded surrogates; toString would replace them silently.
  if (!isUtf8(bytes)) throw malformed(`${name}: not UTF-8`);
  return bytes.toString('utf8');
}

function malformed(detail: string): JwtBearerError {
  return new JwtBearerError('assertion_malformed', { detail });
}
