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

/** docs/workload-identity.md: `once`, every assertion is single-use; `reuse`, tokens reused by design (at most an hour long). */
export type ReplayPolicy = 'once' | 'reuse';

export { REUSE_MAX_LIFETIME_SECONDS } from '../migrations/003_workload_identity';

/** `enforce`: the rule decides; `shadow`: it is evaluated beside the enforced rules and only reported. */
export type TrustRuleMode = 'enforce' | 'shadow';

/** A trust rule of an identity provider (table `jwt_bearer_idp_rules`; docs/workload-identity.md). */
export interface TrustRuleRecord {
  id: string;
  /** Unique within its IdP; audited, logged and counted for the assertions it admits. */
  name: string;
  /** A CEL expression of type bool over `claims`, `header` and `client`. */
  condition: string;
  /** A CEL expression of type string: the subject handed to the host; `null` means `claims.sub`. */
  subject: string | null;
  /** The client ids that may present an assertion this rule admits; empty: any client of the tenant. */
  clients: string[];
  /** The scopes the rule allows; `null`: no bound of its own. */
  scopes: string[] | null;
  mode: TrustRuleMode;
  /** Evaluation order (ascending, then by name). */
  position: number;
  createdAt: Date;
  updatedAt: Date;
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
  /** docs/workload-identity.md; `reuse` only with `maxAssertionLifetimeSeconds` ≤ 3600. */
  replayPolicy: ReplayPolicy;
  /** An OpenID Provider configuration document naming the JWKS (its `issuer` must equal {@link name}); exclusive with {@link jwksUri}. */
  discoveryUrl: string | null;
  aliases: string[];
  certificates: CertificateRecord[];
  /** Trust rules in evaluation order; none: the IdP admits every assertion that passes the other checks. */
  rules: TrustRuleRecord[];
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
  /** The subject handed to the host: the admitting rule's subject expression, else `claims.sub`. */
  subject: string;
  /** The enforced trust rule that admitted the assertion; `null` for an IdP without enforced rules. */
  rule: { name: string; scopes: string[] | null } | null;
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
  /** The trust rule that admitted the assertion (`null`: the IdP had no enforced rules). */
  ruleName: string | null;
  scope: string | null;
  accessTokenSha256: string;
  refreshTokenSha256: string | null;
  parentId: string | null;
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}
