import type { Knex } from 'knex';
import { StoreUnavailableError } from '../errors';
import { changeFeedFor } from '../cache/change-feed';
import { classifyDatabaseFailure, sqlStateOf as sqlState } from '../db/failure';
import { isUuid } from '../shared/patterns';
import { isStorableText } from '../shared/text';
import { KnexGrantStore } from '../store/knex-store';
import { toDate, toIssuedTokenRecord, type IssuedTokenRow } from '../store/rows';
import type { CertificateRecord, IdentityProviderRecord, IssuedTokenRecord, Tenant, TrustRuleMode } from '../types';
import type { NewCertificate } from './certificate-input';
import { AdminError, NOT_FOUND_IDP } from './errors';
import { settleWorkloadFields, type CurrentSettings } from './idp-settings';
import { MAX_RULES_PER_IDP, type CreateIdentityProviderBody } from './schemas';

/**
 * The admin API's database work on the tables of migrations/001_initial.ts. Reads go through
 * {@link KnexGrantStore} (one row mapping, lib/store/rows.ts); writes are here.
 *
 * Every multi-statement change is one transaction, and every query inside it uses the transaction
 * object (PGlite has a single connection). Uniqueness (IdP name per tenant, thumbprint and alias per
 * IdP, tenant domain) is decided by the database's constraints inside that transaction, never by a
 * check-then-insert, so two admins racing get one success and one 409. Nothing is cached: every read
 * goes to the database, so a change is in force on every instance as soon as it commits.
 *
 * Errors: a constraint clash becomes a 409/404 {@link AdminError}; a database that cannot answer
 * becomes {@link StoreUnavailableError}; a bug of ours is rethrown unchanged (a 500 the host logs).
 */
export class AdminRepository {
  private readonly store: KnexGrantStore;

  constructor(private readonly knex: Knex) {
    // Uncached: what the admin API shows (and its dry run judges) is the database as it is now.
    this.store = new KnexGrantStore(knex, { cache: false });
  }

  /**
   * A write, then this process's configuration caches forgotten at once: the database's notification
   * does that on every instance within milliseconds, but a client that writes through this admin API
   * and asks this instance's token endpoint next must not find the old configuration even for that long.
   */
  private async write<T>(call: () => Promise<T>): Promise<T> {
    const result = await guard(call);
    changeFeedFor(this.knex).invalidate();
    return result;
  }

  // ---- tenants ------------------------------------------------------------------------------------

  findTenant(domain: string): Promise<Tenant | null> {
    return this.store.findTenant(domain);
  }

  async createTenant(domain: string): Promise<TenantView> {
    return this.write(async () => {
      const [row] = await uniqueOr(
        this.knex('jwt_bearer_tenants').insert({ domain }).returning(['id', 'domain', 'created_at']),
        () => new AdminError('conflict', `The tenant ${JSON.stringify(domain)} already exists.`, { field: 'domain' }),
      );
      return { id: row.id, domain: row.domain, createdAt: toDate(row.created_at) };
    });
  }

  async listTenants(): Promise<TenantView[]> {
    return guard(async () => {
      const rows = await this.knex('jwt_bearer_tenants').select('id', 'domain', 'created_at').orderBy('domain');
      return rows.map((row: { id: string; domain: string; created_at: Date | string }) => ({
        id: row.id,
        domain: row.domain,
        createdAt: toDate(row.created_at),
      }));
    });
  }

  // ---- identity providers -------------------------------------------------------------------------

  getIdentityProvider(tenantId: string, id: string): Promise<IdentityProviderRecord | null> {
    return this.store.getIdentityProviderById(tenantId, id);
  }

  listIdentityProviders(tenantId: string): Promise<IdentityProviderRecord[]> {
    return this.store.listIdentityProviders(tenantId);
  }

  /** The tenant's IdP whose name (the JWT `iss`) is `name`, disabled ones too: the grant's own lookup. */
  findIdentityProviderByName(tenantId: string, name: string): Promise<IdentityProviderRecord | null> {
    return this.store.findIdentityProvider(tenantId, name);
  }

