import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { changeFeedFor, CoherentCache, DEFAULT_TENANT, runNamedStatement, sha256, type Tenant, type TokenTable } from '../lib';
import { verifySecret } from './credentials';

/** A client as the host sees it (`getClient`'s answer). */
export interface ExampleClient {
  id: string;
  grants: string[];
  /** Allowed scopes; `null` means any. Read by the grant's docs/validation.md step 7 check too. */
  scopes: string[] | null;
  tenantId: string;
  serviceProvider: string;
}

/** The user a token speaks for: what the JWT bearer grant's default `resolveUser` returns, as stored. */
export interface ExampleUser {
  id: string;
  sub: string;
  /** The IdP whose assertion the token rests on; absent for client_credentials tokens. */
  idp?: string;
  tenant?: string;
  [claim: string]: unknown;
}

/** A stored token, by hash: what revocation, introspection and `/api/me` look at. */
export interface TokenRow {
  id: string;
  tenant_id: string;
  client_id: string;
  access_token_sha256: string;
  access_token_expires_at: Date;
  refresh_token_sha256: string | null;
  refresh_token_expires_at: Date | null;
  user: ExampleUser;
  scope: string[];
  idp: string | null;
  issued_at: Date;
  revoked_at: Date | null;
}

/** `this` of a model method: tokenEndpoint runs each request with `Object.create(model, { tenant })`. */
type ModelThis = { tenant?: Tenant } | undefined;

export interface ExampleModelOptions {
  knex: Knex;
  /** Called after a token was revoked by the host (refresh rotation), with the refresh token's hash. */
  onRevoked?: (tokenSha256: string) => Promise<void>;
}

/**
 * The columns `saveToken` writes, with their types: also the JWT bearer store's `tokenTable`, so that a
 * JWT bearer token's row is written in the same statement (and commit) as its replay record.
 */
export const EXAMPLE_TOKEN_TABLE = {
  table: 'example_tokens',
  columns: {
    tenant_id: 'uuid',
    client_id: 'text',
    access_token_sha256: 'text',
    access_token_expires_at: 'timestamptz',
    refresh_token_sha256: 'text',
    refresh_token_expires_at: 'timestamptz',
    user: 'jsonb',
    scope: 'text[]',
    idp: 'text',
  },
} as const satisfies TokenTable;

type TokenColumn = keyof typeof EXAMPLE_TOKEN_TABLE.columns;
const SAVE_TOKEN_COLUMNS = Object.keys(EXAMPLE_TOKEN_TABLE.columns) as TokenColumn[];

/** One row per issuance: run on every token request, so prepared once per connection. */
const SAVE_TOKEN = {
  name: 'example_save_token',
  text: `insert into example_tokens (${SAVE_TOKEN_COLUMNS.map((c) => `"${c}"`).join(', ')})
         values (${SAVE_TOKEN_COLUMNS.map((c, i) => `$${i + 1}::${EXAMPLE_TOKEN_TABLE.columns[c]}`).join(', ')})`,
};

/**
 * The token the host's grants (scope `string[]`) or the JWT bearer grant hand `saveToken`. The host
 * always sets `accessTokenExpiresAt`; its typings leave it optional.
 */
export interface TokenToSave {
  accessToken: string;
  accessTokenExpiresAt?: Date;
  refreshToken?: string;
  refreshTokenExpiresAt?: Date;
  scope?: string[] | string;
}

/** The example_tokens row of a token (hashes only, never the token itself). */
function tokenRow(self: ModelThis, token: TokenToSave, client: ExampleClient, user: ExampleUser) {
  const scope: string[] = Array.isArray(token.scope)
    ? token.scope
    : typeof token.scope === 'string'
      ? token.scope.split(' ').filter(Boolean)
      : [];
  return {
    tenant_id: self?.tenant?.id ?? client.tenantId,
    client_id: client.id,
    access_token_sha256: sha256(token.accessToken),
    access_token_expires_at: token.accessTokenExpiresAt as Date,
    refresh_token_sha256: token.refreshToken ? sha256(token.refreshToken) : null,
    refresh_token_expires_at: token.refreshToken ? (token.refreshTokenExpiresAt ?? null) : null,
    user,
    scope,
    idp: typeof user?.idp === 'string' ? user.idp : null,
  } satisfies Record<TokenColumn, unknown>;
}

/** What saveToken answers the host. */
function savedToken(token: TokenToSave, scope: string[], client: ExampleClient, user: ExampleUser) {
  return {
    accessToken: token.accessToken,
    accessTokenExpiresAt: token.accessTokenExpiresAt as Date,
    refreshToken: token.refreshToken,
    refreshTokenExpiresAt: token.refreshTokenExpiresAt,
    // No scope at all: the response then carries no `scope` (the host would render [] as "").
    scope: scope.length > 0 ? scope : undefined,
    client,
    user,
  };
}

/** An `example_applications` row as the client lookup reads it. */
interface ApplicationRow {
  client_id: string;
  client_secret_hash: string;
  grants: string[];
  scopes: string[] | null;
  tenant_id: string;
  service_provider: string;
}

/**
 * The example host's node-oauth2-server 5 model, on knex. Methods are ordinary methods (not arrows)
 * because they read the request's tenant as `this.tenant`. Tokens are stored and found by SHA-256.
 *
 * The two statements of every token request are lean: the client comes from a {@link CoherentCache}
 * (emptied on every instance by the database's notification whenever an application changes), and the
 * token is saved with one named statement (parsed and planned once per connection on PostgreSQL).
 */
