import OAuth2Server = require('oauth2-server');

/** A host's existing model, typed by `@types/oauth2-server` and nothing of ours. */
export declare const yourModel: OAuth2Server.ClientCredentialsModel & OAuth2Server.RefreshTokenModel;
