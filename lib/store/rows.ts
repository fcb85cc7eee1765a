import type {
  CertificateRecord,
  IdentityProviderRecord,
  IssuedTokenRecord,
  ReplayPolicy,
  Tenant,
  TrustRuleMode,
  TrustRuleRecord,
} from '../types';

/**
 * Rows as the database returns them, and their mapping to the records of lib/types.ts. The mapping
 * evens out what differs between pg and PGlite (bigint/count as string or number or BigInt) and what
 * JSON aggregation turns into strings or numbers (timestamps).
 */

/** A `jwt_bearer_tenants` row. */
export interface TenantRow {
  id: string;
  domain: string;
}

/** A certificate as {@link IDP_SELECT} aggregates it: timestamps as epoch milliseconds (JSON numbers). */
export interface CertificateJson {
  id: string;
  pem: string;
  thumbprint: string;
  subject: string;
  not_before_ms: number | string;
  not_after_ms: number | string;
  kid: string | null;
}

/** A trust rule as {@link IDP_SELECT} aggregates it: timestamps as epoch milliseconds (JSON numbers). */
export interface TrustRuleJson {
  id: string;
  name: string;
  condition: string;
  subject: string | null;
  clients: string[];
  scopes: string[] | null;
  mode: TrustRuleMode;
  position: number | string;
  created_at_ms: number | string;
  updated_at_ms: number | string;
}

/** A `jwt_bearer_identity_providers` row with its aliases and certificates aggregated as JSON. */
export interface IdentityProviderRow {
  id: string;
  tenant_id: string;
  name: string;
  display_name: string | null;
  enabled: boolean;
  algorithms: string[] | null;
  jwks_uri: string | null;
  require_jti: boolean;
  max_assertion_lifetime_seconds: number | string;
  iat_max_age_seconds: number | string | null;
  clock_skew_seconds: number | string;
  allowed_subjects: string[] | null;
  allowed_clients: string[] | null;
  allowed_scopes: string[] | null;
  issue_refresh_token: boolean;
  replay_policy: ReplayPolicy;
  discovery_url: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  aliases: string[] | string;
  certificates: CertificateJson[] | string;
  rules: TrustRuleJson[] | string;
}

/** A `jwt_bearer_issued_tokens` row. */
export interface IssuedTokenRow {
  id: string;
  tenant_id: string;
  idp_id: string | null;
  idp_name: string;
  client_id: string;
  subject: string;
  jti: string | null;
  rule_name: string | null;
  scope: string | null;
  access_token_sha256: string;
  refresh_token_sha256: string | null;
  parent_id: string | null;
  issued_at: Date | string;
  expires_at: Date | string;
  revoked_at: Date | string | null;
}

/**
 * The select list of an IdP with its aliases, certificates and trust rules, for
 * `FROM jwt_bearer_identity_providers i`: one round trip, since each aggregate is a correlated subquery.
 * Aliases come in the order they were added; certificates likewise (ties broken by id, so the order is
 * stable); rules in evaluation order (position, then name by code point, as the rule engine orders them).
 */
export const IDP_SELECT = `
  i.id, i.tenant_id, i.name, i.display_name, i.enabled, i.algorithms, i.jwks_uri, i.require_jti,
  i.max_assertion_lifetime_seconds, i.iat_max_age_seconds, i.clock_skew_seconds,
  i.allowed_subjects, i.allowed_clients, i.allowed_scopes, i.issue_refresh_token, i.replay_policy, i.discovery_url,
  i.created_at, i.updated_at,
  coalesce((select json_agg(a.alias order by a.created_at, a.alias)
              from jwt_bearer_idp_aliases a where a.idp_id = i.id), '[]'::json) as aliases,
  coalesce((select json_agg(json_build_object(
                'id', c.id, 'pem', c.pem, 'thumbprint', c.thumbprint, 'subject', c.subject, 'kid', c.kid,
                'not_before_ms', floor(extract(epoch from c.not_before) * 1000),
                'not_after_ms', floor(extract(epoch from c.not_after) * 1000))
              order by c.created_at, c.id)
              from jwt_bearer_idp_certificates c where c.idp_id = i.id), '[]'::json) as certificates,
  coalesce((select json_agg(json_build_object(
                'id', r.id, 'name', r.name, 'condition', r.condition, 'subject', r.subject, 'clients', r.clients,
                'scopes', r.scopes, 'mode', r.mode, 'position', r.position,
                'created_at_ms', floor(extract(epoch from r.created_at) * 1000),
                'updated_at_ms', floor(extract(epoch from r.updated_at) * 1000))
              order by r.position, r.name collate "C")
              from jwt_bearer_idp_rules r where r.idp_id = i.id), '[]'::json) as rules`;

