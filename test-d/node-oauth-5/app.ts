// The README's "Adding the grant" snippet for @node-oauth/oauth2-server 5, verbatim (checked by
// test/packaging/type-tests.test.ts).
import OAuth2Server from '@node-oauth/oauth2-server';
import express from 'express';
import {
  JWT_BEARER_GRANT_TYPE, KnexGrantStore, createJwtBearerGrant, guardRefreshTokens, migrate, openDatabase, tokenEndpoint,
} from 'oauth2-jwt-bearer';
import { yourModel } from './model.js'; // your existing model: getClient, saveToken, getAccessToken, …

const knex = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: '.data' }); // no URL: embedded PGlite in ./.data
await migrate(knex);                       // our own migrations table: jwt_bearer_migrations
const store = new KnexGrantStore(knex);

const model = guardRefreshTokens(yourModel, store); // refresh tokens die with their IdP
const server = new OAuth2Server({
  model,
  extendedGrantTypes: {
    [JWT_BEARER_GRANT_TYPE]: createJwtBearerGrant({ host: OAuth2Server, store, tokenEndpointUrl: 'https://as.example.com/oauth2/token' }),
  },
});

const app = express();
app.post('/oauth2/token', tokenEndpoint({ server, host: OAuth2Server, model, store }));
