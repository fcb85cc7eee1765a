import type { Knex } from 'knex';
import { CoherentCache } from '../cache/coherent-cache';
import { CONFIG_TABLES, changeFeedFor } from '../cache/change-feed';
import { ConfigurationError, StoreUnavailableError } from '../errors';
import type { IdentityProviderRecord, Tenant } from '../types';
import { IDP_SELECT, toIdentityProviderRecord, toNumber, toTenant, type IdentityProviderRow, type TenantRow } from './rows';
import type { GrantStore, IssuanceInput, PruneOptions, RefreshOrigin, ReplayKey } from './types';
import { IssuanceBatcher } from './issuance-batcher';
import { runNamedStatement, type NamedStatement } from './statement';
import { TokenTableWriter, type TokenTable } from './token-table';
import { unlessUnavailable } from './unavailable';
import { isUuid } from '../shared/patterns';
import { isStorableText as storable } from '../shared/text';

/** Options of {@link KnexGrantStore}. */
export interface KnexGrantStoreOptions {
  /**
   * Serve tenants and IdPs from memory, kept true across processes by the database's change
   * notifications (see {@link CoherentCache}); `false` reads them from the database on every request.
   * Default: on, with at most 10000 entries.
   */
  cache?: boolean | { maxEntries?: number };
  /**
   * The host's token table, when its tokens live in this same database: a JWT bearer issuance whose
   * `IssuanceInput.tokenRow` is given (the grant gives it when the host's model has `jwtBearerTokenRow`)
   * writes that row in the statement of its replay record and audit row — one commit instead of two,
   * and a replay or a failed statement writes no token row. Unset: the host's `saveToken` saves tokens.
   */
  tokenTable?: TokenTable;
}

/**
 * The replay records and audit rows of a batch in one statement (see {@link KnexGrantStore.recordIssuance}):
 * arrays of one element per request ($1–$12, $14); $13 is the batch's clock. Only rows whose replay record
 * was written (new, or an expired one reused) get an audit row; RETURNING names them by access-token hash.
 * With a host token table, its rows ($15, JSON) are inserted in the same statement for exactly those
 * issuances.
 *
 * `reuse`: the variant for a batch holding issuances that write no replay record (replay policy `reuse`):
 * one more array (after the others) says per row whether to write it; a row that does not always gets its
 * audit row. A separate statement, so that batches without such rows run exactly the plain one.
 */
function recordIssuancesStatement(tokens: TokenTableWriter | undefined, reuse: boolean): NamedStatement {
  const flags = tokens ? 16 : 15;
  const input = `input as (
           select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::uuid[], $6::text[],
                                $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $14::text[]${
                                  reuse ? `, $${flags}::boolean[]` : ''
                                })
             as t(tenant_id, idp_name, replay_key, replay_expires_at, idp_id, client_id,
                  subject, jti, scope, access_token_sha256, refresh_token_sha256, expires_at, rule_name${reuse ? ', record_replay' : ''})
         ),
         replay as (
           insert into jwt_bearer_used_assertions as u (tenant_id, idp_name, jti, expires_at)
           select tenant_id, idp_name, replay_key, replay_expires_at from input${reuse ? ' where record_replay' : ''}
           on conflict (tenant_id, idp_name, jti) do update set expires_at = excluded.expires_at
             where u.expires_at <= $13::timestamptz
           returning u.tenant_id, u.idp_name, u.jti
         )`;
  const joined = reuse
    ? `left join replay r on i.record_replay and r.tenant_id = i.tenant_id and r.idp_name = i.idp_name and r.jti = i.replay_key
          where not i.record_replay or r.jti is not null`
    : 'join replay r on r.tenant_id = i.tenant_id and r.idp_name = i.idp_name and r.jti = i.replay_key';
  const audit = `insert into jwt_bearer_issued_tokens
           (tenant_id, idp_id, idp_name, client_id, subject, jti, rule_name, scope,
            access_token_sha256, refresh_token_sha256, issued_at, expires_at)
         select i.tenant_id, i.idp_id, i.idp_name, i.client_id, i.subject, i.jti, i.rule_name, i.scope,
                i.access_token_sha256, i.refresh_token_sha256, $13::timestamptz, i.expires_at
           from input i
           ${joined}
         returning id, access_token_sha256`;
  const name = `jwt_bearer_record_issuances${reuse ? '_reuse' : ''}`;
  if (!tokens) return { name, text: `with ${input}\n         ${audit}` };
  return {
    name: `${name}_${tokens.digest}`,
    text: `with ${input},
         issued as (${audit}),
         host_tokens as (${tokens.insertSql(15, 'issued')})
         select id, access_token_sha256 from issued`,
  };
}

