import type { Knex } from 'knex';
import { CertificateParseError, parseCertificate } from '../certificates';
import { DEFAULT_ALGORITHMS } from '../types';
import { CliError } from './errors';

/**
 * The identity-provider operations of the CLI, straight on the package's tables (SPEC §2). Each
 * multi-row change is one transaction; every query inside it goes through the transaction object
 * (PGlite has a single connection).
 */

export interface IdpSummary {
  id: string;
  tenant: string;
  name: string;
  displayName: string | null;
  enabled: boolean;
  jwksUri: string | null;
  algorithms: string[] | null;
  aliases: string[];
  certificates: CertificateSummary[];
}

export interface CertificateSummary {
  id: string;
  thumbprint: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  kid: string | null;
}

export interface AddIdpInput {
  tenant: string;
  name: string;
  displayName?: string;
  /** Certificate files' contents, PEM or DER (as `keytool -export` writes). */
  certificates: Array<{ source: string; bytes: Buffer; kid?: string }>;
  aliases: string[];
  jwksUri?: string;
  algorithms?: string[];
  requireJti?: boolean;
}

const FORBIDDEN_ALGS = new Set(['none', 'HS256', 'HS384', 'HS512']);

export async function tenantId(knex: Knex, domain: string): Promise<string> {
  const row = await knex('jwt_bearer_tenants').where({ domain }).first('id');
  if (!row) throw new CliError(`Unknown tenant "${domain}". Create it first: oauth2-jwt-bearer tenant add ${domain}`);
  return row.id;
}

export async function addTenant(knex: Knex, domain: string): Promise<{ id: string; created: boolean }> {
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(domain)) throw new CliError('A tenant domain is a DNS-style name: letters, digits, dots and hyphens.');
  const inserted = await knex('jwt_bearer_tenants').insert({ domain }).onConflict('domain').ignore().returning('id');
  if (inserted.length > 0) return { id: inserted[0].id, created: true };
  return { id: await tenantId(knex, domain), created: false };
}

export async function listTenants(knex: Knex): Promise<Array<{ id: string; domain: string }>> {
  return knex('jwt_bearer_tenants').select('id', 'domain').orderBy('domain');
}

export async function addIdentityProvider(knex: Knex, input: AddIdpInput): Promise<IdpSummary> {
  if (!input.name || input.name.trim() !== input.name) throw new CliError('--name must be the JWT issuer exactly: non-empty, no surrounding spaces.');
  if (input.certificates.length === 0 && !input.jwksUri) throw new CliError('Give the IdP a way to verify signatures: --cert <file> (PEM or DER) or --jwks-uri <https URL>.');
  if (input.jwksUri) checkJwksUri(input.jwksUri);
  if (input.algorithms) checkAlgorithms(input.algorithms);
  for (const alias of input.aliases) if (!alias) throw new CliError('--alias must not be empty.');
  const certs = input.certificates.map((c) => ({ ...readCertificate(c.source, c.bytes), kid: c.kid ?? null }));

  const id = await knex.transaction(async (trx) => {
    const tid = await tenantId(trx, input.tenant);
    let row: { id: string };
    try {
      [row] = await trx('jwt_bearer_identity_providers')
        .insert({
          tenant_id: tid,
          name: input.name,
          display_name: input.displayName ?? null,
          jwks_uri: input.jwksUri ?? null,
          algorithms: input.algorithms ?? null,
          require_jti: input.requireJti ?? true,
        })
        .returning('id');
    } catch (error) {
      if (isUniqueViolation(error)) throw new CliError(`An identity provider named "${input.name}" already exists in tenant ${input.tenant}.`);
      throw error;
    }
    const seen = new Set<string>();
    for (const cert of certs) {
      if (seen.has(cert.thumbprint)) continue;
      seen.add(cert.thumbprint);
      await trx('jwt_bearer_idp_certificates').insert({
        idp_id: row.id,
        pem: cert.pem,
        thumbprint: cert.thumbprint,
        subject: cert.subject,
        not_before: cert.notBefore,
        not_after: cert.notAfter,
        kid: cert.kid,
      });
    }
    for (const alias of new Set(input.aliases)) await trx('jwt_bearer_idp_aliases').insert({ idp_id: row.id, alias });
    return row.id;
  });
  return (await findIdp(knex, input.tenant, input.name, id))!;
}