export function createExampleModel({ knex, onRevoked }: ExampleModelOptions) {
  const clients = new CoherentCache<ApplicationRow | null>({ feed: changeFeedFor(knex), tables: ['example_applications'] });

  async function tenantIdOf(self: ModelThis): Promise<string | null> {
    if (self?.tenant) return self.tenant.id;
    const row = await knex('jwt_bearer_tenants').where({ domain: DEFAULT_TENANT }).first('id');
    return row?.id ?? null;
  }

  async function findApplication(tenantId: string, clientId: string): Promise<ApplicationRow | null> {
    const { rows } = await knex.raw<{ rows: ApplicationRow[] }>(
      `select client_id, client_secret_hash, grants, scopes, tenant_id, service_provider
         from example_applications where client_id = ? and tenant_id = ?::uuid`,
      [clientId, tenantId],
    );
    return rows[0] ?? null;
  }

  return {
    /**
     * The client of the request's tenant with this id; with a secret given, only if it matches (a client
     * of another tenant does not exist here, docs/http.md).
     */
    async getClient(this: ModelThis, clientId: string, clientSecret: string | null | undefined): Promise<ExampleClient | null> {
      if (typeof clientId !== 'string' || !/^[A-Za-z0-9]{1,128}$/.test(clientId)) return null;
      const tenantId = await tenantIdOf(this);
      if (!tenantId) return null;
      const row = await clients.get(`${tenantId}\0${clientId}`, () => findApplication(tenantId, clientId));
      if (!row) return null;
      if (clientSecret !== null && clientSecret !== undefined && !verifySecret(String(clientSecret), row.client_secret_hash)) return null;
      return { id: row.client_id, grants: row.grants, scopes: row.scopes, tenantId: row.tenant_id, serviceProvider: row.service_provider };
    },

    async saveToken(this: ModelThis, token: TokenToSave, client: ExampleClient, user: ExampleUser) {
      const row = tokenRow(this, token, client, user);
      await runNamedStatement(
        knex,
        SAVE_TOKEN,
        SAVE_TOKEN_COLUMNS.map((column) => (column === 'user' ? JSON.stringify(row.user) : row[column])),
      );
      return savedToken(token, row.scope, client, user);
    },

    /**
     * The JWT bearer grant's one-commit path: the same row as {@link saveToken}'s, handed to the grant's
     * store (`tokenTable: EXAMPLE_TOKEN_TABLE`), which writes it in the statement of the replay record
     * and audit row; a replayed assertion writes no row.
     */
    jwtBearerTokenRow(this: ModelThis, token: TokenToSave, client: ExampleClient, user: ExampleUser) {
      const row = tokenRow(this, token, client, user);
      return { row, saved: savedToken(token, row.scope, client, user) };
    },

    /** For the host's authenticate handler (`/api/me`): unknown or revoked → null; expiry is the host's check. */
    async getAccessToken(accessToken: string) {
      const row: TokenRow | undefined = await knex('example_tokens')
        .where({ access_token_sha256: sha256(accessToken) })
        .whereNull('revoked_at')
        .first();
      if (!row) return null;
      return {
        accessToken,
        accessTokenExpiresAt: new Date(row.access_token_expires_at),
        scope: row.scope,
        client: { id: row.client_id, grants: [] as string[] },
        user: row.user,
      };
    },

    /** For the host's refresh_token grant: only the request tenant's live tokens. */
    async getRefreshToken(this: ModelThis, refreshToken: string) {
      const tenantId = await tenantIdOf(this);
      const row: TokenRow | undefined = await knex('example_tokens')
        .where({ refresh_token_sha256: sha256(refreshToken), tenant_id: tenantId })
        .whereNull('revoked_at')
        .first();
      if (!row) return null;
      const app = await knex('example_applications').where({ client_id: row.client_id }).first();
      if (!app) return null;
      return {
        refreshToken,
        refreshTokenExpiresAt: row.refresh_token_expires_at ? new Date(row.refresh_token_expires_at) : undefined,
        scope: row.scope,
        client: {
          id: row.client_id,
          grants: app.grants,
          scopes: app.scopes,
          tenantId: app.tenant_id,
          serviceProvider: app.service_provider,
        },
        user: row.user,
      };
    },

    /** The host revokes a refresh token when it rotates it; the access token issued with it goes too. */
    async revokeToken(token: { refreshToken: string }): Promise<boolean> {
      const hash = sha256(token.refreshToken);
      const count = await knex('example_tokens')
        .where({ refresh_token_sha256: hash })
        .whereNull('revoked_at')
        .update({ revoked_at: knex.fn.now() });
      if (count > 0 && onRevoked) await onRevoked(hash);
      return count > 0;
    },

    /**
     * Scopes must lie within the client's (where it has a list). Nothing requested: the client's own
     * list, or no scope at all for a client without one.
     */
    async validateScope(_user: unknown, client: ExampleClient, scope: string[] | string | undefined): Promise<string[] | false> {
      const requested = Array.isArray(scope) ? scope : typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
      if (requested.length === 0) return client.scopes ?? [];
      if (client.scopes && requested.some((s) => !client.scopes!.includes(s))) return false;
      return requested;
    },

    /**
     * 256 random bits, hex (RFC 6749 §10.10 asks for at least 128), drawn synchronously (the host awaits the answer anyway): the host's own
     * default draws 256 bytes through the thread pool and hashes them, which measured as the largest
     * single cost of a token request here, for no more unpredictability.
     */
    async generateAccessToken(): Promise<string> {
      return randomBytes(32).toString('hex');
    },

    async generateRefreshToken(): Promise<string> {
      return randomBytes(32).toString('hex');
    },

    /** client_credentials: the token speaks for the application itself. */
    async getUserFromClient(client: ExampleClient): Promise<ExampleUser> {
      return { id: client.id, sub: client.id };
    },
  };
}

export type ExampleModel = ReturnType<typeof createExampleModel>;
