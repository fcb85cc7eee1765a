import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import { answerFor, authenticateClient, type GrantStore } from '../../lib';
import type { ExampleClient, ExampleModel } from '../model';
import { findToken } from '../tokens';
import { noStore, sendRefusal } from './respond';

/**
 * `POST /oauth2/introspect` (RFC 7662). The caller authenticates as a client, as at the token endpoint.
 * A token that is unknown, expired, revoked, of another client or of another tenant is `{"active": false}`
 * and nothing more (§2.2: no hint of why).
 */
export function introspectRoute(deps: { knex: Knex; model: ExampleModel; store: GrantStore }) {
  return async function introspect(req: Request, res: Response): Promise<void> {
    const auth = await authenticateClient<ExampleClient>(req, deps);
    if (!auth.ok) return sendRefusal(res, auth);
    const token = auth.body.token;
    if (!token) return sendRefusal(res, { status: 400, error: 'invalid_request', description: 'The token parameter is required.' });
    let answer: Record<string, unknown> = { active: false };
    try {
      const found = await findToken(deps.knex, token, auth.body.token_type_hint);
      if (found) {
        const { row, kind } = found;
        const expiresAt = kind === 'access_token' ? row.access_token_expires_at : row.refresh_token_expires_at;
        const live = !row.revoked_at && (!expiresAt || new Date(expiresAt).getTime() > Date.now());
        if (live && row.client_id === auth.client.id && row.tenant_id === auth.tenant.id) {
          answer = {
            active: true,
            sub: row.user.sub,
            ...(row.idp ? { iss: row.idp } : {}),
            client_id: row.client_id,
            scope: row.scope.join(' '),
            ...(expiresAt ? { exp: Math.floor(new Date(expiresAt).getTime() / 1000) } : {}),
            iat: Math.floor(new Date(row.issued_at).getTime() / 1000),
            token_type: kind === 'access_token' ? 'Bearer' : 'refresh_token',
            tenant_domain: auth.tenant.domain,
          };
        }
      }
    } catch (error) {
      return sendRefusal(res, answerFor(error));
    }
    noStore(res);
    res.status(200).json(answer);
  };
}