export async function listIdentityProviders(knex: Knex, tenant?: string): Promise<IdpSummary[]> {
  const query = knex('jwt_bearer_identity_providers as i')
    .join('jwt_bearer_tenants as t', 't.id', 'i.tenant_id')
    .select('i.id', 't.domain', 'i.name', 'i.display_name', 'i.enabled', 'i.jwks_uri', 'i.algorithms')
    .orderBy([{ column: 't.domain' }, { column: 'i.name' }]);
  if (tenant) {
    await tenantId(knex, tenant);
    query.where('t.domain', tenant);
  }
  const rows = await query;
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const aliases = await knex('jwt_bearer_idp_aliases').whereIn('idp_id', ids).orderBy('alias');
  const certs = await knex('jwt_bearer_idp_certificates').whereIn('idp_id', ids).orderBy('not_before');
  return rows.map((r) => ({
    id: r.id,
    tenant: r.domain,
    name: r.name,
    displayName: r.display_name,
    enabled: r.enabled,
    jwksUri: r.jwks_uri,
    algorithms: r.algorithms,
    aliases: aliases.filter((a) => a.idp_id === r.id).map((a) => a.alias),
    certificates: certs
      .filter((c) => c.idp_id === r.id)
      .map((c) => ({ id: c.id, thumbprint: c.thumbprint, subject: c.subject, notBefore: new Date(c.not_before), notAfter: new Date(c.not_after), kid: c.kid })),
  }));
}

export async function addCertificate(knex: Knex, input: { tenant: string; name: string; source: string; bytes: Buffer; kid?: string }): Promise<CertificateSummary> {
  const cert = readCertificate(input.source, input.bytes);
  return knex.transaction(async (trx) => {
    const idp = await requireIdp(trx, input.tenant, input.name);
    try {
      const [row] = await trx('jwt_bearer_idp_certificates')
        .insert({ idp_id: idp.id, pem: cert.pem, thumbprint: cert.thumbprint, subject: cert.subject, not_before: cert.notBefore, not_after: cert.notAfter, kid: input.kid ?? null })
        .returning('id');
      await touch(trx, idp.id);
      return { id: row.id, thumbprint: cert.thumbprint, subject: cert.subject, notBefore: cert.notBefore, notAfter: cert.notAfter, kid: input.kid ?? null };
    } catch (error) {
      if (isUniqueViolation(error)) throw new CliError(`The identity provider "${input.name}" already has the certificate ${cert.thumbprint}.`);
      throw error;
    }
  });
}

/** Removes a certificate named by its thumbprint or id. */
export async function removeCertificate(knex: Knex, input: { tenant: string; name: string; certificate: string }): Promise<void> {
  await knex.transaction(async (trx) => {
    const idp = await requireIdp(trx, input.tenant, input.name);
    const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.certificate);
    const count = await trx('jwt_bearer_idp_certificates')
      .where({ idp_id: idp.id })
      .andWhere(byId ? { id: input.certificate } : { thumbprint: input.certificate })
      .delete();
    if (count === 0) throw new CliError(`The identity provider "${input.name}" has no certificate ${input.certificate}. See: oauth2-jwt-bearer idp list`);
    await touch(trx, idp.id);
  });
}

export async function removeIdentityProvider(knex: Knex, input: { tenant: string; name: string }): Promise<void> {
  await knex.transaction(async (trx) => {
    const idp = await requireIdp(trx, input.tenant, input.name);
    await trx('jwt_bearer_identity_providers').where({ id: idp.id }).delete();
  });
}

async function findIdp(knex: Knex, tenant: string, name: string, id?: string): Promise<IdpSummary | undefined> {
  return (await listIdentityProviders(knex, tenant)).find((i) => (id ? i.id === id : i.name === name));
}

async function requireIdp(trx: Knex.Transaction, tenant: string, name: string): Promise<{ id: string }> {
  const tid = await tenantId(trx, tenant);
  const row = await trx('jwt_bearer_identity_providers').where({ tenant_id: tid, name }).first('id');
  if (!row) throw new CliError(`No identity provider named "${name}" in tenant ${tenant}. See: oauth2-jwt-bearer idp list`);
  return row;
}

/** Marks the IdP changed, so caches keyed on `updated_at` see the change. */
async function touch(trx: Knex.Transaction, idpId: string): Promise<void> {
  await trx('jwt_bearer_identity_providers').where({ id: idpId }).update({ updated_at: trx.fn.now() });
}

function readCertificate(source: string, bytes: Buffer) {
  try {
    return parseCertificate(bytes);
  } catch (error) {
    if (error instanceof CertificateParseError) throw new CliError(`${source}: ${error.message} (PEM or DER X.509, as keytool -export writes it)`);
    throw error;
  }
}

function checkJwksUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new CliError(`--jwks-uri must be an absolute URL; got ${JSON.stringify(uri)}.`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new CliError('--jwks-uri must be https: (http: only on a loopback host).');
}

function checkAlgorithms(algs: string[]): void {
  const bad = algs.filter((a) => FORBIDDEN_ALGS.has(a) || !(DEFAULT_ALGORITHMS as readonly string[]).includes(a));
  if (bad.length > 0) throw new CliError(`--algorithms: ${bad.join(', ')} not allowed; choose from ${DEFAULT_ALGORITHMS.join(', ')}.`);
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string })?.code === '23505';
}
