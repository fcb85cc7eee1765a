// The README's "Adding the grant" snippet for oauth2-server 3.1, verbatim (checked by
// test/packaging/type-tests.test.ts); type-checked as JavaScript against @types/oauth2-server.
const OAuth2Server = require('oauth2-server');
const express = require('express');
const {
  JWT_BEARER_GRANT_TYPE, KnexGrantStore, createJwtBearerGrant, guardRefreshTokens, migrate, openDatabase, tokenEndpoint,
} = require('oauth2-jwt-bearer');
const { yourModel } = require('./model'); // your existing model

async function createApp() {
  const knex = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: '.data' });
  await migrate(knex);
  const store = new KnexGrantStore(knex);

  const model = guardRefreshTokens(yourModel, store);
  const server = new OAuth2Server({
    model,
    extendedGrantTypes: {
      [JWT_BEARER_GRANT_TYPE]: createJwtBearerGrant({ host: OAuth2Server, store, tokenEndpointUrl: 'https://as.example.com/oauth2/token' }),
    },
  });

  const app = express();
  app.post('/oauth2/token', tokenEndpoint({ server, host: OAuth2Server, model, store }));
  return { app, server };
}

module.exports = { createApp };
