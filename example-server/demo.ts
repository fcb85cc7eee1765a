import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Reflect polyfill first
import { createPrivateKey, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as x509 from '@peculiar/x509';
import type { Knex } from 'knex';
import { addIdentityProvider, listIdentityProviders, listTenants } from '../lib';
import { APPLICATION_GRANTS, createApplication } from './applications';
import { signDemoAssertion } from './demo-assertion';
import { curlCommand, DEMO_ISSUER, demoFiles, type DemoClientFile } from './demo-files';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface DemoSetup extends DemoClientFile {
  issuer: string;
  alias: string;
  keyPath: string;
  certificatePath: string;
  /** `<dataDir>/demo/client.json`: the credentials, for `npm run mint -- --curl`. */
  clientFile: string;
}

const DEMO_TENANT = 'carbon.super';

/**
 * DEMO=on: on an empty database (no application and no identity provider yet) creates the
 * WSO2 page's setup — an IdP `jwtIDP` whose certificate is a key pair made here and kept under
 * `<dataDir>/demo/`, with the token endpoint URL as its alias, and the application `admin_DemoApp_PRODUCTION`.
 * Returns `null` when the database already has data (including a concurrent starter that won the race).
 */
export async function bootstrapDemo(knex: Knex, options: { dataDir: string; tokenEndpointUrl: string }): Promise<DemoSetup | null> {
  if (!(await isEmpty(knex))) return null;
  const files = demoFiles(options.dataDir);
  const { certificatePem } = await ensureDemoKey(files);

  let setup: DemoSetup;
  try {
    setup = await knex.transaction(async (trx) => {
      await addIdentityProvider(trx, {
        tenant: DEMO_TENANT,
        name: DEMO_ISSUER,
        displayName: 'Demo identity provider (example server)',
        certificates: [{ source: files.certificate, bytes: Buffer.from(certificatePem) }],
        aliases: [options.tokenEndpointUrl],
      });
      const tenant = (await listTenants(trx)).find((t) => t.domain === DEMO_TENANT)!; // the default tenant: always there
      const app = await createApplication(trx, tenant.id, {
        owner: 'admin',
        name: 'DemoApp',
        keyType: 'PRODUCTION',
        grants: [...APPLICATION_GRANTS],
        scopes: null,
      });
      return {
        serviceProvider: app.serviceProvider,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        tokenEndpointUrl: options.tokenEndpointUrl,
        tenant: DEMO_TENANT,
        issuer: DEMO_ISSUER,
        alias: options.tokenEndpointUrl,
        keyPath: files.privateKey,
        certificatePath: files.certificate,
        clientFile: files.client,
      };
    });
  } catch (error) {
    // Another process bootstrapped the same database first: its setup stands.
    if ((error as { code?: string }).code === '23505' || /already exists/.test((error as Error).message)) return null;
    throw error;
  }
  const record: DemoClientFile = {
    serviceProvider: setup.serviceProvider,
    clientId: setup.clientId,
    clientSecret: setup.clientSecret,
    tokenEndpointUrl: setup.tokenEndpointUrl,
    tenant: setup.tenant,
  };
  await writeFile(files.client, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
  return setup;
}

/** The lines printed at start: credentials and a ready curl command (an assertion valid one hour, usable once). */
export async function demoBanner(setup: DemoSetup, options: { dataDirOption?: string } = {}): Promise<string> {
  const privateKeyPem = await readFile(setup.keyPath, 'utf8');
  const assertion = await signDemoAssertion({
    privateKeyPem,
    iss: setup.issuer,
    sub: 'admin',
    aud: [setup.alias, 'wso2-IS'],
    expiresIn: 3600,
  });
  const dataDir = options.dataDirOption ? `--data-dir ${options.dataDirOption} ` : '';
  return [
    'Demo setup created (DEMO=on, empty database):',
    `  service provider: ${setup.serviceProvider}`,
    `  client id:        ${setup.clientId}`,
    `  client secret:    ${setup.clientSecret}   (kept for the CLI in ${setup.clientFile})`,
    `  identity provider: ${setup.issuer} (alias ${setup.alias}), signing key ${setup.keyPath}`,
    '',
    'Get a token (the assertion below is valid for one hour and can be used once):',
    '',
    curlCommand({
      clientId: setup.clientId,
      clientSecret: setup.clientSecret,
      assertion,
      tokenEndpointUrl: setup.tokenEndpointUrl,
      tenant: setup.tenant,
    }),
    '',
    `A fresh assertion any time: npm run mint${dataDir ? ` -- ${dataDir.trim()}` : ''}   (or the whole command: npm run mint -- ${dataDir}--curl)`,
  ].join('\n');
}

async function isEmpty(knex: Knex): Promise<boolean> {
  const [apps] = await knex('example_applications').count({ n: '*' });
  return Number(apps!.n) === 0 && (await listIdentityProviders(knex)).length === 0;
}

/** Reuses the demo key pair under `<dataDir>/demo/` when present (a wiped database, same data dir); else makes one. */
async function ensureDemoKey(files: ReturnType<typeof demoFiles>): Promise<{ certificatePem: string }> {
  try {
    const [keyPem, certificatePem] = await Promise.all([readFile(files.privateKey, 'utf8'), readFile(files.certificate, 'utf8')]);
    const cert = new x509.X509Certificate(certificatePem);
    createPrivateKey(keyPem);
    if (cert.notAfter.getTime() > Date.now() + 24 * 3600 * 1000) return { certificatePem };
  } catch {
    // make a new one
  }
  const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${DEMO_ISSUER}, O=oauth2-jwt-bearer demo`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  await mkdir(files.dir, { recursive: true, mode: 0o700 });
  await writeFile(files.privateKey, `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`, {
    mode: 0o600,
  });
  const certificatePem = cert.toString('pem') + '\n';
  await writeFile(files.certificate, certificatePem, { mode: 0o644 });
  return { certificatePem };
}
