import type { IdentityProviderRecord } from '../../lib/types';

/**
 * The settings an identity provider has when none is given: the column defaults of
 * migrations/001_initial.ts (docs/storage.md), as record fields. The admin API's JSON view carries them
 * unchanged, so one object serves the store's records, the verifier's fixtures and the API's answers.
 */
export const IDP_DEFAULTS = {
  displayName: null,
  enabled: true,
  algorithms: null,
  jwksUri: null,
  requireJti: true,
  maxAssertionLifetimeSeconds: 86400,
  iatMaxAgeSeconds: null,
  clockSkewSeconds: 60,
  allowedSubjects: null,
  allowedClients: null,
  allowedScopes: null,
  issueRefreshToken: true,
  replayPolicy: 'once',
  discoveryUrl: null,
  rules: [],
} as const satisfies Omit<IdentityProviderRecord, 'id' | 'tenantId' | 'name' | 'aliases' | 'certificates' | 'createdAt' | 'updatedAt'>;
