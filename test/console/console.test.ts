/**
 * The admin console in Debian's Chromium: the WSO2 page's management-console steps (add the IdP with
 * the `wso2.crt` that `keytool -export` writes, generate an application's keys), then a token request
 * with the shown keys, the dry run of the used assertion (`jti_replayed`) and the audit list. Every
 * page is checked for requests to other origins, console errors and page errors.
 *
 * UPDATE_SCREENSHOTS=1 rewrites the PNGs under docs/ that the README shows.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createApp } from '../../example-server/app';
import { CONSOLE_CSP } from '../../example-server/console/route';
import { createLogger } from '../../example-server/logger';
import { migrateExample } from '../../example-server/migrate';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { makeSigningKey } from '../helpers/keys';
import { isDer, launchChromium, listen, makeWso2Keys, screenshot, watchPage, type Wso2Keys } from './support';

jest.setTimeout(120_000);

const ADMIN_TOKEN = 'console-admin-token-0123456789abcdef';
/** The WSO2 page's token endpoint, the IdP's alias. */
const TOKEN_URL = 'https://localhost:9443/oauth2/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let db: TestDatabase;
let server: { origin: string; close(): Promise<void> };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: ReturnType<typeof watchPage>;
let dir: string;
let wso2: Wso2Keys;
let logText = '';
/** The keys the console generated (step 3 of the WSO2 page). */
const keys = { clientId: '', clientSecret: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jwt-bearer-console-'));
  [db, wso2, browser] = await Promise.all([createTestDatabase(), makeWso2Keys(dir), launchChromium()]);
  await migrateExample(db.knex);
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      logText += chunk.toString();
      callback();
    },
  });
  const { app } = createApp({
    knex: db.knex,
    adminToken: ADMIN_TOKEN,
    tokenEndpointUrl: TOKEN_URL,
    logger: createLogger({ level: 'info', destination }),
  });
  server = await listen(app);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  watch = watchPage(page, server.origin);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  expect(watch.foreign).toEqual([]);
  expect(watch.pageErrors).toEqual([]);
  expect(watch.unexplainedConsoleErrors()).toEqual([]);
});

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const sessionToken = () => page.evaluate<string | null>("sessionStorage.getItem('oauth2-jwt-bearer.console.adminToken')");

async function tokenRequest(clientId: string, clientSecret: string, assertion: string) {
  const res = await fetch(`${server.origin}/oauth2/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: `grant_type=${JWT_BEARER}&assertion=${assertion}`,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function seedClaims(extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'jwtIDP',
    sub: 'admin',
    aud: [TOKEN_URL, 'wso2-IS'],
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: `Token${randomUUID()}`,
    ...extra,
  };
}

describe('serving', () => {
  it('serves GET /console with a strict CSP (no inline script), the admin-surface headers, and same-origin assets only', async () => {
    const res = await fetch(`${server.origin}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file of this origin
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toContain(ADMIN_TOKEN);
    expect(html).toContain(`content="${TOKEN_URL}"`);
    for (const [path, type] of [
      ['/console/app.js', /^text\/javascript/],
      ['/console/console.css', /^text\/css/],
      ['/console/favicon.svg', /^image\/svg\+xml/],
    ] as const) {
      const asset = await fetch(`${server.origin}${path}`);
      expect([path, asset.status]).toEqual([path, 200]);
      expect(asset.headers.get('content-type')).toMatch(type);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await fetch(`${server.origin}/console/nothing.js`)).status).toBe(404);
  });
});