/**
 * The {@link GrantStore} on PostgreSQL or PGlite through knex (tables of the package's migrations).
 * Every method is one statement, so it is atomic without an explicit transaction (and never holds
 * PGlite's only connection across awaits). Every database failure is thrown as
 * {@link StoreUnavailableError}.
 *
 * Tenants and IdPs are cached in memory (unless `cache: false`): an entry is served only while the
 * database's change feed is listening, and every committed change to the configuration tables — from
 * any process or tool — empties the cache on every instance. Without a working feed (its connection
 * lost) every lookup reads through to the database until it listens again.
 *
 * @example
 * const store = new KnexGrantStore(await openDatabase({ databaseUrl: process.env.DATABASE_URL }));
 * const tenant = await store.findTenant('carbon.super');
 */
export class KnexGrantStore implements GrantStore {
  // Plain private fields, not #fields: hosts and tests wrap stores with Object.create(store).
  private readonly issuances: IssuanceBatcher;
  private readonly config: CoherentCache<Tenant | IdentityProviderRecord | null> | undefined;
  private readonly tokens: TokenTableWriter | undefined;
  private readonly recordIssuances: NamedStatement;
  private readonly recordIssuancesWithReuse: NamedStatement;
  /** Whether {@link recordIssuance} writes `tokenRow` (a `tokenTable` was given). */
  readonly writesTokenRows: boolean;

  constructor(
    private readonly knex: Knex,
    options: KnexGrantStoreOptions = {},
  ) {
    if (typeof knex !== 'function' || typeof knex.raw !== 'function') {
      throw new TypeError('new KnexGrantStore(knex): knex must be a Knex instance, e.g. from openDatabase().');
    }
    this.tokens = options.tokenTable === undefined ? undefined : new TokenTableWriter(options.tokenTable);
    this.writesTokenRows = this.tokens !== undefined;
    this.recordIssuances = recordIssuancesStatement(this.tokens, false);
    this.recordIssuancesWithReuse = recordIssuancesStatement(this.tokens, true);
    // Waiting for a batch is waiting for a connection: the same bound as the pool's acquire timeout.
    this.issuances = new IssuanceBatcher((inputs, now) => this.writeIssuances(inputs, now), {
      maxWaitMs: Number((knex.client.config as Knex.Config).acquireConnectionTimeout ?? 60_000),
      timedOut: () => new StoreUnavailableError(new Error('timed out waiting for the replay write ahead of this one')),
    });
    const cache = options.cache ?? true;
    if (typeof cache !== 'boolean' && (typeof cache !== 'object' || cache === null)) {
      throw new ConfigurationError('new KnexGrantStore(knex, { cache }): cache must be true, false or { maxEntries }.');
    }
    this.config =
      cache === false
        ? undefined
        : new CoherentCache({
            feed: changeFeedFor(knex),
            tables: CONFIG_TABLES,
            maxEntries: cache === true ? undefined : cache.maxEntries,
          });
  }

  /** The tenant with this domain, or `null`. */
  async findTenant(domain: string): Promise<Tenant | null> {
    if (!storable(domain)) return null;
    const read = async () => {
      const row = await unlessUnavailable(() => this.knex<TenantRow>('jwt_bearer_tenants').where({ domain }).first('id', 'domain'));
      return row ? toTenant(row) : null;
    };
    return (this.config ? this.config.get(`t\0${domain}`, read) : read()) as Promise<Tenant | null>;
  }

  /** The IdP named `issuer` in the tenant, aliases and certificates included, in one round trip; disabled ones too. */
  async findIdentityProvider(tenantId: string, issuer: string): Promise<IdentityProviderRecord | null> {
    // `issuer` is read from an unverified assertion: anything that cannot be a stored name is simply unknown.
    if (!isUuid(tenantId) || !storable(issuer)) return null;
    const read = async () => (await this.selectIdps('i.tenant_id = ?::uuid and i.name = ?', [tenantId, issuer]))[0] ?? null;
    return (this.config ? this.config.get(`i\0${tenantId}\0${issuer}`, read) : read()) as Promise<IdentityProviderRecord | null>;
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
   * The replay record and the audit row in one statement; an issuance with `recordReplay: false` (replay
   * policy `reuse`) writes its audit row (and host token row) only, and is never refused as a replay.
   * A conflicting replay record is overwritten
   * only when it has expired at `now` (then the `jti` may be used again, RFC 7523 §3 item 7); a live one
   * makes the upsert return nothing, so no audit row is written and the answer is `null`. The primary
   * key (tenant, IdP name, replay key) serialises concurrent attempts: exactly one of them gets a row
   * back, and the record outlives the IdP's row. No unique violation is raised (a caught one would
   * write an error line to the PostgreSQL log for every replay). Requests that arrive while a write is
   * under way go together in the next statement (group commit, {@link IssuanceBatcher}): under load one
   * statement and one commit serve many requests, measured here at about a third of the Postgres and a
   * quarter of the Node CPU per request of one statement each.
   */
  async recordIssuance(input: IssuanceInput, now: Date): Promise<string | null> {
    if (input.tokenRow !== undefined) {
      if (!this.tokens)
        throw new ConfigurationError('recordIssuance: a tokenRow was given, but this store has no tokenTable to write it to.');
      this.tokens.check(input.tokenRow);
    }
    return this.issuances.record(input, now);
  }

