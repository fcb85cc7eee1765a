import { createJwtBearerGrant, JWT_BEARER_GRANT_TYPE, type JwtBearerGrantOptions } from '../../lib/grant/jwt-bearer-grant';
import { guardRefreshTokens } from '../../lib/grant/refresh-guard';
import { tokenEndpoint, type TokenEndpointOptions, type TokenOutcome } from '../../lib/http/token-endpoint';
import type { GrantStore } from '../../lib/store/types';
import { createMemoryModel, type MemoryClient } from './memory-model';

/** The two host lines README.md targets, each with the Express major it ships with. */
export const HOSTS = [
  { name: '@node-oauth/oauth2-server 5 + Express 5', host: require('@node-oauth/oauth2-server'), express: require('express') },
  { name: 'oauth2-server 3.1 + Express 4', host: require('oauth2-server'), express: require('express4') },
] as const;

export type HostUnderTest = (typeof HOSTS)[number];

export const TOKEN_URL = 'https://as.example.test/oauth2/token';

export const CLIENT: MemoryClient = {
  id: 'client-1',
  secret: 's3cret',
  tenant: 'carbon.super',
  grants: [JWT_BEARER_GRANT_TYPE, 'refresh_token'],
};

export interface HostAppOptions {
  store: GrantStore;
  clients?: MemoryClient[];
  grant?: Partial<JwtBearerGrantOptions>;
  endpoint?: Partial<TokenEndpointOptions>;
  validateScope?: (scope: unknown) => unknown;
  failSaveToken?: () => boolean;
  /** Mount for every method (app.all) instead of POST only, and/or behind the host's own urlencoded parser. */
  mount?: { allMethods?: boolean; hostBodyParser?: boolean };
}

/** An Express app of the given host line with our grant at POST /oauth2/token, as a host would mount it. */
export function buildHostApp(hut: HostUnderTest, options: HostAppOptions) {
  const model = createMemoryModel({
    clients: options.clients ?? [CLIENT],
    validateScope: options.validateScope,
    failSaveToken: options.failSaveToken,
  });
  const guarded = guardRefreshTokens(model, options.store);
  const Grant = createJwtBearerGrant({ host: hut.host, store: options.store, tokenEndpointUrl: TOKEN_URL, ...options.grant });
  const server = new hut.host({
    model: guarded,
    accessTokenLifetime: 3600,
    extendedGrantTypes: { [JWT_BEARER_GRANT_TYPE]: Grant },
  });
  const outcomes: TokenOutcome[] = [];
  const app = hut.express();
  if (options.mount?.hostBodyParser) app.use(hut.express.urlencoded({ extended: true }));
  app[options.mount?.allMethods ? 'all' : 'post'](
    '/oauth2/token',
    tokenEndpoint({
      server,
      host: hut.host,
      model: guarded,
      store: options.store,
      onOutcome: (o) => outcomes.push(o),
      ...options.endpoint,
    }),
  );
  return { app, model, outcomes };
}
