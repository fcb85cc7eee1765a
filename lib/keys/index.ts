export type { KeyHint, KeySource, VerificationKey } from './types';
export { isEmptyHint } from './types';
export { CERTIFICATE_KEY_SOURCE_DEFAULTS, createCertificateKeySource, type CertificateKeySourceOptions } from './certificate-source';
export { createJwksKeySource, JWKS_DEFAULTS, type JwksKeySourceOptions } from './jwks-source';
export { combineKeySources, defaultKeySources } from './combine';
export { checkJwksUrl, isLoopbackHostname } from '../shared/jwks-uri';
export type { FetchFunction } from './jwks-fetch';
export { JwksFetchError } from './jwks-fetch';
export { algorithmsForKey } from './key-algorithms';
