export type { KeyHint, KeySource, VerificationKey, WebCryptoKey } from './types';
export { isEmptyHint } from './types';
export { createCertificateKeySource, type CertificateKeySourceOptions } from './certificate-source';
export { algorithmsForKey } from './key-algorithms';