  /**
   * The IdP, its certificates, aliases and trust rules in one transaction: a refused part leaves nothing
   * behind. The fields are settled first (`discoveryUrl: true` resolved, the `reuse` policy's lifetime).
   */
  async createIdentityProvider(tenantId: string, input: NewIdentityProvider): Promise<IdentityProviderRecord> {
    const fields = settleWorkloadFields(null, input.fields);
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        const [row] = await uniqueOr(
          trx('jwt_bearer_identity_providers')
            .insert({ tenant_id: tenantId, ...toColumns(fields) })
            .returning('id'),
          () => nameTaken(input.fields.name!),
        );
        await insertCertificates(trx, row.id, input.certificates);
        await insertAliases(trx, row.id, input.aliases);
        await insertRules(trx, row.id, input.rules ?? [], 'rules');
        return (await new KnexGrantStore(trx, { cache: false }).getIdentityProviderById(tenantId, row.id))!;
      }),
    );
  }

  /**
   * Applies a patch: the given fields are set; `certificates` and `aliases`, when given, replace the
   * IdP's sets (certificates matched by thumbprint keep their id). `null` when the IdP is not in the tenant.
   */
  async updateIdentityProvider(tenantId: string, id: string, patch: IdentityProviderPatch): Promise<IdentityProviderRecord | null> {
    if (!isUuid(id)) return null;
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        const current = await lockIdentityProvider(trx, tenantId, id);
        if (!current) return null;
        const columns = toColumns(settleWorkloadFields(current, patch.fields));
        await uniqueOr(
          trx('jwt_bearer_identity_providers')
            .where({ id })
            .update({ ...columns, updated_at: later(trx) }),
          () => nameTaken(patch.fields.name!),
        );
        if (patch.certificates) await replaceCertificates(trx, id, patch.certificates);
        if (patch.aliases) await replaceAliases(trx, id, patch.aliases);
        return new KnexGrantStore(trx, { cache: false }).getIdentityProviderById(tenantId, id);
      }),
    );
  }

  /** Deletes the IdP (its certificates, aliases and replay records cascade; audit rows keep its name). */
  async deleteIdentityProvider(tenantId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.write(async () => {
      const rows = await this.knex('jwt_bearer_identity_providers').where({ id, tenant_id: tenantId }).delete().returning('id');
      return rows.length > 0;
    });
  }

  // ---- certificates and aliases -------------------------------------------------------------------

  /** Adds a certificate; `null` when the IdP is not in the tenant; 409 when it already has this thumbprint. */
  async addCertificate(tenantId: string, idpId: string, cert: NewCertificate): Promise<CertificateRecord | null> {
    if (!isUuid(idpId)) return null;
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        if (!(await lockIdentityProvider(trx, tenantId, idpId))) return null;
        const [inserted] = await insertCertificates(trx, idpId, [cert]);
        await touch(trx, idpId);
        return inserted!;
      }),
    );
  }

  /** Removes a certificate of the tenant's IdP. */
  async removeCertificate(tenantId: string, idpId: string, certificateId: string): Promise<RemoveOutcome> {
    if (!isUuid(idpId)) return 'idp_not_found';
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        if (!(await lockIdentityProvider(trx, tenantId, idpId))) return 'idp_not_found';
        if (!isUuid(certificateId)) return 'not_found';
        const rows = await trx('jwt_bearer_idp_certificates').where({ id: certificateId, idp_id: idpId }).delete().returning('id');
        if (rows.length === 0) return 'not_found';
        await touch(trx, idpId);
        return 'removed';
      }),
    );
  }

  /** Adds an alias; `null` when the IdP is not in the tenant; 409 when the IdP already has it. */
  async addAlias(tenantId: string, idpId: string, alias: string): Promise<{ alias: string; createdAt: Date } | null> {
    if (!isUuid(idpId)) return null;
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        if (!(await lockIdentityProvider(trx, tenantId, idpId))) return null;
        const [row] = await uniqueOr(
          trx('jwt_bearer_idp_aliases')
            .insert({ idp_id: idpId, alias, created_at: inOrder(trx, 'jwt_bearer_idp_aliases', idpId) })
            .returning(['alias', 'created_at']),
          () => new AdminError('conflict', `This identity provider already has the alias ${JSON.stringify(alias)}.`, { field: 'alias' }),
        );
        await touch(trx, idpId);
        return { alias: row.alias as string, createdAt: toDate(row.created_at) };
      }),
    );
  }

  /** Removes an alias of the tenant's IdP. */
  async removeAlias(tenantId: string, idpId: string, alias: string): Promise<RemoveOutcome> {
    if (!isUuid(idpId)) return 'idp_not_found';
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        if (!(await lockIdentityProvider(trx, tenantId, idpId))) return 'idp_not_found';
        // Text that cannot be stored names no alias (and must not reach Postgres as a 22021 error).
        if (!isStorableText(alias)) return 'not_found';
        const rows = await trx('jwt_bearer_idp_aliases').where({ idp_id: idpId, alias }).delete().returning('alias');
        if (rows.length === 0) return 'not_found';
        await touch(trx, idpId);
        return 'removed';
      }),
    );
  }

  // ---- trust rules (docs/workload-identity.md) ---------------------------------------------------

  /**
   * Adds a trust rule (expressions already compiled by the caller); without a position it goes after the
   * IdP's last rule. `null` when the IdP is not in the tenant; 409 when the IdP has a rule of this name.
   * Answers the IdP as it now is (with the new rule among its `rules`) and the new rule's id.
   */
  async addRule(tenantId: string, idpId: string, rule: NewTrustRule): Promise<{ idp: IdentityProviderRecord; ruleId: string } | null> {
    if (!isUuid(idpId)) return null;
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        if (!(await lockIdentityProvider(trx, tenantId, idpId))) return null;
        const [ruleId] = await insertRules(trx, idpId, [rule], null);
        await touch(trx, idpId);
        const idp = await new KnexGrantStore(trx, { cache: false }).getIdentityProviderById(tenantId, idpId);
        return { idp: idp!, ruleId: ruleId! };
      }),
    );
  }

  /** Changes the given fields of a rule; 409 when a new name is taken on the IdP. */
  async updateRule(
    tenantId: string,
    idpId: string,
    ruleId: string,
    patch: Partial<NewTrustRule>,
  ): Promise<{ idp: IdentityProviderRecord; ruleId: string } | 'idp_not_found' | 'not_found'> {
    if (!isUuid(idpId)) return 'idp_not_found';
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        if (!(await lockIdentityProvider(trx, tenantId, idpId))) return 'idp_not_found';
        if (!isUuid(ruleId)) return 'not_found';
        const rows = await uniqueOr(
          trx(RULES)
            .where({ id: ruleId, idp_id: idpId })
            .update({ ...ruleColumns(patch), updated_at: later(trx) })
            .returning('id'),
          () => ruleNameTaken(patch.name!, 'name'),
        );
        if (rows.length === 0) return 'not_found';
        await touch(trx, idpId);
        const idp = await new KnexGrantStore(trx, { cache: false }).getIdentityProviderById(tenantId, idpId);
        return { idp: idp!, ruleId };
      }),
    );
  }

  /** Removes a rule of the tenant's IdP. */
  async removeRule(tenantId: string, idpId: string, ruleId: string): Promise<RemoveOutcome> {
    if (!isUuid(idpId)) return 'idp_not_found';
    return this.write(() =>
      this.knex.transaction(async (trx) => {
        if (!(await lockIdentityProvider(trx, tenantId, idpId))) return 'idp_not_found';
        if (!isUuid(ruleId)) return 'not_found';
        const rows = await trx(RULES).where({ id: ruleId, idp_id: idpId }).delete().returning('id');
        if (rows.length === 0) return 'not_found';
        await touch(trx, idpId);
        return 'removed';
      }),
    );
  }

  // ---- audit and replay (read-only) ---------------------------------------------------------------

  /** Audit rows of the tenant, newest first, filtered by IdP name, subject and client where given. */
  async listIssuedTokens(tenantId: string, filter: IssuedTokenFilter): Promise<IssuedTokenRecord[]> {
    return guard(async () => {
      const query = this.knex<IssuedTokenRow>('jwt_bearer_issued_tokens').where({ tenant_id: tenantId });
      if (filter.idp !== undefined) query.andWhere({ idp_name: filter.idp });
      if (filter.sub !== undefined) query.andWhere({ subject: filter.sub });
      if (filter.clientId !== undefined) query.andWhere({ client_id: filter.clientId });
      const rows = await query
        .orderBy([
          { column: 'issued_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .limit(filter.limit)
        .select('*');
      return (rows as IssuedTokenRow[]).map(toIssuedTokenRecord);
    });
  }

  /** Whether the replay step would refuse this (tenant, IdP name, replay key) at `now`. Reads only: a dry run burns nothing. */
  async isReplayRecorded(replay: { tenantId: string; idpName: string; replayKey: string }, now: Date): Promise<boolean> {
    return guard(async () => {
      const row = await this.knex('jwt_bearer_used_assertions')
        .where({ tenant_id: replay.tenantId, idp_name: replay.idpName, jti: replay.replayKey })
        .andWhere('expires_at', '>', now)
        .first('jti');
      return row !== undefined;
    });
  }
}

/** What a removal found: the item removed, no such IdP in the tenant, or no such item on the IdP. */
export type RemoveOutcome = 'removed' | 'idp_not_found' | 'not_found';

/** A tenant as the admin API shows it. */
export interface TenantView {
  id: string;
  domain: string;
  createdAt: Date;
}

/** The scalar IdP fields of a create or patch body (camelCase, as validated; `discoveryUrl: true` is resolved on write). */
export type IdentityProviderFields = Partial<Omit<CreateIdentityProviderBody, 'certificates' | 'aliases' | 'rules'>>;

export interface NewIdentityProvider {
  fields: IdentityProviderFields & { name: string };
  certificates: NewCertificate[];
  aliases: string[];
  /** Trust rules, their expressions already compiled by the caller. */
  rules?: NewTrustRule[];
}

/** A trust rule to store (as validated; its expressions compile). Absent fields take the column defaults; `position` goes last. */
export interface NewTrustRule {
  name: string;
  condition: string;
  subject?: string | null;
  clients?: string[];
  scopes?: string[] | null;
  mode?: TrustRuleMode;
  position?: number;
}

export interface IdentityProviderPatch {
  fields: IdentityProviderFields;
  /** The new set of certificates, or `undefined` to leave them. */
  certificates?: NewCertificate[];
  /** The new set of aliases, or `undefined` to leave them. */
  aliases?: string[];
}

export interface IssuedTokenFilter {
  idp?: string;
  sub?: string;
  clientId?: string;
  limit: number;
}

// ---- helpers --------------------------------------------------------------------------------------

const COLUMNS: Record<keyof IdentityProviderFields, string> = {
  name: 'name',
  displayName: 'display_name',
  enabled: 'enabled',
  algorithms: 'algorithms',
  jwksUri: 'jwks_uri',
  requireJti: 'require_jti',
  maxAssertionLifetimeSeconds: 'max_assertion_lifetime_seconds',
  iatMaxAgeSeconds: 'iat_max_age_seconds',
  clockSkewSeconds: 'clock_skew_seconds',
  allowedSubjects: 'allowed_subjects',
  allowedClients: 'allowed_clients',
  allowedScopes: 'allowed_scopes',
  issueRefreshToken: 'issue_refresh_token',
  replayPolicy: 'replay_policy',
  discoveryUrl: 'discovery_url',
};

/** The given fields as columns; absent ones are left out, so the column keeps its value (or default). */
function toColumns(fields: IdentityProviderFields): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(COLUMNS) as Array<[keyof IdentityProviderFields, string]>) {
    if (fields[key] !== undefined) columns[column] = fields[key];
  }
  return columns;
}

