import type { Knex } from 'knex';
import { parseCertificate } from '../../lib/certificates';

export interface SeedIdp {
  tenant?: string;
  name: string;
  certificates?: Array<{ pem: string; kid?: string }>;
  aliases?: string[];
  algorithms?: string[] | null;
  enabled?: boolean;
  requireJti?: boolean;
  maxAssertionLifetimeSeconds?: number;
  iatMaxAgeSeconds?: number | null;
  clockSkewSeconds?: number;
  allowedSubjects?: string[] | null;
  allowedClients?: string[] | null;
  allowedScopes?: string[] | null;
  issueRefreshToken?: boolean;
  /** The IdP's JWKS URI (stored as given: tests of the fetch-time checks may store what the admin API refuses). */
  jwksUri?: string | null;
  /** `once` (the default) or `reuse` (then a lifetime of at most 3600 s, or the database refuses the row). */
  replayPolicy?: 'once' | 'reuse';
  /** The IdP's OpenID Provider configuration document URL (stored as given, like `jwksUri`). */
  discoveryUrl?: string | null;
}

/** Ensures a tenant row and returns its id. */
export async function seedTenant(knex: Knex, domain: string): Promise<string> {
  await knex('jwt_bearer_tenants').insert({ domain }).onConflict('domain').ignore();
  const row = await knex('jwt_bearer_tenants').where({ domain }).first('id');
  return row.id;
}

/** Inserts an IdP with its certificates and aliases straight into the tables; returns its id. */
export async function seedIdp(knex: Knex, idp: SeedIdp): Promise<string> {
  const tenantId = await seedTenant(knex, idp.tenant ?? 'carbon.super');
  const [row] = await knex('jwt_bearer_identity_providers')
    .insert({
      tenant_id: tenantId,
      name: idp.name,
      enabled: idp.enabled ?? true,
      algorithms: idp.algorithms ?? null,
      require_jti: idp.requireJti ?? true,
      max_assertion_lifetime_seconds: idp.maxAssertionLifetimeSeconds ?? 86400,
      iat_max_age_seconds: idp.iatMaxAgeSeconds ?? null,
      clock_skew_seconds: idp.clockSkewSeconds ?? 60,
      allowed_subjects: idp.allowedSubjects ?? null,
      allowed_clients: idp.allowedClients ?? null,
      allowed_scopes: idp.allowedScopes ?? null,
      issue_refresh_token: idp.issueRefreshToken ?? true,
      jwks_uri: idp.jwksUri ?? null,
      replay_policy: idp.replayPolicy ?? 'once',
      discovery_url: idp.discoveryUrl ?? null,
    })
    .returning('id');
  for (const cert of idp.certificates ?? []) {
    const parsed = parseCertificate(cert.pem);
    await knex('jwt_bearer_idp_certificates').insert({
      idp_id: row.id,
      pem: parsed.pem,
      thumbprint: parsed.thumbprint,
      subject: parsed.subject,
      not_before: parsed.notBefore,
      not_after: parsed.notAfter,
      kid: cert.kid ?? null,
    });
  }
  for (const alias of idp.aliases ?? []) await knex('jwt_bearer_idp_aliases').insert({ idp_id: row.id, alias });
  return row.id;
}
