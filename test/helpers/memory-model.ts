import { randomBytes } from 'node:crypto';

/** A client of the in-memory host model. */
export interface MemoryClient {
  id: string;
  secret: string;
  tenant: string;
  grants: string[];
  scopes?: string[];
}

/**
 * A minimal node-oauth2-server model kept in memory, standing in for the host's own model. Its methods
 * are ordinary methods so that `this.tenant` (set per request by tokenEndpoint) scopes the clients.
 */
export function createMemoryModel(options: {
  clients: MemoryClient[];
  validateScope?: (scope: unknown) => unknown;
  failSaveToken?: () => boolean;
}) {
  const tokens = new Map<string, any>();
  const refreshTokens = new Map<string, any>();
  return {
    tokens,
    refreshTokens,
    async getClient(this: { tenant?: { domain: string } }, id: string, secret: string) {
      const domain = this.tenant?.domain ?? 'carbon.super';
      const client = options.clients.find((c) => c.id === id && c.tenant === domain);
      if (!client || (secret !== undefined && client.secret !== secret)) return null;
      return { id: client.id, grants: client.grants, scopes: client.scopes };
    },
    async generateAccessToken() {
      return randomBytes(24).toString('base64url');
    },
    async saveToken(token: any, client: any, user: any) {
      if (options.failSaveToken?.()) throw new Error('saveToken failed: connection to host database lost');
      const saved = { ...token, client, user };
      tokens.set(token.accessToken, saved);
      if (token.refreshToken) refreshTokens.set(token.refreshToken, saved);
      return saved;
    },
    async getAccessToken(accessToken: string) {
      return tokens.get(accessToken) ?? null;
    },
    async getRefreshToken(refreshToken: string) {
      return refreshTokens.get(refreshToken) ?? null;
    },
    async revokeToken(token: any) {
      return refreshTokens.delete(token.refreshToken);
    },
    ...(options.validateScope
      ? {
          async validateScope(_user: unknown, _client: unknown, scope: unknown) {
            return options.validateScope!(scope);
          },
        }
      : {}),
  };
}