/**
 * The store lists certificates and aliases by `created_at`. `now()` is the transaction's start, the same
 * for every row of one request, and PGlite's clock ticks in milliseconds; so each row gets a time
 * strictly after the IdP's latest one of that table, and a list keeps the order it was sent in.
 * (Callers hold the IdP's row lock, or the IdP is new, so two writers cannot pick the same time.)
 */
function inOrder(trx: Knex.Transaction, table: 'jwt_bearer_idp_certificates' | 'jwt_bearer_idp_aliases', idpId: string): Knex.Raw {
  return trx.raw(`greatest(clock_timestamp(), (select max(created_at) + interval '1 microsecond' from ${table} where idp_id = ?::uuid))`, [
    idpId,
  ]);
}

/**
 * Locks the IdP row for this transaction, so set replacements and sub-resource changes serialise; answers
 * the settings that rules between fields read (`null`: no such IdP in the tenant).
 */
async function lockIdentityProvider(trx: Knex.Transaction, tenantId: string, id: string): Promise<CurrentSettings | null> {
  const row = await trx('jwt_bearer_identity_providers')
    .where({ id, tenant_id: tenantId })
    .forUpdate()
    .first('name', 'jwks_uri', 'discovery_url', 'replay_policy', 'max_assertion_lifetime_seconds');
  if (row === undefined) return null;
  return {
    name: row.name,
    jwksUri: row.jwks_uri,
    discoveryUrl: row.discovery_url,
    replayPolicy: row.replay_policy,
    maxAssertionLifetimeSeconds: Number(row.max_assertion_lifetime_seconds),
  };
}

