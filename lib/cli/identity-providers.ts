import type { Knex } from 'knex';
import { parseCertificateInput, parseCertificateList } from '../admin/certificate-input';
import { AdminError } from '../admin/errors';
import { AdminRepository } from '../admin/repository';
import { addCertificateBody, createIdentityProviderBody, createTenantBody, parseInput } from '../admin/schemas';
import { lintIdentityProvider, type RuleWarning } from '../rules/lint';
import type { CertificateRecord, IdentityProviderRecord, ReplayPolicy, Tenant, TrustRuleMode, TrustRuleRecord } from '../types';
import { CliError } from './errors';

/**
 * The tenant and identity-provider commands of the CLI. Every write goes through the admin API's
 * {@link AdminRepository} (transactions, constraint-decided conflicts, `updated_at`), and every input
 * through the admin API's own schemas and certificate parser, so the CLI refuses exactly what
 * `POST /admin/…` refuses, with the same sentences. What stays here is the CLI's part: IdPs named by
 * tenant domain and name rather than ids, certificate files (PEM or DER), and its output shape.
 */

/** An identity provider as the CLI and {@link addIdentityProvider} report it. */
export interface IdpSummary {
  id: string;
  tenant: string;
  name: string;
  displayName: string | null;
  enabled: boolean;
  jwksUri: string | null;
  algorithms: string[] | null;
  replayPolicy: ReplayPolicy;
  discoveryUrl: string | null;
  aliases: string[];
  certificates: CertificateSummary[];
  /** Trust rules in evaluation order. */
  rules: RuleSummary[];
  /** The lint's warnings about the IdP's trust rules (docs/workload-identity.md). */
  warnings: RuleWarning[];
}

/** One trust rule of an {@link IdpSummary}. */
export interface RuleSummary {
  id: string;
  name: string;
  condition: string;
  subject: string | null;
  clients: string[];
  scopes: string[] | null;
  mode: TrustRuleMode;
  position: number;
}

/** One certificate of an {@link IdpSummary}. */
export interface CertificateSummary {
  id: string;
  thumbprint: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  kid: string | null;
}

/** A certificate file: its name (for messages) and contents, PEM or DER (as `keytool -export` writes). */
export interface CertificateFile {
  source: string;
  bytes: Buffer;
}

/** Input of {@link addIdentityProvider}: a tenant domain, and the IdP as `idp add` takes it. */
export interface AddIdpInput {
  tenant: string;
  name: string;
  displayName?: string;
  certificates: CertificateFile[];
  aliases: string[];
  jwksUri?: string;
  algorithms?: string[];
  requireJti?: boolean;
  /** `once` or `reuse` (validated as the admin API does). */
  replayPolicy?: string;
  /** An OpenID Provider configuration URL, or `true` for `<name>/.well-known/openid-configuration`. */
  discoveryUrl?: string | true;
}

/**
 * Adds a tenant (the `?tenantDomain=` of token requests); idempotent: an existing tenant is reported
 * with `created: false`. Invalid input throws a {@link CliError} with the admin API's sentence. Call it
 * on the database, not inside a transaction: an existing domain is found by a refused insert, which
 * would abort the transaction (use {@link listTenants} there).
 *
 * @example
 * const { id } = await addTenant(knex, 'example.com');
 */
export async function addTenant(knex: Knex, domain: string): Promise<{ id: string; created: boolean }> {
  const repository = new AdminRepository(knex);
  const body = validated(() => parseInput(createTenantBody, { domain }, 'body'));
  try {
    return { id: (await repository.createTenant(body.domain)).id, created: true };
  } catch (error) {
    // The CLI keeps `tenant add` idempotent: an existing tenant is reported, not an error.
    if (error instanceof AdminError && error.code === 'conflict')
      return { id: (await requireTenant(repository, domain)).id, created: false };
    throw cliError(error);
  }
}

/** Every tenant, by domain. */
export async function listTenants(knex: Knex): Promise<Array<{ id: string; domain: string }>> {
  return (await new AdminRepository(knex).listTenants()).map(({ id, domain }) => ({ id, domain }));
}

