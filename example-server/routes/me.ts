import type { Request, Response } from 'express';
import type OAuth2Server from '@node-oauth/oauth2-server';
import { answerFor, type HostModule } from '../../lib';
import type { ExampleUser } from '../model';

interface HostServer {
  authenticate(request: object, response: object): Promise<OAuth2Server.Token>;
}

/**
 * `GET /api/me`: a protected resource that answers whom the bearer token speaks for. Token checks
 * (presence, one method only, expiry, `WWW-Authenticate` per RFC 6750 §3) are the host's own
 * authenticate handler; our model refuses revoked tokens.
 */
export function meRoute(deps: { server: HostServer; host: Pick<HostModule, 'Request' | 'Response'> }) {
  return async function me(req: Request, res: Response): Promise<void> {
    const request = new deps.host.Request({ headers: req.headers, method: req.method, query: { ...(req.query as object) }, body: {} });
    const response = new deps.host.Response({ headers: {} });
    res.setHeader('Cache-Control', 'no-store');
    try {
      const token = await deps.server.authenticate(request, response);
      const user = token.user as ExampleUser;
      res.status(200).json({
        sub: user.sub,
        client_id: token.client?.id,
        scope: Array.isArray(token.scope) ? token.scope.join(' ') : (token.scope ?? ''),
        idp: user.idp ?? null,
        tenant: user.tenant ?? null,
        // The host's authenticate handler refuses a token whose accessTokenExpiresAt is not a Date.
        exp: Math.floor(token.accessTokenExpiresAt!.getTime() / 1000),
      });
    } catch (error) {
      const header = response.headers?.['www-authenticate'];
      if (typeof header === 'string') res.setHeader('WWW-Authenticate', header);
      const answer = answerFor(error);
      // RFC 6750 §3.1: a request with no token at all gets no error code, only the challenge.
      if (answer.status === 401 && (error as { name?: string }).name === 'unauthorized_request') {
        res.status(401).json({ error: 'invalid_token', error_description: 'A bearer token is required.' });
        return;
      }
      res.status(answer.status).json({ error: answer.error, error_description: answer.description });
    }
  };
}