describe('the WSO2 page, step by step, in the console', () => {
  let clientId = '';
  let clientSecret = '';
  let usedAssertion = '';
  let accessToken = '';

  it('refuses a wrong admin token with a visible message and shows no data', async () => {
    await page.goto(`${server.origin}/console`);
    await page.getByLabel('Admin token').waitFor();
    await screenshot(page, 'console-sign-in');
    await page.getByLabel('Admin token').fill('not-the-admin-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Invalid admin token', { exact: true }).waitFor();
    expect(await page.getByRole('alert').textContent()).toBe('Invalid admin token');
    expect(await nav('Identity providers').count()).toBe(0);
    expect(await sessionToken()).toBeNull();
    expect(watch.refusedAnswers).toEqual([401]);
  });

  it('signs in with the admin token, which stays in the tab (sessionStorage), out of the URL and the HTML', async () => {
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await nav('Identity providers').waitFor();
    for (const name of ['Identity providers', 'Applications', 'Validate', 'Issued tokens', 'Tenants'])
      expect(await nav(name).count()).toBe(1);
    expect(await page.getByLabel('Tenant', { exact: true }).inputValue()).toBe('carbon.super');
    expect(await sessionToken()).toBe(ADMIN_TOKEN);
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    expect(await page.content()).not.toContain(ADMIN_TOKEN);
    await page.getByText('No identity providers in this tenant yet', { exact: false }).waitFor();
  });

  it('shows the API’s validation error beside the field it names (JWKS URI over plain http)', async () => {
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel('Identity Provider Name').fill('jwtIDP');
    await page.getByText('Advanced settings').click();
    await page.getByLabel('JWKS URI').fill('http://idp.example.com/jwks.json');
    await page.getByRole('button', { name: 'Register' }).click();
    const error = page.locator('#idp-jwks-uri-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^jwksUri must use https: \(http: is allowed only on a loopback host/);
    expect(await page.getByLabel('JWKS URI').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('JWKS URI').getAttribute('aria-describedby')).toContain('idp-jwks-uri-error');
    await page.getByLabel('JWKS URI').fill('');
  });

  it('adds the IdP by uploading the DER wso2.crt (keytool -export), with the seed’s alias, and lists it', async () => {
    expect(await isDer(wso2.certificateFile)).toBe(true);
    await page.getByLabel('Identity Provider Public Certificate').setInputFiles(wso2.certificateFile);
    await page.getByLabel('Alias').fill(TOKEN_URL);
    await page.getByText('Advanced settings').click(); // closed again, as a first-time user would leave it
    await screenshot(page, 'console-add-identity-provider');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByText('Identity provider jwtIDP registered.').waitFor();

    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'jwtIDP' }) });
    const text = await row.textContent();
    expect(text).toContain('Enabled');
    expect(text).toContain(TOKEN_URL);
    expect(text).toContain('CN=localhost');
    expect(text).toContain('currently valid');
    const thumbprint = createHash('sha256')
      .update(await readFile(wso2.certificateFile))
      .digest('base64url');
    expect(text).toContain(thumbprint);
    await screenshot(page, 'console-identity-providers');
  });

  it('generates keys: service provider admin_DemoApp_PRODUCTION, Consumer Key and Secret read-only, the seed’s curl', async () => {
    await nav('Applications').click();
    await page.getByLabel('Owner').fill('admin');
    await page.getByLabel('Application Name').fill('DemoApp');
    await page.getByLabel('Key Type').selectOption('PRODUCTION');
    await page.getByRole('button', { name: 'Generate Keys' }).click();
    await page.getByRole('heading', { name: 'Keys of admin_DemoApp_PRODUCTION' }).waitFor();

    const key = page.getByLabel('Consumer Key', { exact: true });
    const secret = page.getByLabel('Consumer Secret', { exact: true });
    clientId = await key.inputValue();
    clientSecret = await secret.inputValue();
    Object.assign(keys, { clientId, clientSecret });
    expect(clientId).toMatch(/^[A-Za-z0-9]{28}$/);
    expect(clientSecret).toMatch(/^[A-Za-z0-9]{28}$/);
    expect(await key.getAttribute('readonly')).not.toBeNull();
    expect(await secret.getAttribute('readonly')).not.toBeNull();
    expect(await page.getByRole('button', { name: 'Copy Consumer Key' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Copy Consumer Secret' }).count()).toBe(1);
    expect(await page.getByLabel('curl command', { exact: true }).inputValue()).toBe(
      `curl -i -X POST -u ${clientId}:${clientSecret} -k -d 'grant_type=${JWT_BEARER}&assertion=<JWT>' -H 'Content-Type: application/x-www-form-urlencoded' ${TOKEN_URL}`,
    );
    const listed = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'admin_DemoApp_PRODUCTION' }) });
    await listed.waitFor();
    expect(await listed.textContent()).toContain(clientId);
    // The list comes from GET /admin/applications, which never holds a secret or its hash.
    const api = await fetch(`${server.origin}/admin/applications`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(200);
    const apps = (await api.json()) as Array<Record<string, unknown>>;
    expect(apps).toEqual([
      {
        serviceProvider: 'admin_DemoApp_PRODUCTION',
        owner: 'admin',
        name: 'DemoApp',
        keyType: 'PRODUCTION',
        clientId,
        grants: expect.any(Array),
        scopes: null,
        createdAt: expect.any(String),
      },
    ]);
    expect(JSON.stringify(apps)).not.toContain(clientSecret);
    await screenshot(page, 'console-applications', { scrollTo: page.getByLabel('curl command', { exact: true }) });
  });

  it('gets a token (200) with the shown Consumer Key and Secret and an assertion signed by the wso2carbon key', async () => {
    usedAssertion = await wso2.sign(seedClaims());
    const res = await tokenRequest(clientId, clientSecret, usedAssertion);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer' });
    accessToken = res.body.access_token as string;
  });

  it('validates: the now-used assertion is refused with jti_replayed, its sentence and the decoded claims; a fresh one is valid', async () => {
    await nav('Validate').click();
    const fresh = await wso2.sign(seedClaims());
    await page.getByLabel('Assertion', { exact: true }).fill(fresh);
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByRole('heading', { name: 'Valid', exact: true }).waitFor();

    await page.getByLabel('Assertion', { exact: true }).fill(usedAssertion);
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByRole('heading', { name: 'Refused', exact: true }).waitFor();
    expect(await page.locator('.verdict .reason').textContent()).toBe('jti_replayed');
    expect(await page.locator('.verdict .description').textContent()).toBe('The assertion has already been used.');
    const verdict = await page.locator('.verdict').textContent();
    expect(verdict).toContain('Claims (verified)');
    expect(verdict).toContain('"sub": "admin"');
    expect(verdict).toContain('"alg": "RS256"');
    await screenshot(page, 'console-validate', { scrollTo: page.locator('.verdict') });

    // The dry run burnt nothing: the fresh assertion still gets a token.
    expect((await tokenRequest(clientId, clientSecret, fresh)).status).toBe(200);
  });

  it('lists the issuances in "Issued tokens" with filters, never a token value', async () => {
    await nav('Issued tokens').click();
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    const first = await rows.first().textContent();
    expect(first).toContain('jwtIDP');
    expect(first).toContain('admin');
    expect(first).toContain(clientId);
    expect(await page.content()).not.toContain(accessToken);
    await screenshot(page, 'console-issued-tokens');

    await page.getByLabel('Subject').fill('nobody');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No tokens issued that match these filters.').waitFor();
    await page.getByLabel('Subject').fill('admin');
    await page.getByLabel('Client ID').fill(clientId);
    await page.getByLabel('Identity provider').fill('jwtIDP');
    await page.getByRole('button', { name: 'Filter' }).click();
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
  });
});

