import type OAuth2Server from '@node-oauth/oauth2-server';

/** A host's existing model, typed by the host's own typings and nothing of ours. */
export declare const yourModel: OAuth2Server.ClientCredentialsModel & OAuth2Server.RefreshTokenModel;
