import { execFile } from 'node:child_process';
import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { makeSigningKey, signAssertion } from '../helpers/keys';

const run = promisify(execFile);

export const ROOT = resolve(__dirname, '..', '..');
export const DOCS_DIR = join(ROOT, 'docs');

/** Debian's Chromium, as `.ci/run` installs it; flags that keep it off the (closed) network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Serves an Express app on 127.0.0.1 and a free port. */
export async function listen(app: http.RequestListener): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/**
 * What a page did that the console must never do: load anything from another origin, log an error
 * or throw. Answers ≥ 400 that a test provokes on purpose (a wrong token, a refused field) make
 * Chromium log "Failed to load resource" for that request; those are told apart from real errors by
 * matching each one to a refused answer of this origin's `/admin`.
 */
export function watchPage(page: Page, origin: string) {
  const foreign: string[] = [];
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const refused: number[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(`${origin}/`)) foreign.push(req.url());
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && res.url().startsWith(`${origin}/admin/`)) refused.push(res.status());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return {
    foreign,
    pageErrors,
    /** Console errors other than Chromium's own note of a refused admin answer. */
    unexplainedConsoleErrors(): string[] {
      const statuses = [...refused];
      return consoleErrors.filter((text) => {
        const match = /^Failed to load resource: the server responded with a status of (\d{3})/.exec(text);
        const at = match ? statuses.indexOf(Number(match[1])) : -1;
        if (at < 0) return true;
        statuses.splice(at, 1);
        return false;
      });
    },
    refusedAnswers: refused,
  };
}

/** `docs/<name>.png`, only when UPDATE_SCREENSHOTS=1, so that a CI run never dirties the tree. */
export async function screenshot(page: Page, name: string, options: { scrollTo?: Locator } = {}): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  await mkdir(DOCS_DIR, { recursive: true });
  // The viewport only (small files); scrolled so that what the picture is about is in it.
  await options.scrollTo?.evaluate((element) => element.scrollIntoView({ block: 'end' }));
  await page.screenshot({ path: join(DOCS_DIR, `${name}.png`), animations: 'disabled', caret: 'hide' });
}

/** The seed's key material: `wso2.crt` (DER) and a way to sign assertions with its private key. */
export interface Wso2Keys {
  certificateFile: string;
  madeBy: 'keytool' | 'test';
  sign(claims: Record<string, unknown>): Promise<string>;
}

/**
 * Makes the WSO2 page's `wso2.crt` as the seed does, with Java's keytool (a wso2carbon.jks keystore,
 * then `keytool -export`, which writes DER), and takes the private key out through PKCS#12 and
 * openssl. Without keytool or openssl, a DER certificate made in the test stands in.
 */
export async function makeWso2Keys(dir: string): Promise<Wso2Keys> {
  const certificateFile = join(dir, 'wso2.crt');
  const jks = join(dir, 'wso2carbon.jks');
  const p12 = join(dir, 'wso2carbon.p12');
  try {
    const storepass = ['-storepass', 'wso2carbon'];
    await run('keytool', [
      '-genkeypair',
      '-alias',
      'wso2carbon',
      '-keyalg',
      'RSA',
      '-keysize',
      '2048',
      '-sigalg',
      'SHA256withRSA',
      '-validity',
      '365',
      '-dname',
      'CN=localhost, O=WSO2, L=Mountain View, ST=CA, C=US',
      '-keystore',
      jks,
      '-storetype',
      'JKS',
      ...storepass,
      '-keypass',
      'wso2carbon',
    ]);
    await run('keytool', ['-export', '-alias', 'wso2carbon', '-file', certificateFile, '-keystore', jks, ...storepass]);
    await run('keytool', [
      '-importkeystore',
      '-srckeystore',
      jks,
      '-srcstorepass',
      'wso2carbon',
      '-srcalias',
      'wso2carbon',
      '-destkeystore',
      p12,
      '-deststoretype',
      'PKCS12',
      '-deststorepass',
      'wso2carbon',
    ]);
    const { stdout } = await run('openssl', ['pkcs12', '-in', p12, '-nocerts', '-nodes', '-passin', 'pass:wso2carbon']);
    const privateKey = createPrivateKey(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(stdout)![0]);
    return { certificateFile, madeBy: 'keytool', sign: async (claims) => rs256(privateKey, claims) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const key = await makeSigningKey('RS256', { subject: 'CN=localhost, O=WSO2, L=Mountain View, ST=CA, C=US' });
    const der = Buffer.from(key.certificatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    await writeFile(certificateFile, der);
    return { certificateFile, madeBy: 'test', sign: (claims) => signAssertion(key, claims) };
  }
}

function rs256(privateKey: KeyObject, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** Whether a file starts as DER does (a SEQUENCE), not as PEM text. */
export async function isDer(file: string): Promise<boolean> {
  return (await readFile(file))[0] === 0x30;
}
