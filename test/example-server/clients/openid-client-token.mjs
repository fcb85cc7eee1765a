// Gets a token from a token endpoint with openid-client (v6, an ES module, hence its own process):
// the RFC 7523 JWT bearer grant, client_secret_basic or client_secret_post. Input: one JSON argument
// {tokenEndpoint, clientId, clientSecret, method, assertion}; output: one JSON line, the token response
// or {error, status, description} as openid-client reports a refusal.
import * as client from 'openid-client';

const input = JSON.parse(process.argv[2]);
const auth =
  input.method === 'client_secret_post' ? client.ClientSecretPost(input.clientSecret) : client.ClientSecretBasic(input.clientSecret);
const issuer = new URL(input.tokenEndpoint).origin;
const config = new client.Configuration({ issuer, token_endpoint: input.tokenEndpoint }, input.clientId, undefined, auth);
client.allowInsecureRequests(config); // plain HTTP on 127.0.0.1 in the test
try {
  const tokens = await client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:jwt-bearer', { assertion: input.assertion });
  process.stdout.write(JSON.stringify({ ...tokens }) + '\n');
} catch (error) {
  // A 401 with WWW-Authenticate comes as a challenge error; the OAuth error is then in the body.
  let body = {};
  if (error.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') body = await error.response?.json().catch(() => ({}));
  process.stdout.write(
    JSON.stringify({
      error: body.error ?? error.error ?? error.code ?? error.name,
      status: error.status,
      challenge: Array.isArray(error.cause) ? error.cause[0]?.scheme : undefined,
      description: body.error_description ?? error.error_description ?? error.message,
    }) + '\n',
  );
}
