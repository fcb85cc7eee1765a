/**
 * oauth2-jwt-bearer: the OAuth 2.0 JWT Bearer grant (RFC 7523 §2.1) for node-oauth2-server, with its
 * identity providers, replay records and audit in Postgres.
 *
 * This entry never loads Express, at run time or in its types: the admin API (an Express router) is the
 * separate entry `oauth2-jwt-bearer/admin`.
 */
export { JWT_BEARER_GRANT_TYPE, createJwtBearerGrant } from './grant/jwt-bearer-grant';
export type { JwtBearerGrantOptions, ResolveUserContext } from './grant/jwt-bearer-grant';
export { guardRefreshTokens } from './grant/refresh-guard';
export { DEFAULT_TENANT } from './grant/request-context';
export { isScopeToken, isUuid, SCOPE_TOKEN } from './shared/patterns';
export { tokenEndpoint } from './http/token-endpoint';
export { TOKEN_ENDPOINT_DEFAULTS } from './http/token-endpoint';
export type { TokenEndpointOptions, TokenOutcome } from './http/token-endpoint';
export type { FailureLimitOptions } from './http/rate-limit';
export { createAssertionVerifier } from './verifier';
export { createJwksKeySource, combineKeySources, defaultKeySources, JWKS_DEFAULTS } from './keys';
export type { JwksKeySourceOptions, KeySource } from './keys';
export { createDiscoveryKeySource, DISCOVERY_DEFAULTS } from './keys';
export type { DiscoveryKeySourceOptions } from './keys';
export { createCertificateKeySource, CERTIFICATE_KEY_SOURCE_DEFAULTS } from './keys';
export type { CertificateKeySourceOptions } from './keys';
export type { AssertionVerifier } from './verifier';
export { VERIFIER_DEFAULTS } from './verifier';
export { openDatabase, isPglite, DataDirLockedError, DATABASE_DEFAULTS } from './db/connect';
export type { DatabaseOptions } from './db/connect';
export { migrate, rollback, migrationStatus, withMigrationLock, MIGRATIONS_TABLE } from './db/migrate';
export { KnexGrantStore } from './store/knex-store';
export type { KnexGrantStoreOptions } from './store/knex-store';
export type { GrantStore, IssuanceInput, JwtBearerTokenRow, PruneOptions, RefreshOrigin, ReplayKey } from './store/types';
export { TOKEN_COLUMN_TYPES } from './store/token-table';
export type { TokenTable, TokenColumnType } from './store/token-table';
export { changeFeedFor, CHANGE_FEED_DEFAULTS, CONFIG_CHANNEL } from './cache/change-feed';
export type { ChangeFeed, ChangeFeedOptions } from './cache/change-feed';
export { CoherentCache } from './cache/coherent-cache';
export type { CoherentCacheOptions } from './cache/coherent-cache';
export { parseCertificate, CertificateParseError } from './certificates';
export type { ParsedCertificate } from './certificates';
export { JwtBearerError, StoreUnavailableError, ConfigurationError, REASONS } from './errors';
export type { ReasonCode, OAuthErrorCode } from './errors';
export { OAuth2JwtBearerError } from './errors';
export { isDatabaseUnavailable, markDriverFailures } from './db/failure';
export type { OutcomeReason } from './errors';
export { sha256 } from './hash';
export type { HostModule, HostModel, HostGrantType } from './host';
export type { GrantRequest } from './grant/request-context';
export { DEFAULT_ALGORITHMS, REUSE_MAX_LIFETIME_SECONDS } from './types';
export type { Tenant, IdentityProviderRecord, CertificateRecord, VerifiedAssertion, IssuedTokenRecord } from './types';
export {
  authenticateClient,
  readClientRequest,
  bindTenant,
  readBasicCredentials,
  CLIENT_BASIC_CHALLENGE,
  DEFAULT_FORM_BODY_LIMIT_BYTES,
} from './http/client-authentication';
export type {
  AuthenticatedClient,
  ClientAuthenticationErrorCode,
  ClientAuthenticationFailure,
  ClientAuthenticationMethod,
  ClientAuthenticationOptions,
  ClientAuthenticationRequest,
  ClientCredentials,
  ClientRequest,
} from './http/client-authentication';
export type { FormFields } from './http/form-body';
export { answerFor } from './http/failure';
export type { ErrorAnswer } from './http/failure';
export { runNamedStatement } from './store/statement';
export type { NamedStatement, StatementResult } from './store/statement';
export { exposeDatabaseToCli } from './cli/server-bridge';
export type { CliBridge, CliBridgeOptions } from './cli/server-bridge';
export { addIdentityProvider, addTenant, listIdentityProviders, listTenants } from './cli/identity-providers';
export type { AddIdpInput, CertificateFile, CertificateSummary, IdpSummary } from './cli/identity-providers';
