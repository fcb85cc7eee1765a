import { JWT_BEARER_GRANT_TYPE } from '../../../lib/grant/jwt-bearer-grant';

/** The benchmark's application and IdP, made through the server's own admin API (lib/admin/README.md). */
export interface BenchApplication {
  clientId: string;
  clientSecret: string;
  grants: string[];
}

export interface BenchIdp {
  id: string;
  name: string;
}

async function admin<T>(baseUrl: string, adminToken: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${baseUrl}/admin${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /admin${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** `admin_Bench_PRODUCTION`, with the default grants, which must include jwt-bearer and client_credentials. */
export async function createBenchApplication(baseUrl: string, adminToken: string): Promise<BenchApplication> {
  const app = await admin<BenchApplication>(baseUrl, adminToken, '/applications', { owner: 'admin', name: 'Bench', keyType: 'PRODUCTION' });
  for (const grant of [JWT_BEARER_GRANT_TYPE, 'client_credentials']) {
    if (!app.grants.includes(grant))
      throw new Error(`the application was created without the ${grant} grant (grants: ${app.grants.join(', ')})`);
  }
  return app;
}

/** An IdP with one RS256 certificate, whose alias is the token URL. */
export async function createBenchIdp(
  baseUrl: string,
  adminToken: string,
  idp: { name: string; certificatePem: string; kid: string; alias: string },
): Promise<BenchIdp> {
  return admin<BenchIdp>(baseUrl, adminToken, '/identity-providers', {
    name: idp.name,
    certificates: [{ pem: idp.certificatePem, kid: idp.kid }],
    aliases: [idp.alias],
  });
}

export function basicAuth(app: BenchApplication): string {
  // RFC 6749 §2.3.1: form-url-encode each part first (ours are alphanumeric, so this changes nothing).
  return `Basic ${Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret)}`).toString('base64')}`;
}