/** Maps a tenant row. */
export function toTenant(row: TenantRow): Tenant {
  return { id: row.id, domain: row.domain };
}

/** Maps an IdP row selected with {@link IDP_SELECT}. */
export function toIdentityProviderRecord(row: IdentityProviderRow): IdentityProviderRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    displayName: row.display_name,
    enabled: row.enabled,
    algorithms: textArray(row.algorithms),
    jwksUri: row.jwks_uri,
    requireJti: row.require_jti,
    maxAssertionLifetimeSeconds: toNumber(row.max_assertion_lifetime_seconds),
    iatMaxAgeSeconds: row.iat_max_age_seconds === null ? null : toNumber(row.iat_max_age_seconds),
    clockSkewSeconds: toNumber(row.clock_skew_seconds),
    allowedSubjects: textArray(row.allowed_subjects),
    allowedClients: textArray(row.allowed_clients),
    allowedScopes: textArray(row.allowed_scopes),
    issueRefreshToken: row.issue_refresh_token,
    replayPolicy: row.replay_policy,
    discoveryUrl: row.discovery_url,
    aliases: json<string[]>(row.aliases),
    certificates: json<CertificateJson[]>(row.certificates).map(toCertificateRecord),
    rules: json<TrustRuleJson[]>(row.rules).map(toTrustRuleRecord),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** Maps one aggregated certificate. */
export function toCertificateRecord(cert: CertificateJson): CertificateRecord {
  return {
    id: cert.id,
    pem: cert.pem,
    thumbprint: cert.thumbprint,
    subject: cert.subject,
    notBefore: new Date(toNumber(cert.not_before_ms)),
    notAfter: new Date(toNumber(cert.not_after_ms)),
    kid: cert.kid,
  };
}

/** Maps one aggregated trust rule. */
export function toTrustRuleRecord(rule: TrustRuleJson): TrustRuleRecord {
  return {
    id: rule.id,
    name: rule.name,
    condition: rule.condition,
    subject: rule.subject,
    clients: rule.clients,
    scopes: rule.scopes,
    mode: rule.mode,
    position: toNumber(rule.position),
    createdAt: new Date(toNumber(rule.created_at_ms)),
    updatedAt: new Date(toNumber(rule.updated_at_ms)),
  };
}

/** Maps an audit row. */
export function toIssuedTokenRecord(row: IssuedTokenRow): IssuedTokenRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    idpId: row.idp_id,
    idpName: row.idp_name,
    clientId: row.client_id,
    subject: row.subject,
    jti: row.jti,
    ruleName: row.rule_name,
    scope: row.scope,
    accessTokenSha256: row.access_token_sha256,
    refreshTokenSha256: row.refresh_token_sha256,
    parentId: row.parent_id,
    issuedAt: toDate(row.issued_at),
    expiresAt: toDate(row.expires_at),
    revokedAt: row.revoked_at === null ? null : toDate(row.revoked_at),
  };
}

/** A count or bigint as a JS number: pg returns a string, PGlite a number or BigInt. */
export function toNumber(value: number | string | bigint): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`Expected a number from the database, got ${String(value)}.`);
  return n;
}

/** A timestamp as a Date: both drivers return Dates for timestamptz; strings come from JSON or custom parsers. */
export function toDate(value: Date | string): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new TypeError(`Expected a timestamp from the database, got ${String(value)}.`);
  return date;
}

/** A `text[]` as a string array (both drivers parse it; a literal `{a,b}` would mean a parser is missing). */
function textArray(value: string[] | null): string[] | null {
  if (value === null || Array.isArray(value)) return value;
  throw new TypeError('Expected a text[] column to arrive as an array: is the driver missing its array parser?');
}

/** A json column: parsed by both drivers; tolerate a string in case a host replaced the parser. */
function json<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
