import type { Knex } from 'knex';
import type { IdentityProviderRecord, Tenant } from '../types';
import {
  IDP_SELECT,
  toIdentityProviderRecord,
  toNumber,
  toTenant,
  type IdentityProviderRow,
  type TenantRow,
} from './rows';
import type { GrantStore, IssuanceInput, RefreshOrigin } from './types';
import { unlessUnavailable } from './unavailable';

/**
 * The {@link GrantStore} on PostgreSQL or PGlite through knex (tables of migrations/001_initial.ts).
 * Every method is one statement, so it is atomic without an explicit transaction (and never holds
 * PGlite's only connection across awaits). Every database failure is thrown as
 * {@link StoreUnavailableError}.
 *
 * @example
 * const store = new KnexGrantStore(await openDatabase({ databaseUrl: process.env.DATABASE_URL }));
 * const tenant = await store.findTenant('carbon.super');
 */
export class KnexGrantStore implements GrantStore {
  constructor(private readonly knex: Knex) {
    if (typeof knex !== 'function' || typeof knex.raw !== 'function') {
      throw new TypeError('new KnexGrantStore(knex): knex must be a Knex instance, e.g. from openDatabase().');
    }
  }

  /** The tenant with this domain, or `null`. */
  async findTenant(domain: string): Promise<Tenant | null> {
    if (!storable(domain)) return null;
    const row = await unlessUnavailable(() => this.knex<TenantRow>('jwt_bearer_tenants').where({ domain }).first('id', 'domain'));
    return row ? toTenant(row) : null;
  }

  /** The IdP named `issuer` in the tenant, aliases and certificates included, in one round trip; disabled ones too. */
  async findIdentityProvider(tenantId: string, issuer: string): Promise<IdentityProviderRecord | null> {
    // `issuer` is read from an unverified assertion: anything that cannot be a stored name is simply unknown.
    if (!isUuid(tenantId) || !storable(issuer)) return null;
    const rows = await this.selectIdps('i.tenant_id = ?::uuid and i.name = ?', [tenantId, issuer]);
    return rows[0] ?? null;
  }

  /** The IdP with this id in the tenant (an id of another tenant, or not a UUID, is `null`). For the admin API. */
  async getIdentityProviderById(tenantId: string, id: string): Promise<IdentityProviderRecord | null> {
    if (!isUuid(tenantId) || !isUuid(id)) return null;
    const rows = await this.selectIdps('i.tenant_id = ?::uuid and i.id = ?::uuid', [tenantId, id]);
    return rows[0] ?? null;
  }

  /** Every IdP of the tenant, by name. For the admin API. */
  async listIdentityProviders(tenantId: string): Promise<IdentityProviderRecord[]> {
    if (!isUuid(tenantId)) return [];
    return this.selectIdps('i.tenant_id = ?::uuid', [tenantId], 'order by i.name');
  }

  /**
   * The replay record and the audit row in one statement. A conflicting replay record is overwritten
   * only when it has expired at `now` (then the `jti` may be used again, SPEC §3 step 9); a live one
   * makes the upsert return nothing, so no audit row is written and the answer is `null`. The primary
   * key serialises concurrent attempts: exactly one of them gets a row back. No unique violation is
   * raised (a caught one would write an error line to the PostgreSQL log for every replay).
   */
  async recordIssuance(input: IssuanceInput, now: Date): Promise<string | null> {
    const result = await unlessUnavailable(() =>
      this.knex.raw(
        `with replay as (
           insert into jwt_bearer_used_assertions as u (idp_id, jti, expires_at)
           values (?::uuid, ?, ?::timestamptz)
           on conflict (idp_id, jti) do update set expires_at = excluded.expires_at
             where u.expires_at <= ?::timestamptz
           returning u.idp_id
         )
         insert into jwt_bearer_issued_tokens
           (tenant_id, idp_id, idp_name, client_id, subject, jti, scope,
            access_token_sha256, refresh_token_sha256, issued_at, expires_at)
         select ?::uuid, replay.idp_id, ?, ?, ?, ?, ?, ?, ?, ?::timestamptz, ?::timestamptz from replay
         returning id`,
        [
          input.idpId, input.replayKey, input.replayExpiresAt, now,
          input.tenantId, input.idpName, input.clientId, input.subject, input.jti, input.scope,
          input.accessTokenSha256, input.refreshTokenSha256, now, input.expiresAt,
        ],
      ),
    );
    return rowsOf<{ id: string }>(result)[0]?.id ?? null;
  }

  /** Deletes the audit row and frees the replay key, in one statement, after the host failed to save the token. */
  async undoIssuance(auditId: string, idpId: string, replayKey: string): Promise<void> {
    await unlessUnavailable(() =>
      this.knex.raw(
        `with audit as (delete from jwt_bearer_issued_tokens where id = ?::uuid)
         delete from jwt_bearer_used_assertions where idp_id = ?::uuid and jti = ?`,
        [auditId, idpId, replayKey],
      ),
    );
  }

