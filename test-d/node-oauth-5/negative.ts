// What must NOT compile: each line below is an error, or `tsc -p test-d` fails on the unused directive.
import OAuth2Server from '@node-oauth/oauth2-server';
import { createJwtBearerGrant, tokenEndpoint, type GrantStore } from 'oauth2-jwt-bearer';
import { yourModel } from './model.js';

declare const store: GrantStore;
const server = new OAuth2Server({ model: yourModel });

// @ts-expect-error a misspelled option is refused (tokenEndpointUrl)
createJwtBearerGrant({ host: OAuth2Server, store, tokenEndpointUri: 'https://as.example.com/oauth2/token' });
// @ts-expect-error the host is the module (its classes), not a server instance
createJwtBearerGrant({ host: server, store });
// @ts-expect-error a store is required
createJwtBearerGrant({ host: OAuth2Server });
// @ts-expect-error the endpoint needs the module as `host` as well as the server
tokenEndpoint({ server, model: yourModel, store });

// The grant is typed as the host's own AbstractGrantType, so the host's API is visible on it.
const Grant: typeof OAuth2Server.AbstractGrantType = createJwtBearerGrant({ host: OAuth2Server, store });
void Grant;