describe('managing identity providers', () => {
  it('disables and enables an IdP; the token endpoint follows at once', async () => {
    await nav('Identity providers').click();
    await page.getByRole('button', { name: 'Disable jwtIDP' }).click();
    await page.getByText('Identity provider jwtIDP disabled.').waitFor();
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'jwtIDP' }) });
    expect(await row.getByRole('cell').first().textContent()).toBe('Disabled');
    const refused = await tokenRequest(keys.clientId, keys.clientSecret, await wso2.sign(seedClaims()));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
    expect(refused.body.access_token).toBeUndefined();

    await page.getByRole('button', { name: 'Enable jwtIDP' }).click();
    await page.getByText('Identity provider jwtIDP enabled.').waitFor();
    expect(await row.getByRole('cell').first().textContent()).toBe('Enabled');
    expect((await tokenRequest(keys.clientId, keys.clientSecret, await wso2.sign(seedClaims()))).status).toBe(200);
  });

  it('edits settings, adds and removes an alias and a certificate', async () => {
    await page.getByRole('button', { name: 'Edit jwtIDP' }).click();
    await page.getByRole('heading', { name: 'Edit jwtIDP' }).waitFor();
    await page.getByLabel('Alias', { exact: true }).fill('wso2-IS');
    await page.getByRole('button', { name: 'Add alias' }).click();
    await page.getByRole('button', { name: 'Remove alias wso2-IS' }).waitFor();

    const successor = await makeSigningKey('RS256', { subject: 'CN=jwtIDP successor' });
    await page
      .getByLabel('Identity Provider Public Certificate')
      .setInputFiles({ name: 'successor.pem', mimeType: 'application/x-pem-file', buffer: Buffer.from(successor.certificatePem) });
    await page.getByRole('button', { name: 'Upload certificate' }).click();
    const remove = page.getByRole('button', { name: /^Remove certificate CN=jwtIDP successor/ });
    await remove.waitFor();
    await remove.click();
    await page.getByText('Certificate removed.').waitFor();
    expect(await remove.count()).toBe(0);
    await page.getByRole('button', { name: 'Remove alias wso2-IS' }).click();
    await page.getByText('Alias removed.').waitFor();

    await page.getByText('Advanced settings').click();
    await page.getByLabel('Clock skew (seconds)').fill('30');
    await page.getByLabel('Allowed subjects').fill('admin\nalice');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Identity provider jwtIDP saved.').waitFor();
    const saved = await db.knex('jwt_bearer_identity_providers').where({ name: 'jwtIDP' }).first();
    expect(saved.clock_skew_seconds).toBe(30);
    expect(saved.allowed_subjects).toEqual(['admin', 'alice']);
  });

  it('deletes an IdP only after a confirmation', async () => {
    const key = await makeSigningKey('ES256', { subject: 'CN=otherIDP' });
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel('Identity Provider Name').fill('otherIDP');
    await page
      .getByLabel('Identity Provider Public Certificate')
      .setInputFiles({ name: 'other.pem', mimeType: 'application/x-pem-file', buffer: Buffer.from(key.certificatePem) });
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByText('Identity provider otherIDP registered.').waitFor();

    await page.getByRole('button', { name: 'Delete otherIDP' }).click();
    const confirm = page.getByRole('button', { name: 'Confirm delete' });
    await confirm.waitFor();
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('Confirm delete');
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('rowheader', { name: 'otherIDP' }).count()).toBe(1);

    await page.getByRole('button', { name: 'Delete otherIDP' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    await page.getByText('Identity provider otherIDP deleted.').waitFor();
    expect(await page.getByRole('rowheader', { name: 'otherIDP' }).count()).toBe(0);
  });
});

