import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { changeFeedFor } from '../lib/cache/change-feed';
import { CoherentCache } from '../lib/cache/coherent-cache';
import { sha256 } from '../lib/hash';
import { DEFAULT_TENANT } from '../lib';
import { runNamedStatement } from '../lib/store/statement';
import type { Tenant } from '../lib/types';
import { verifySecret } from './credentials';

/** A client as the host sees it (`getClient`'s answer). */
export interface ExampleClient {
  id: string;
  grants: string[];
  /** Allowed scopes; `null` means any. Read by the grant's SPEC §3 step 7 check too. */
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

/** One row per issuance: run on every token request, so prepared once per connection. */
const SAVE_TOKEN = {
  name: 'example_save_token',
  text: `insert into example_tokens
           (tenant_id, client_id, access_token_sha256, access_token_expires_at, refresh_token_sha256,
            refresh_token_expires_at, "user", scope, idp)
         values ($1::uuid, $2, $3, $4::timestamptz, $5, $6::timestamptz, $7::jsonb, $8::text[], $9)`,
};

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
     * of another tenant does not exist here, SPEC §4).
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

    async saveToken(this: ModelThis, token: any, client: ExampleClient, user: ExampleUser) {
      const tenantId = this?.tenant?.id ?? client.tenantId;
      const scope: string[] = Array.isArray(token.scope) ? token.scope : typeof token.scope === 'string' ? token.scope.split(' ').filter(Boolean) : [];
      await runNamedStatement(knex, SAVE_TOKEN, [
        tenantId,
        client.id,
        sha256(token.accessToken),
        token.accessTokenExpiresAt,
        token.refreshToken ? sha256(token.refreshToken) : null,
        token.refreshToken ? (token.refreshTokenExpiresAt ?? null) : null,
        JSON.stringify(user),
        scope,
        typeof user?.idp === 'string' ? user.idp : null,
      ]);
      return {
        accessToken: token.accessToken,
        accessTokenExpiresAt: token.accessTokenExpiresAt,
        refreshToken: token.refreshToken,
        refreshTokenExpiresAt: token.refreshTokenExpiresAt,
        // No scope at all: the response then carries no `scope` (the host would render [] as "").
        scope: scope.length > 0 ? scope : undefined,
        client,
        user,
      };
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
        client: { id: row.client_id },
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
        client: { id: row.client_id, grants: app.grants, scopes: app.scopes, tenantId: app.tenant_id, serviceProvider: app.service_provider },
        user: row.user,
      };
    },

    /** The host revokes a refresh token when it rotates it; the access token issued with it goes too. */
    async revokeToken(token: { refreshToken: string }): Promise<boolean> {
      const hash = sha256(token.refreshToken);
      const count = await knex('example_tokens').where({ refresh_token_sha256: hash }).whereNull('revoked_at').update({ revoked_at: knex.fn.now() });
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
     * 256 random bits, hex (RFC 6749 §10.10 asks for at least 128), drawn synchronously: the host's own
     * default draws 256 bytes through the thread pool and hashes them, which measured as the largest
     * single cost of a token request here, for no more unpredictability.
     */
    generateAccessToken(): string {
      return randomBytes(32).toString('hex');
    },

    generateRefreshToken(): string {
      return randomBytes(32).toString('hex');
    },

    /** client_credentials: the token speaks for the application itself. */
    async getUserFromClient(client: ExampleClient): Promise<ExampleUser> {
      return { id: client.id, sub: client.id };
    },
  };
}

export type ExampleModel = ReturnType<typeof createExampleModel>;