/** Marks the IdP changed (a change is in force at once; `updatedAt` says when). */
async function touch(trx: Knex.Transaction, idpId: string): Promise<void> {
  await trx('jwt_bearer_identity_providers')
    .where({ id: idpId })
    .update({ updated_at: later(trx) });
}

/**
 * A new `updated_at`: the clock, but always at least a millisecond after the previous value, so every
 * change is visible in `updatedAt` (JSON carries milliseconds; PGlite's clock ticks in milliseconds).
 */
function later(trx: Knex.Transaction): Knex.Raw {
  return trx.raw(`greatest(clock_timestamp(), updated_at + interval '1 millisecond')`);
}

async function insertCertificates(trx: Knex.Transaction, idpId: string, certs: readonly NewCertificate[]): Promise<CertificateRecord[]> {
  const inserted: CertificateRecord[] = [];
  // One by one, in order: the answer's order is the request's, and a clash names its certificate.
  for (const cert of certs) {
    const [row] = await uniqueOr(
      trx('jwt_bearer_idp_certificates')
        .insert({
          idp_id: idpId,
          pem: cert.pem,
          thumbprint: cert.thumbprint,
          subject: cert.subject,
          not_before: cert.notBefore,
          not_after: cert.notAfter,
          kid: cert.kid,
          created_at: inOrder(trx, 'jwt_bearer_idp_certificates', idpId),
        })
        .returning('id'),
      () => new AdminError('conflict', `This identity provider already has the certificate ${cert.thumbprint}.`, { field: 'pem' }),
    );
    inserted.push({
      id: row.id,
      pem: cert.pem,
      thumbprint: cert.thumbprint,
      subject: cert.subject,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      kid: cert.kid,
    });
  }
  return inserted;
}