describe('tenants', () => {
  it('creates a tenant, and every page then works in the one chosen in the Tenant selector', async () => {
    await nav('Tenants').click();
    await page.getByLabel('Tenant domain').fill('example.com');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByText('Tenant example.com created.', { exact: false }).waitFor();
    await page.getByRole('rowheader', { name: 'example.com' }).waitFor();
    await screenshot(page, 'console-tenants');

    await page.getByLabel('Tenant', { exact: true }).selectOption('example.com');
    await nav('Identity providers').click();
    await page.getByText('No identity providers in this tenant yet', { exact: false }).waitFor();
    await nav('Applications').click();
    await page.getByText('No applications in this tenant yet.').waitFor();
    await page.getByLabel('Application Name').fill('DemoApp');
    await page.getByRole('button', { name: 'Generate Keys' }).click();
    await page.getByRole('heading', { name: 'Keys of admin_DemoApp_PRODUCTION' }).waitFor();
    expect(await page.getByLabel('curl command', { exact: true }).inputValue()).toMatch(
      / https:\/\/localhost:9443\/oauth2\/token\?tenantDomain=example\.com$/,
    );

    await page.getByLabel('Tenant', { exact: true }).selectOption('carbon.super');
    await nav('Identity providers').click();
    await page.getByRole('rowheader', { name: 'jwtIDP' }).waitFor();
  });
});

describe('keyboard, phone width, sign out', () => {
  it('works from the keyboard: sign in with Enter, Tab to a navigation link, Enter opens it', async () => {
    const other = await context.newPage();
    const watchOther = watchPage(other, server.origin);
    await other.goto(`${server.origin}/console`);
    // A new tab of the same context shares no sessionStorage: signed out.
    await other.getByLabel('Admin token').waitFor();
    await other.keyboard.press('Tab');
    expect(await other.evaluate<string | undefined>('document.activeElement?.id')).toBe('admin-token');
    await other.keyboard.type(ADMIN_TOKEN);
    await other.keyboard.press('Enter');
    await other.getByRole('link', { name: 'Applications', exact: true }).waitFor();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await other.keyboard.press('Tab');
      reached = (await other.evaluate<string | undefined>('document.activeElement?.textContent')) === 'Applications';
    }
    expect(reached).toBe(true);
    await other.keyboard.press('Enter');
    await other.getByRole('heading', { name: 'Applications', level: 1 }).waitFor();
    expect(watchOther.foreign).toEqual([]);
    expect(watchOther.pageErrors).toEqual([]);
    expect(watchOther.unexplainedConsoleErrors()).toEqual([]);
    await other.close();
  });

  it('fits a phone-width screen (390 px) on every page, with no sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const name of ['Identity providers', 'Applications', 'Validate', 'Issued tokens', 'Tenants']) {
      await nav(name).click();
      await page.getByRole('heading', { name, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect([name, overflow]).toEqual([name, 0]);
    }
    await nav('Identity providers').click();
    await page.getByRole('rowheader', { name: 'jwtIDP' }).waitFor();
    await screenshot(page, 'console-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('signs out: the token leaves the tab; no log line ever held it', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await sessionToken()).toBeNull();
    expect(logText).toContain('"event":"token_request"'); // the log did record the requests…
    expect(logText).not.toContain(ADMIN_TOKEN); // …and never the admin token
  });
});
