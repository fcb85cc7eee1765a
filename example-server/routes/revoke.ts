import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import { answerFor, authenticateClient, type GrantStore } from '../../lib';
import type { ExampleClient, ExampleModel } from '../model';
import { findToken } from '../tokens';
import { noStore, sendRefusal } from './respond';

/**
 * `POST /oauth2/revoke` (RFC 7009). The client authenticates as at the token endpoint; it may revoke
 * only its own tokens, and the answer is 200 whether or not the token was known (§2.2), so the endpoint
 * cannot be used to probe for tokens. An access token and the refresh token issued with it are one
 * grant here: revoking either revokes both (§2.1 allows this).
 */
export function revokeRoute(deps: { knex: Knex; model: ExampleModel; store: GrantStore }) {
  return async function revoke(req: Request, res: Response): Promise<void> {
    const auth = await authenticateClient<ExampleClient>(req, deps);
    if (!auth.ok) return sendRefusal(res, auth);
    const token = auth.body.token;
    if (!token) return sendRefusal(res, { status: 400, error: 'invalid_request', description: 'The token parameter is required.' });
    try {
      const found = await findToken(deps.knex, token, auth.body.token_type_hint);
      if (found && found.row.client_id === auth.client.id && found.row.tenant_id === auth.tenant.id && !found.row.revoked_at) {
        const now = new Date();
        await deps.knex('example_tokens').where({ id: found.row.id }).whereNull('revoked_at').update({ revoked_at: now });
        await deps.store.markRevoked(found.row[`${found.kind}_sha256`]!, now);
      }
    } catch (error) {
      return sendRefusal(res, answerFor(error));
    }
    noStore(res);
    res.status(200).end();
  };
}
