/**
 * The assertion verifier: docs/validation.md steps 1 (format and size) to 6 of the JWT bearer grant (RFC 7523).
 */
export {
  createAssertionVerifier,
  replayKeyOf,
  type AssertionVerifier,
  type AssertionVerifierOptions,
  type VerifierResult,
  type VerifyContext,
} from './verifier';
export { decodeAssertion, VERIFIER_DEFAULTS, type DecodedAssertion, type DecodeOptions } from './decode';
export { SUPPORTED_ALGORITHMS } from './header';
export { MAX_JTI_LENGTH } from './claims';
export { createCertificateKeySource, type CertificateKeySourceOptions, type KeyHint, type KeySource, type VerificationKey } from '../keys';