async function insertAliases(trx: Knex.Transaction, idpId: string, aliases: readonly string[]): Promise<void> {
  for (const alias of aliases) {
    await uniqueOr(
      trx('jwt_bearer_idp_aliases').insert({ idp_id: idpId, alias, created_at: inOrder(trx, 'jwt_bearer_idp_aliases', idpId) }),
      () => new AdminError('conflict', `This identity provider already has the alias ${JSON.stringify(alias)}.`, { field: 'aliases' }),
    );
  }
}

/** The set becomes `certs`: others are deleted, new thumbprints inserted, kept ones get the given `kid`. */
async function replaceCertificates(trx: Knex.Transaction, idpId: string, certs: readonly NewCertificate[]): Promise<void> {
  const thumbprints = certs.map((c) => c.thumbprint);
  await trx('jwt_bearer_idp_certificates').where({ idp_id: idpId }).whereNotIn('thumbprint', thumbprints).delete();
  const kept = new Set<string>((await trx('jwt_bearer_idp_certificates').where({ idp_id: idpId }).pluck('thumbprint')) as string[]);
  for (const cert of certs.filter((c) => kept.has(c.thumbprint))) {
    await trx('jwt_bearer_idp_certificates').where({ idp_id: idpId, thumbprint: cert.thumbprint }).update({ kid: cert.kid });
  }
  await insertCertificates(
    trx,
    idpId,
    certs.filter((c) => !kept.has(c.thumbprint)),
  );
}

