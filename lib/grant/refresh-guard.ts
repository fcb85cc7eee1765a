import { sha256 } from '../hash';
import { invokeModel, type HostModel } from '../host';
import type { GrantStore } from '../store/types';
import { scopeText } from './scope';

/** What we read of the token the host saves (both host lines name these fields so). */
interface SavedToken {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken?: string;
  scope?: unknown;
}

/**
 * Wraps a host model so that refresh tokens we issued obey their IdP (docs/validation.md step 10): once the IdP is
 * disabled or deleted, the host's own `refresh_token` grant is told the token does not exist and answers
 * `invalid_grant`. Tokens the refresh grant issues in their place are audited as children of the old one,
 * so the rule follows a rotated refresh token too.
 *
 * The host calls `model.saveToken(token, client, user)` with the very `user` object that
 * `getRefreshToken` returned; that object is how the new token finds its parent.
 *
 * @example
 * const server = new OAuth2Server({ model: guardRefreshTokens(model, store), extendedGrantTypes });
 */
export function guardRefreshTokens<M extends HostModel>(model: M, store: GrantStore): M {
  if (typeof model?.getRefreshToken !== 'function' || typeof model?.saveToken !== 'function') {
    throw new TypeError('guardRefreshTokens(model, store): model must implement getRefreshToken and saveToken.');
  }
  const parentOf = new WeakMap<object, string>();
  const guarded = Object.create(model) as HostModel;

  guarded.getRefreshToken = async function getRefreshToken(this: unknown, refreshToken: string) {
    const token = await invokeModel<{ user?: unknown } | null | undefined>(model, 'getRefreshToken', this, [refreshToken]);
    if (!token) return token;
    const origin = await store.findRefreshOrigin(sha256(refreshToken));
    if (!origin) return token; // not issued through our grant
    if (!origin.idpEnabled) return null;
    if (token.user && typeof token.user === 'object') parentOf.set(token.user, origin.auditId);
    return token;
  };

  guarded.saveToken = async function saveToken(this: unknown, token: SavedToken, client: unknown, user: unknown) {
    const saved = await invokeModel<unknown>(model, 'saveToken', this, [token, client, user]);
    const parentId = user && typeof user === 'object' ? parentOf.get(user) : undefined;
    if (parentId) {
      parentOf.delete(user as object);
      await store.recordRefresh(parentId, {
        accessTokenSha256: sha256(token.accessToken),
        refreshTokenSha256: token.refreshToken ? sha256(token.refreshToken) : null,
        scope: scopeText(token.scope),
        expiresAt: token.accessTokenExpiresAt,
      });
    }
    return saved;
  };

  return guarded as M;
}
