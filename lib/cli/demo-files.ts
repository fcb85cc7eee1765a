import { join } from 'node:path';

/** The demo IdP's issuer name, as on the seed page. */
export const DEMO_ISSUER = 'jwtIDP';

/** The example server's default token endpoint: the demo IdP's alias and the default `aud` of `mint`. */
export const DEFAULT_TOKEN_ENDPOINT_URL = 'https://localhost:9443/oauth2/token';

/**
 * Where the example server's DEMO bootstrap keeps the demo IdP's signing key, its certificate and the
 * demo application's credentials, under `DATA_DIR`; `mint` reads the key from here.
 */
export function demoFiles(dataDir: string) {
  const dir = join(dataDir, 'demo');
  return {
    dir,
    privateKey: join(dir, `${DEMO_ISSUER}.key.pem`),
    certificate: join(dir, `${DEMO_ISSUER}.crt`),
    client: join(dir, 'client.json'),
  };
}

/** What `demo/client.json` holds (mode 0600): the demo application, for a ready-made curl command. */
export interface DemoClientFile {
  serviceProvider: string;
  clientId: string;
  clientSecret: string;
  tokenEndpointUrl: string;
  tenant: string;
}
