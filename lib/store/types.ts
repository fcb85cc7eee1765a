import type { IdentityProviderRecord, Tenant } from '../types';

/** What the grant writes in one atomic step once docs/validation.md steps 1–8 have passed. */
export interface IssuanceInput {
  tenantId: string;
  idpId: string;
  idpName: string;
  clientId: string;
  /** The subject handed to the host (the admitting rule's subject, else `sub`). */
  subject: string;
  jti: string | null;
  /** The trust rule that admitted the assertion, for the audit row; `null` without one. */
  ruleName?: string | null;
  /** The replay key (the `jti`, or the SHA-256 of the signing input). */
  replayKey: string;
  /**
   * Whether to write the replay record, and so refuse a second use (default `true`: the IdP's replay policy
   * `once`). `false` (policy `reuse`, docs/workload-identity.md): only the audit row (and `tokenRow`) is
   * written, whether or not the key was used before, and {@link GrantStore.recordIssuance} never answers `null`.
   */
  recordReplay?: boolean;
  /** Until when the replay record stands: the assertion's `exp` plus the IdP's clock skew. */
  replayExpiresAt: Date;
  scope: string | null;
  accessTokenSha256: string;
  refreshTokenSha256: string | null;
  /** Expiry of the access token. */
  expiresAt: Date;
  /**
   * The host's own token row, to be written in the same statement as the replay record and the audit
   * row (one commit), and only if the replay record was written: keys are the columns of the store's
   * token table ({@link GrantStore.writesTokenRows}). Give it only to a store that writes token rows.
   */
  tokenRow?: Readonly<Record<string, unknown>>;
}

/** What a replay record is keyed by: it outlives the IdP's row, so it names the IdP by tenant and name. */
export interface ReplayKey {
  tenantId: string;
  idpName: string;
  /** The `jti`, or the SHA-256 of the signing input. */
  replayKey: string;
  /** `false` when the issuance wrote no replay record ({@link IssuanceInput.recordReplay}): only its audit row is undone. */
  recorded?: boolean;
}

/** Options of {@link GrantStore.pruneUsedAssertions}. */
export interface PruneOptions {
  /** Keep records that expired less than this many seconds ago (default 300), for clocks that differ between instances. */
  graceSeconds?: number;
  /** Rows deleted per statement (default 10000). */
  batchSize?: number;
}

/** A refresh token's origin, as the refresh policy needs it. */
export interface RefreshOrigin {
  auditId: string;
  tenantId: string;
  /** `null` once the IdP was deleted. */
  idpId: string | null;
  idpName: string;
  /** `false` when the IdP is disabled or deleted. */
  idpEnabled: boolean;
  clientId: string;
  subject: string;
  jti: string | null;
}

/**
 * The grant-facing store. Every method throws {@link StoreUnavailableError} (and nothing else) when the
 * database cannot answer, so callers can answer 503 without parsing driver messages.
 */
export interface GrantStore {
  findTenant(domain: string): Promise<Tenant | null>;
  /** The IdP named `issuer` in the tenant, with aliases and certificates, in one round trip; disabled ones too. */
  findIdentityProvider(tenantId: string, issuer: string): Promise<IdentityProviderRecord | null>;
  /**
   * The replay record and the audit row, atomically: returns the audit row id, or `null` when the
   * (tenant, IdP name, replay key) is already recorded and not yet expired at `now`. With
   * `recordReplay: false`, the audit row only, and never `null`.
   */
  recordIssuance(input: IssuanceInput, now: Date): Promise<string | null>;
  /**
   * `true` when {@link recordIssuance} also writes {@link IssuanceInput.tokenRow} into the host's token
   * table (e.g. `KnexGrantStore`'s `tokenTable` option); absent or `false`, the host saves its token itself.
   */
  readonly writesTokenRows?: boolean;
  /** Compensates {@link recordIssuance} when the host failed to save the token: frees the `jti` again (unless `replay.recorded` is `false`). */
  undoIssuance(auditId: string, replay: ReplayKey): Promise<void>;
  findRefreshOrigin(refreshTokenSha256: string): Promise<RefreshOrigin | null>;
  /** Audit row for a token issued by the host's `refresh_token` grant from a token of ours. */
  recordRefresh(
    parentId: string,
    token: { accessTokenSha256: string; refreshTokenSha256: string | null; scope: string | null; expiresAt: Date },
  ): Promise<string>;
  /** Marks the audit rows of a token (by access or refresh token hash) revoked. */
  markRevoked(tokenSha256: string, at: Date): Promise<void>;
  /** Deletes replay records that expired before `now` less a grace period; returns how many. */
  pruneUsedAssertions(now: Date, options?: PruneOptions): Promise<number>;
}

/**
 * What a host model's optional `jwtBearerTokenRow(token, client, user)` answers: the row of its token
 * table for this token (written by the store in the issuance's own statement, see
 * `KnexGrantStoreOptions.tokenTable`), and what its `saveToken` would have answered, which the grant
 * then answers in its place. The grant calls it instead of `saveToken` only when the store writes token
 * rows ({@link GrantStore.writesTokenRows}); otherwise `saveToken` is called as always.
 *
 * @example
 * jwtBearerTokenRow(token, client, user) {
 *   return {
 *     row: { access_token_sha256: sha256(token.accessToken), expires_at: token.accessTokenExpiresAt, user },
 *     saved: { ...token, client, user },
 *   };
 * }
 */
export interface JwtBearerTokenRow {
  row: Readonly<Record<string, unknown>>;
  saved: unknown;
}