/**
 * Registers an identity provider in a tenant, as `oauth2-jwt-bearer idp add` and `POST
 * /admin/identity-providers` do (the same validation and sentences): its name is the assertions' `iss`,
 * its aliases the accepted `aud` values, and its certificates (PEM or DER files) or JWKS URI verify them.
 * Works inside a transaction (pass the transaction as `knex`). Refusals throw a {@link CliError}.
 *
 * @example
 * await addIdentityProvider(knex, {
 *   tenant: 'carbon.super', name: 'jwtIDP', aliases: ['https://localhost:9443/oauth2/token'],
 *   certificates: [{ source: 'wso2.crt', bytes: await readFile('wso2.crt') }],
 * });
 */
export async function addIdentityProvider(knex: Knex, input: AddIdpInput): Promise<IdpSummary> {
  const repository = new AdminRepository(knex);
  const files = input.certificates.map((c) => c.source);
  const {
    certificates = [],
    aliases = [],
    ...fields
  } = validated(
    () =>
      parseInput(
        createIdentityProviderBody,
        {
          name: input.name,
          displayName: input.displayName,
          certificates: input.certificates.map((c) => certificateText(c.bytes)),
          aliases: input.aliases,
          jwksUri: input.jwksUri,
          algorithms: input.algorithms,
          requireJti: input.requireJti,
          replayPolicy: input.replayPolicy,
          discoveryUrl: input.discoveryUrl,
        },
        'body',
      ),
    files,
  );
  // The same rule as POST /identity-providers, in the CLI's words (its options, not the body's fields).
  if (certificates.length === 0 && !fields.jwksUri && !fields.discoveryUrl) {
    throw new CliError('Give the IdP a way to verify signatures: --cert <file> (PEM or DER), --jwks-uri <https URL> or --discovery [url].');
  }
  const parsed = validated(() => parseCertificateList(certificates, 'certificates'), files);
  const tenant = await requireTenant(repository, input.tenant);
  const idp = await repository.createIdentityProvider(tenant.id, { fields, certificates: parsed, aliases }).catch(rethrowForCli);
  return summary(tenant.domain, idp);
}

/** The IdPs of one tenant, or of every tenant (by domain, then name). */
export async function listIdentityProviders(knex: Knex, tenant?: string): Promise<IdpSummary[]> {
  const repository = new AdminRepository(knex);
  const tenants = tenant ? [await requireTenant(repository, tenant)] : await repository.listTenants();
  const lists = await Promise.all(
    tenants.map(async (t) => (await repository.listIdentityProviders(t.id)).map((idp) => summary(t.domain, idp))),
  );
  return lists.flat();
}

export async function addCertificate(
  knex: Knex,
  input: { tenant: string; name: string; source: string; bytes: Buffer; kid?: string },
): Promise<CertificateSummary> {
  const repository = new AdminRepository(knex);
  const files = [input.source];
  const body = validated(() => parseInput(addCertificateBody, { pem: certificateText(input.bytes), kid: input.kid }, 'body'), files);
  const cert = validated(() => parseCertificateInput(body.pem, 'pem'), files);
  const { tenant, idp } = await requireIdp(repository, input.tenant, input.name);
  const stored = await repository.addCertificate(tenant.id, idp.id, { ...cert, kid: body.kid ?? null }).catch(rethrowForCli);
  if (!stored) throw noSuchIdp(input.name, input.tenant);
  return certificateSummary(stored);
}

/** Removes a certificate named by its thumbprint or id. */
export async function removeCertificate(knex: Knex, input: { tenant: string; name: string; certificate: string }): Promise<void> {
  const repository = new AdminRepository(knex);
  const { tenant, idp } = await requireIdp(repository, input.tenant, input.name);
  const cert = idp.certificates.find((c) => c.id === input.certificate.toLowerCase() || c.thumbprint === input.certificate);
  const outcome = cert ? await repository.removeCertificate(tenant.id, idp.id, cert.id) : 'not_found';
  if (outcome === 'idp_not_found') throw noSuchIdp(input.name, input.tenant);
  if (outcome === 'not_found')
    throw new CliError(`The identity provider "${input.name}" has no certificate ${input.certificate}. See: oauth2-jwt-bearer idp list`);
}