/** The set becomes `aliases`: others are deleted, new ones inserted (kept ones keep their order). */
async function replaceAliases(trx: Knex.Transaction, idpId: string, aliases: readonly string[]): Promise<void> {
  await trx('jwt_bearer_idp_aliases')
    .where({ idp_id: idpId })
    .whereNotIn('alias', [...aliases])
    .delete();
  const kept = new Set<string>((await trx('jwt_bearer_idp_aliases').where({ idp_id: idpId }).pluck('alias')) as string[]);
  await insertAliases(
    trx,
    idpId,
    aliases.filter((a) => !kept.has(a)),
  );
}

const RULES = 'jwt_bearer_idp_rules';

/** The given rule fields as columns; absent ones are left out. */
function ruleColumns(rule: Partial<NewTrustRule>): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  if (rule.name !== undefined) columns.name = rule.name;
  if (rule.condition !== undefined) columns.condition = rule.condition;
  if (rule.subject !== undefined) columns.subject = rule.subject;
  if (rule.clients !== undefined) columns.clients = rule.clients;
  if (rule.scopes !== undefined) columns.scopes = rule.scopes;
  if (rule.mode !== undefined) columns.mode = rule.mode;
  if (rule.position !== undefined) columns.position = rule.position;
  return columns;
}

/**
 * Inserts rules in order; one without a position goes after the IdP's last one (so a list keeps its
 * order). The IdP's rule count is bounded. `path` names the body's list in a clash (`rules`), `null` a
 * single rule. Callers hold the IdP's row lock, or the IdP is new.
 */
async function insertRules(trx: Knex.Transaction, idpId: string, rules: readonly NewTrustRule[], path: string | null): Promise<string[]> {
  if (rules.length === 0) return [];
  const existing = await trx(RULES).where({ idp_id: idpId }).first(trx.raw('count(*)::int as count'), trx.raw('max(position) as last'));
  const count = Number(existing?.count ?? 0);
  if (count + rules.length > MAX_RULES_PER_IDP) {
    throw new AdminError(
      'invalid_request',
      `An identity provider has at most ${MAX_RULES_PER_IDP} trust rules; this one has ${count}. Merge rules, or remove one first.`,
      { field: path ?? 'name' },
    );
  }
  let last = existing?.last === null || existing?.last === undefined ? -1 : Number(existing.last);
  const ids: string[] = [];
  for (const [index, rule] of rules.entries()) {
    const position = rule.position ?? Math.min(last + 1, 2_147_483_647);
    last = Math.max(last, position);
    const [row] = await uniqueOr(
      trx(RULES)
        .insert({ idp_id: idpId, ...ruleColumns({ ...rule, position }) })
        .returning('id'),
      () => ruleNameTaken(rule.name, path === null ? 'name' : `${path}[${index}].name`),
    );
    ids.push(row.id as string);
  }
  return ids;
}

function ruleNameTaken(name: string, field: string): AdminError {
  return new AdminError('conflict', `This identity provider already has a trust rule named ${JSON.stringify(name)}.`, { field });
}

function nameTaken(name: string): AdminError {
  return new AdminError('conflict', `An identity provider named ${JSON.stringify(name)} already exists in this tenant.`, { field: 'name' });
}

/** Awaits a query; a unique violation (SQLSTATE 23505) becomes `conflict()`. */
async function uniqueOr<T>(query: PromiseLike<T>, conflict: () => AdminError): Promise<T> {
  try {
    return await query;
  } catch (error) {
    if (sqlState(error) === '23505') throw conflict();
    throw error;
  }
}

/**
 * Classifies what a database call threw. A foreign-key violation (23503) means the IdP went away
 * between our statements: 404. Our own errors pass; a failure `classifyDatabaseFailure` calls
 * `unavailable` is "the database cannot answer" (503), so a raw driver message never reaches an answer;
 * any other refused statement or JavaScript error is a bug of ours (a 500 the host logs).
 */
async function guard<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AdminError || error instanceof StoreUnavailableError) throw error;
    if (sqlState(error) === '23503') throw new AdminError('not_found', NOT_FOUND_IDP, { cause: error });
    if (classifyDatabaseFailure(error, { fromDatabaseCall: true }) === 'unavailable') throw new StoreUnavailableError(error);
    throw error;
  }
}
