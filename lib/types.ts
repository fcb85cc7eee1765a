/** Records as the store hands them out. Times are `Date`s; lists that are "not set" are `null`. */

export interface Tenant {
  id: string;
  domain: string;
}

/** A stored certificate of an identity provider (table `jwt_bearer_idp_certificates`). */
export interface CertificateRecord {
  id: string;
  pem: string;
  /** base64url SHA-256 of the DER: the `x5t#S256` form. */
  thumbprint: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  kid: string | null;
}

/** An identity provider as the store serves it: its settings, aliases and certificates (docs/storage.md). */
export interface IdentityProviderRecord {
  id: string;
  tenantId: string;
  /** The JWT `iss` this IdP signs with. */
  name: string;
  displayName: string | null;
  enabled: boolean;
  /** Allowed JWS algorithms; `null` means {@link DEFAULT_ALGORITHMS}. */
  algorithms: string[] | null;
  jwksUri: string | null;
  requireJti: boolean;
  maxAssertionLifetimeSeconds: number;
  iatMaxAgeSeconds: number | null;
  clockSkewSeconds: number;
  allowedSubjects: string[] | null;
  allowedClients: string[] | null;
  allowedScopes: string[] | null;
  issueRefreshToken: boolean;
  aliases: string[];
  certificates: CertificateRecord[];
  createdAt: Date;
  updatedAt: Date;
}

/** docs/validation.md step 2: the default allow-list. HMAC and `none` are never allowed, whatever is configured. */
export const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** The claims of an assertion that passed docs/validation.md steps 1–5. */
export interface VerifiedAssertion {
  idp: IdentityProviderRecord;
  header: Record<string, unknown>;
  claims: Record<string, unknown> & { iss: string; sub: string; exp: number; jti?: string };
  /** The replay key: the `jti`, or the SHA-256 (base64url) of `header.payload` where there is none. */
  replayKey: string;
}

/** One row of the issued-tokens audit (hashes only). */
export interface IssuedTokenRecord {
  id: string;
  tenantId: string;
  idpId: string | null;
  idpName: string;
  clientId: string;
  subject: string;
  jti: string | null;
  scope: string | null;
  accessTokenSha256: string;
  refreshTokenSha256: string | null;
  parentId: string | null;
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}