export async function removeIdentityProvider(knex: Knex, input: { tenant: string; name: string }): Promise<void> {
  const repository = new AdminRepository(knex);
  const { tenant, idp } = await requireIdp(repository, input.tenant, input.name);
  if (!(await repository.deleteIdentityProvider(tenant.id, idp.id))) throw noSuchIdp(input.name, input.tenant);
}

// ---- helpers --------------------------------------------------------------------------------------

/** The tenant of this domain, or a {@link CliError} saying how to create it. */
export async function requireTenant(repository: AdminRepository, domain: string): Promise<Tenant> {
  const tenant = await repository.findTenant(domain);
  if (!tenant) throw new CliError(`Unknown tenant "${domain}". Create it first: oauth2-jwt-bearer tenant add ${domain}`);
  return tenant;
}

/** The IdP of this name in the tenant of this domain, or a {@link CliError} saying where to look. */
export async function requireIdp(
  repository: AdminRepository,
  domain: string,
  name: string,
): Promise<{ tenant: Tenant; idp: IdentityProviderRecord }> {
  const tenant = await requireTenant(repository, domain);
  const idp = await repository.findIdentityProviderByName(tenant.id, name);
  if (!idp) throw noSuchIdp(name, domain);
  return { tenant, idp };
}

/** The CLI's sentence for an IdP name that is not in the tenant. */
export function noSuchIdp(name: string, tenant: string): CliError {
  return new CliError(`No identity provider named "${name}" in tenant ${tenant}. See: oauth2-jwt-bearer idp list`);
}

/**
 * A certificate file as the admin API takes it: text files (PEM, or the base64 of the DER) as they
 * are, binary ones (DER) as their base64.
 */
function certificateText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) && !text.includes('\0') ? text : bytes.toString('base64');
}

/** Runs an admin validation; its 400 becomes a CLI error with the admin API's sentence. */
export function validated<T>(parse: () => T, files: readonly string[] = []): T {
  try {
    return parse();
  } catch (error) {
    throw cliError(error, files);
  }
}

/** Rethrows an {@link AdminError} as a {@link CliError} with its sentence (for `.catch()` of repository calls). */
export function rethrowForCli(error: unknown): never {
  throw cliError(error);
}

/**
 * An {@link AdminError} as a CLI error: the same sentence, prefixed with the certificate file when the
 * error is about one (the API's `certificates[i]` or `pem`). Anything else passes unchanged.
 */
function cliError(error: unknown, files: readonly string[] = []): unknown {
  if (!(error instanceof AdminError)) return error;
  const index = /^certificates\[(\d+)\]/.exec(error.field ?? '')?.[1];
  const file = index !== undefined ? files[Number(index)] : error.field === 'pem' ? files[0] : undefined;
  return new CliError(file !== undefined ? `${file}: ${error.message}` : error.message);
}

function summary(tenant: string, idp: IdentityProviderRecord): IdpSummary {
  return {
    id: idp.id,
    tenant,
    name: idp.name,
    displayName: idp.displayName,
    enabled: idp.enabled,
    jwksUri: idp.jwksUri,
    algorithms: idp.algorithms,
    replayPolicy: idp.replayPolicy,
    discoveryUrl: idp.discoveryUrl,
    aliases: idp.aliases,
    certificates: idp.certificates.map(certificateSummary),
    rules: idp.rules.map(ruleSummary),
    warnings: lintIdentityProvider(idp),
  };
}

/** A trust rule as the CLI reports it (no timestamps). */
export function ruleSummary(rule: TrustRuleRecord): RuleSummary {
  const { id, name, condition, subject, clients, scopes, mode, position } = rule;
  return { id, name, condition, subject, clients, scopes, mode, position };
}

function certificateSummary(c: CertificateRecord): CertificateSummary {
  return { id: c.id, thumbprint: c.thumbprint, subject: c.subject, notBefore: c.notBefore, notAfter: c.notAfter, kid: c.kid };
}