  /** One statement for a batch of issuances (see {@link IssuanceBatcher}); every failure is StoreUnavailableError. */
  private async writeIssuances(inputs: readonly IssuanceInput[], now: Date): Promise<ReadonlyMap<string, string>> {
    const column = <K extends keyof IssuanceInput>(name: K) => inputs.map((input) => input[name]);
    const values: unknown[] = [
      column('tenantId'),
      column('idpName'),
      column('replayKey'),
      column('replayExpiresAt'),
      column('idpId'),
      column('clientId'),
      column('subject'),
      column('jti'),
      column('scope'),
      column('accessTokenSha256'),
      column('refreshTokenSha256'),
      column('expiresAt'),
      now,
    ];
    values.push(inputs.map((input) => input.ruleName ?? null));
    if (this.tokens) {
      const rows = inputs.flatMap((input) => (input.tokenRow ? [{ key: input.accessTokenSha256, row: input.tokenRow }] : []));
      values.push(this.tokens.serialise(rows));
    }
    const reuse = inputs.some((input) => input.recordReplay === false);
    if (reuse) values.push(inputs.map((input) => input.recordReplay !== false));
    const statement = reuse ? this.recordIssuancesWithReuse : this.recordIssuances;
    const { rows } = await unlessUnavailable(() =>
      runNamedStatement<{ id: string; access_token_sha256: string }>(this.knex, statement, values),
    );
    return new Map(rows.map((row) => [row.access_token_sha256, row.id]));
  }

  /**
   * Deletes the audit row and frees the replay key, in one statement, after the host failed to save the
   * token. Where the issuance wrote no replay record (`replay.recorded === false`), only the audit row
   * goes: a record of the same key is another use's, kept.
   */
  async undoIssuance(auditId: string, replay: ReplayKey): Promise<void> {
    await unlessUnavailable(() =>
      replay.recorded === false
        ? this.knex.raw('delete from jwt_bearer_issued_tokens where id = ?::uuid', [auditId])
        : this.knex.raw(
            `with audit as (delete from jwt_bearer_issued_tokens where id = ?::uuid)
             delete from jwt_bearer_used_assertions where tenant_id = ?::uuid and idp_name = ? and jti = ?`,
            [auditId, replay.tenantId, replay.idpName, replay.replayKey],
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

  /**
   * Deletes replay records that expired at or before `now` minus `graceSeconds` (default 300), in batches
   * of `batchSize` (default 10000) so that no statement holds many locks for long; returns how many.
   *
   * Safe beside concurrent token requests: only a record already expired is deleted, and a record being
   * reused at this moment is locked by that request and skipped. The grace covers clocks that differ
   * between instances: an instance whose clock runs ahead must not delete a record that another
   * instance still holds to be live.
   */
  async pruneUsedAssertions(now: Date, options: PruneOptions = {}): Promise<number> {
    const graceSeconds = options.graceSeconds ?? 300;
    const batchSize = options.batchSize ?? 10_000;
    if (!Number.isFinite(graceSeconds) || graceSeconds < 0)
      throw new ConfigurationError(`pruneUsedAssertions: graceSeconds must be ≥ 0; got ${String(graceSeconds)}.`);
    if (!Number.isSafeInteger(batchSize) || batchSize < 1)
      throw new ConfigurationError(`pruneUsedAssertions: batchSize must be a positive whole number; got ${String(batchSize)}.`);
    const before = new Date(now.getTime() - graceSeconds * 1000);
    let deleted = 0;
    for (;;) {
      const result = await unlessUnavailable(() =>
        this.knex.raw(
          `delete from jwt_bearer_used_assertions u
             using (select tenant_id, idp_name, jti from jwt_bearer_used_assertions
                     where expires_at <= ?::timestamptz
                     limit ? for update skip locked) d
            where u.tenant_id = d.tenant_id and u.idp_name = d.idp_name and u.jti = d.jti
              and u.expires_at <= ?::timestamptz`,
          [before, batchSize, before],
        ),
      );
      // Raw, for the row count: knex-pglite's del() resolves to the raw result unless opened through openDatabase().
      const count = toNumber((result as { rowCount?: number | null }).rowCount ?? 0);
      deleted += count;
      if (count < batchSize) return deleted;
    }
  }

  /** Stops the cache's change feed (the knex stays open: it is the caller's). */
  async close(): Promise<void> {
    await changeFeedFor(this.knex).close();
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
