import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JWT_BEARER_GRANT_TYPE, DEFAULT_TENANT } from '../lib';

/** The demo IdP's issuer name, as on the WSO2 page. */
export const DEMO_ISSUER = 'jwtIDP';

/** The example server's default token endpoint: the demo IdP's alias and the default `aud` of `npm run mint`. */
export const DEFAULT_TOKEN_ENDPOINT_URL = 'https://localhost:9443/oauth2/token';

/**
 * Where the DEMO bootstrap keeps the demo IdP's signing key, its certificate and the demo application's
 * credentials, under `DATA_DIR`; `npm run mint` reads them from here.
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

/** The demo application's credentials, or `null` when the DEMO bootstrap has not run on this data directory. */
export async function readDemoClient(path: string): Promise<DemoClientFile | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DemoClientFile;
  } catch {
    return null;
  }
}

/** The WSO2 page's curl command, verbatim in shape (`-u id:secret`: client_secret_basic, RFC 6749 §2.3.1). */
export function curlCommand(o: {
  clientId: string;
  clientSecret: string;
  assertion: string;
  tokenEndpointUrl: string;
  tenant?: string;
}): string {
  const url =
    o.tenant && o.tenant !== DEFAULT_TENANT ? `${o.tokenEndpointUrl}?tenantDomain=${encodeURIComponent(o.tenant)}` : o.tokenEndpointUrl;
  return `curl -i -X POST -u ${o.clientId}:${o.clientSecret} -k -d 'grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${o.assertion}' -H 'Content-Type: application/x-www-form-urlencoded' ${url}`;
}
