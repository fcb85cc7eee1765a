import express, { type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import OAuth2Server from '@node-oauth/oauth2-server';
import { bearerTokenAuthorizer, createAdminRouter } from '../lib/admin';
import {
  answerFor,
  createAssertionVerifier,
  createJwtBearerGrant,
  guardRefreshTokens,
  JWT_BEARER_GRANT_TYPE,
  KnexGrantStore,
  tokenEndpoint,
  type TokenOutcome,
} from '../lib';
import { createApplicationService } from './applications';
import { consoleRoute } from './console/route';
import { createLogger, type Logger } from './logger';
import { createMetrics, type Metrics } from './metrics';
import { createExampleModel, EXAMPLE_TOKEN_TABLE } from './model';
import { adminDocsRoute } from './routes/admin-docs';
import { healthRoute } from './routes/health';
import { introspectRoute } from './routes/introspect';
import { meRoute } from './routes/me';
import { revokeRoute } from './routes/revoke';

export interface AppDeps {
  /** A migrated database (the package's migrations, then the example's). */
  knex: Knex;
  /** Bearer token of `/admin`. */
  adminToken: string;
  /** This token endpoint's URL as IdPs name it: the audience for IdPs without aliases. */
  tokenEndpointUrl: string;
  /** Default: silent. */
  logger?: Logger;
  /** Default: a fresh registry without the process metrics. */
  metrics?: Metrics;
  /** Access token lifetime in seconds (default 3600). */
  accessTokenLifetime?: number;
  /** Refresh token lifetime in seconds (default 1209600, 14 days). */
  refreshTokenLifetime?: number;
}

/**
 * The example authorization server as an Express 5 app, without listening: tests drive it with
 * supertest, `main.ts` serves it. node-oauth2-server 5 is the host; our grant, token endpoint, refresh
 * guard and admin router are mounted as a host application would.
 */
export function createApp(deps: AppDeps) {
  const { knex, tokenEndpointUrl } = deps;
  const logger = deps.logger ?? createLogger({ level: 'silent' });
  const metrics = deps.metrics ?? createMetrics();
  const host = OAuth2Server;
  // JWT bearer tokens are saved in the statement (and commit) of their replay record: see model.jwtBearerTokenRow.
  const store = new KnexGrantStore(knex, { tokenTable: EXAMPLE_TOKEN_TABLE });
  const verifier = createAssertionVerifier({});

  const model = createExampleModel({ knex, onRevoked: (hash) => store.markRevoked(hash, new Date()) });
  const guarded = guardRefreshTokens(model, store);
  const JwtBearerGrant = createJwtBearerGrant({ host, store, tokenEndpointUrl, verifier });
  const server = new OAuth2Server({
    model: guarded,
    accessTokenLifetime: deps.accessTokenLifetime ?? 3600,
    refreshTokenLifetime: deps.refreshTokenLifetime ?? 1209600,
    extendedGrantTypes: { [JWT_BEARER_GRANT_TYPE]: JwtBearerGrant },
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.post(
    '/oauth2/token',
    tokenEndpoint({
      server,
      host,
      model: guarded,
      store,
      onOutcome: (outcome) => {
        metrics.observe(outcome);
        logTokenRequest(logger, outcome);
      },
    }),
  );
  app.post('/oauth2/revoke', revokeRoute({ knex, model, store }));
  app.post('/oauth2/introspect', introspectRoute({ knex, model, store }));
  app.get('/api/me', meRoute({ server, host }));
  // The API's description is public; everything else under /admin needs the admin token.
  app.use('/admin', adminDocsRoute({ basePath: '/admin', applications: { list: true } }));
  app.use(
    '/admin',
    createAdminRouter({
      knex,
      authorize: bearerTokenAuthorizer(deps.adminToken),
      verifier,
      tokenEndpointUrl,
      applications: createApplicationService(knex),
      onError: (error, req) =>
        logger.error({ err: error, method: req.method, path: req.originalUrl.split('?')[0] }, 'admin request failed'),
    }),
  );
  app.use('/console', consoleRoute({ tokenEndpointUrl, onError: (error) => logger.error({ err: error }, 'console bundle failed') }));
  app.get('/healthz', healthRoute({ knex }));
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', error_description: 'No such endpoint.' });
  });
  // Last resort: never a stack trace or a driver message in an answer.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number; type?: string }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: 'invalid_request', error_description: 'The request could not be read.' });
      return;
    }
    const answer = answerFor(error);
    logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (!res.headersSent) res.status(answer.status).json({ error: answer.error, error_description: answer.description });
  });

  return { app, server, store, metrics, logger, model: guarded };
}

/**
 * One line per token request: outcome, reason, tenant, issuer, client, the admitting trust rule and the
 * shadow rules' verdict — never assertions, tokens or secrets.
 */
function logTokenRequest(logger: Logger, outcome: TokenOutcome): void {
  const line = {
    event: 'token_request',
    outcome: outcome.outcome,
    status: outcome.status,
    grantType: outcome.grantType?.slice(0, 100),
    reason: outcome.reason,
    error: outcome.error,
    tenant: outcome.tenant,
    issuer: outcome.issuer,
    clientId: outcome.clientId,
    durationMs: round(outcome.durationMs),
    verifyMs: outcome.verifyMs === undefined ? undefined : round(outcome.verifyMs),
    rule: outcome.rule,
    shadow: outcome.shadow,
    shadowRule: outcome.shadowRule,
  };
  if (outcome.status >= 500) logger.error({ ...line, err: outcome.cause }, 'token request failed');
  else logger.info(line, outcome.outcome === 'issued' ? 'token issued' : 'token request refused');
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
