// The same wiring from CommonJS TypeScript (`import … = require`), @node-oauth/oauth2-server 5.
import OAuth2Server = require('@node-oauth/oauth2-server');
import jwtBearer = require('oauth2-jwt-bearer');
import type { GrantStore } from 'oauth2-jwt-bearer';

export function build(model: OAuth2Server.ExtensionModel & OAuth2Server.RefreshTokenModel, store: GrantStore) {
  const guarded = jwtBearer.guardRefreshTokens(model, store);
  const server = new OAuth2Server({
    model: guarded,
    extendedGrantTypes: { [jwtBearer.JWT_BEARER_GRANT_TYPE]: jwtBearer.createJwtBearerGrant({ host: OAuth2Server, store }) },
  });
  return jwtBearer.tokenEndpoint({ server, host: OAuth2Server, model: guarded, store });
}
