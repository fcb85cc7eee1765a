import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Reflect polyfill first
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface DevCertificate {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
  /** `true` when made now, `false` when an existing one was reused. */
  created: boolean;
  notAfter: Date;
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * The self-signed development certificate of example-server/README.md: made locally at first start (ECDSA P-256, for
 * `localhost`, `127.0.0.1` and `::1`, valid one year) and kept in `<dataDir>/tls/`, so later starts
 * serve the same certificate. One that is unreadable or within a day of expiry is replaced. Clients
 * accept it with `curl -k`, as the WSO2 page does.
 */
export async function ensureDevCertificate(dataDir: string, options: { extraHosts?: string[] } = {}): Promise<DevCertificate> {
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, 'localhost.crt');
  const keyPath = join(dir, 'localhost.key');
  const existing = await readExisting(certPath, keyPath);
  if (existing && existing.notAfter.getTime() - Date.now() > DAY) return { ...existing, certPath, keyPath, created: false };

  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 365 * DAY);
  const hosts = ['localhost', ...(options.extraHosts ?? [])].filter((h, i, all) => all.indexOf(h) === i && !isIp(h) && h !== '0.0.0.0');
  const ips = ['127.0.0.1', '::1', ...(options.extraHosts ?? []).filter(isIp)].filter((h, i, all) => all.indexOf(h) === i);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: 'CN=localhost, O=oauth2-jwt-bearer development',
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...hosts.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
  const cert = certificate.toString('pem') + '\n';
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(keyPath, key, { mode: 0o600 });
  await writeFile(certPath, cert, { mode: 0o644 });
  return { cert, key, certPath, keyPath, created: true, notAfter };
}

async function readExisting(certPath: string, keyPath: string): Promise<{ cert: string; key: string; notAfter: Date } | null> {
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const parsed = new X509Certificate(cert);
    if (!parsed.checkPrivateKey(createPrivateKey(key))) return null;
    return { cert, key, notAfter: new Date(parsed.validTo) };
  } catch {
    return null;
  }
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