  /** Where a refresh token came from, with its IdP's state: disabled, or deleted (`idp_id` set NULL), is not enabled. */
  async findRefreshOrigin(refreshTokenSha256: string): Promise<RefreshOrigin | null> {
    if (!storable(refreshTokenSha256)) return null;
    const result = await unlessUnavailable(() =>
      this.knex.raw(
        `select t.id, t.tenant_id, t.idp_id, t.idp_name, coalesce(i.enabled, false) as idp_enabled,
                t.client_id, t.subject, t.jti
           from jwt_bearer_issued_tokens t
           left join jwt_bearer_identity_providers i on i.id = t.idp_id
          where t.refresh_token_sha256 = ?`,
        [refreshTokenSha256],
      ),
    );
    const row = rowsOf<OriginRow>(result)[0];
    return row ? toRefreshOrigin(row) : null;
  }

  /**
   * Audits a token the host's `refresh_token` grant issued in place of one of ours: tenant, IdP, client,
   * subject and `jti` are copied from the parent row, so the IdP rule follows rotated refresh tokens.
   * Throws a plain `Error` when the parent row does not exist (it is never deleted but with its tenant).
   */
  async recordRefresh(
    parentId: string,
    token: { accessTokenSha256: string; refreshTokenSha256: string | null; scope: string | null; expiresAt: Date },
  ): Promise<string> {
    const result = await unlessUnavailable(() =>
      this.knex.raw(
        `insert into jwt_bearer_issued_tokens
           (tenant_id, idp_id, idp_name, client_id, subject, jti, scope,
            access_token_sha256, refresh_token_sha256, parent_id, expires_at)
         select p.tenant_id, p.idp_id, p.idp_name, p.client_id, p.subject, p.jti, ?,
                ?, ?, p.id, ?::timestamptz
           from jwt_bearer_issued_tokens p where p.id = ?::uuid
         returning id`,
        [token.scope, token.accessTokenSha256, token.refreshTokenSha256, token.expiresAt, parentId],
      ),
    );
    const id = rowsOf<{ id: string }>(result)[0]?.id;
    if (!id) throw new Error(`recordRefresh: no issued-token audit row ${parentId} to refresh from.`);
    return id;
  }

  /** Marks revoked the audit row holding this access or refresh token hash; a first revocation time is kept. */
  async markRevoked(tokenSha256: string, at: Date): Promise<void> {
    if (!storable(tokenSha256)) return;
    await unlessUnavailable(() =>
      this.knex.raw(
        `update jwt_bearer_issued_tokens set revoked_at = ?::timestamptz
          where (access_token_sha256 = ? or refresh_token_sha256 = ?) and revoked_at is null`,
        [at, tokenSha256, tokenSha256],
      ),
    );
  }

  /** Deletes replay records that expired at or before `now` (the same boundary at which recordIssuance reuses them). */
  async pruneUsedAssertions(now: Date): Promise<number> {
    // Raw, for the row count: knex-pglite's del() resolves to the raw result unless opened through openDatabase().
    const result = await unlessUnavailable(() =>
      this.knex.raw('delete from jwt_bearer_used_assertions where expires_at <= ?::timestamptz', [now]),
    );
    return toNumber((result as { rowCount?: number | null }).rowCount ?? 0);
  }

  private async selectIdps(where: string, bindings: readonly string[], tail = ''): Promise<IdentityProviderRecord[]> {
    const result = await unlessUnavailable(() =>
      this.knex.raw(`select ${IDP_SELECT} from jwt_bearer_identity_providers i where ${where} ${tail}`, [...bindings]),
    );
    return rowsOf<IdentityProviderRow>(result).map(toIdentityProviderRecord);
  }
}

interface OriginRow {
  id: string;
  tenant_id: string;
  idp_id: string | null;
  idp_name: string;
  idp_enabled: boolean;
  client_id: string;
  subject: string;
  jti: string | null;
}

function toRefreshOrigin(row: OriginRow): RefreshOrigin {
  return {
    auditId: row.id,
    tenantId: row.tenant_id,
    idpId: row.idp_id,
    idpName: row.idp_name,
    idpEnabled: row.idp_enabled === true,
    clientId: row.client_id,
    subject: row.subject,
    jti: row.jti,
  };
}

/** The rows of a `knex.raw` result: pg and PGlite both answer `{ rows }`. */
function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs: anything else cannot match, and would make PostgreSQL raise a cast error. */
function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** PostgreSQL text cannot hold NUL: such a value cannot be stored, so it cannot match either. */
function storable(value: unknown): value is string {
  return typeof value === 'string' && !value.includes('\0');
}
