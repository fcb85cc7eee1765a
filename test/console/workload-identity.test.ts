/**
 * Workload identity in the admin console, in Debian's Chromium (docs/workload-identity.md): the GitHub
 * Actions issuer registered with a certificate made here (OIDC discovery off) and the reuse replay
 * policy; a trust rule from the GitHub Actions template; a condition that does not compile, refused with
 * its position; the lint warning for a rule that binds only the repository name; editing and deleting a
 * rule; and the Validate page's per-rule verdicts for GitHub-shaped assertions signed with that key.
 *
 * UPDATE_SCREENSHOTS=1 rewrites the PNGs under docs/ that the README shows.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { createApp } from '../../example-server/app';
import { migrateExample } from '../../example-server/migrate';
import { instantiateTemplate } from '../../lib/rules/templates';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { launchChromium, listen, screenshot, watchPage } from './support';

jest.setTimeout(120_000);

const ADMIN_TOKEN = 'console-admin-token-0123456789abcdef';
const TOKEN_URL = 'https://localhost:9443/oauth2/token';
const GITHUB = 'https://token.actions.githubusercontent.com';
const TEMPLATE_VALUES = { OWNER_ID: '1342004', REPOSITORY_ID: '17273051', REF: 'refs/heads/main' };
const TEMPLATE_RULE = instantiateTemplate('github-actions', TEMPLATE_VALUES);

let db: TestDatabase;
let server: { origin: string; close(): Promise<void> };
let browser: Browser;
let page: Page;
let watch: ReturnType<typeof watchPage>;
let githubKey: TestSigningKey;

beforeAll(async () => {
  [db, browser, githubKey] = await Promise.all([
    createTestDatabase(),
    launchChromium(),
    makeSigningKey('RS256', { subject: 'CN=GitHub Actions test signer' }),
  ]);
  await migrateExample(db.knex);
  const { app } = createApp({ knex: db.knex, adminToken: ADMIN_TOKEN, tokenEndpointUrl: TOKEN_URL });
  server = await listen(app);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  watch = watchPage(page, server.origin);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
});

afterEach(() => {
  expect(watch.foreign).toEqual([]);
  expect(watch.pageErrors).toEqual([]);
  expect(watch.unexplainedConsoleErrors()).toEqual([]);
});

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const rulesTable = () => page.getByRole('table', { name: `Trust rules of ${GITHUB}, in evaluation order` });
const ruleRow = (name: string) =>
  rulesTable()
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name, exact: true }) });

async function githubIdp() {
  return db.knex('jwt_bearer_identity_providers').where({ name: GITHUB }).first();
}
async function storedRules() {
  const idp = await githubIdp();
  return db.knex('jwt_bearer_idp_rules').where({ idp_id: idp.id }).orderBy('name');
}

/** A GitHub Actions ID token's claims for a push to main of octo-org/octo-repo (ids as in the template values). */
function githubClaims(extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: GITHUB,
    aud: TOKEN_URL,
    sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
    repository: 'octo-org/octo-repo',
    repository_id: '17273051',
    repository_owner: 'octo-org',
    repository_owner_id: '1342004',
    ref: 'refs/heads/main',
    event_name: 'push',
    jti: randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 300,
    ...extra,
  };
}

describe('workload identity in the console', () => {
  it('signs in', async () => {
    await page.goto(`${server.origin}/console`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No identity providers in this tenant yet', { exact: false }).waitFor();
  });

  it('registers the GitHub issuer with discovery off and the reuse policy; reuse with a lifetime over an hour is refused at its field', async () => {
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel('Identity Provider Name').fill(GITHUB);
    await page
      .getByLabel('Identity Provider Public Certificate')
      .setInputFiles({ name: 'github.pem', mimeType: 'application/x-pem-file', buffer: Buffer.from(githubKey.certificatePem) });
    await page.getByText('Advanced settings').click();
    expect(await page.getByLabel('Keys from OIDC discovery').isChecked()).toBe(false);
    expect(await page.getByLabel('Discovery URL').count()).toBe(0); // shown only once discovery is ticked
    await page.getByLabel('Replay policy').selectOption('reuse');
    await page.getByLabel('Max assertion lifetime (seconds)').fill('86400');
    await page.getByRole('button', { name: 'Register' }).click();

    const lifetime = page.getByLabel('Max assertion lifetime (seconds)');
    await page.locator('#idp-max-lifetime-error').waitFor();
    expect(await page.locator('#idp-max-lifetime-error').textContent()).toContain('3600');
    expect(await lifetime.getAttribute('aria-invalid')).toBe('true');
    expect(watch.refusedAnswers).toEqual([400]);
    expect(await githubIdp()).toBeUndefined();

    // Left empty with reuse, the lifetime is the policy's cap.
    await lifetime.fill('');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByText(`Identity provider ${GITHUB} registered.`).waitFor();
    const stored = await githubIdp();
    expect(stored).toMatchObject({ replay_policy: 'reuse', discovery_url: null, jwks_uri: null, max_assertion_lifetime_seconds: 3600 });

    // A shared issuer with no enforced rule trusts every GitHub repository: said as a warning, not an error.
    const warning = page.locator('.notice-warning');
    expect(await warning.getAttribute('role')).toBe('status');
    expect(await warning.textContent()).toContain('shared_issuer_no_rules');
    expect(await page.getByRole('alert').count()).toBe(0);

    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: GITHUB }) });
    const text = await row.textContent();
    expect(text).toContain('reuse (≤ 1 h)');
    expect(text).toContain('certificates only');
    expect(text).toContain('1 warning');
  });

  it('takes keys from OIDC discovery: ticked with no URL, the issuer’s own document; a name that is not https is refused at the Discovery URL field', async () => {
    const refusedBefore = watch.refusedAnswers.length;
    const register = async (name: string) => {
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      await page.getByLabel('Identity Provider Name').fill(name);
      await page.getByText('Advanced settings').click();
      await page.getByLabel('Keys from OIDC discovery').check();
      expect(await page.getByLabel('Discovery URL').inputValue()).toBe('');
      await page.getByRole('button', { name: 'Register' }).click();
    };
    await register('https://gitlab.com');
    await page.getByText('Identity provider https://gitlab.com registered.').waitFor();
    expect(await db.knex('jwt_bearer_identity_providers').where({ name: 'https://gitlab.com' }).first()).toMatchObject({
      discovery_url: 'https://gitlab.com/.well-known/openid-configuration',
      jwks_uri: null,
      replay_policy: 'once',
    });
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'https://gitlab.com' }) });
    expect(await row.textContent()).toContain('OIDC discovery https://gitlab.com/.well-known/openid-configuration');
    expect(await page.locator('.notice-warning').textContent()).toContain('shared_issuer_no_rules');

    await register('ci-issuer');
    const error = page.locator('#idp-discovery-url-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('https');
    expect(await page.getByLabel('Discovery URL').getAttribute('aria-invalid')).toBe('true');
    expect(watch.refusedAnswers.slice(refusedBefore)).toEqual([400]);
    await page.getByLabel('Discovery URL').fill('https://ci.example.test/.well-known/openid-configuration');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByText('Identity provider ci-issuer registered.').waitFor();
    expect(await db.knex('jwt_bearer_identity_providers').where({ name: 'ci-issuer' }).first()).toMatchObject({
      discovery_url: 'https://ci.example.test/.well-known/openid-configuration',
    });
  });

  it('adds a rule from the GitHub Actions template: parameters must match their pattern, the IdP settings it suggests are shown', async () => {
    await page.getByRole('button', { name: `Trust rules of ${GITHUB}` }).click();
    await page.getByRole('heading', { name: 'Trust rules', level: 3 }).waitFor();
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('rules-heading');
    expect(await page.getByText('No trust rules', { exact: false }).count()).toBe(1);

    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Template', { exact: true }).selectOption('github-actions');
    const suggested = page.getByRole('table', { name: 'Suggested identity provider settings' });
    await suggested.waitFor();
    const replay = suggested.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'Replay policy' }) });
    expect(await replay.textContent()).toBe('Replay policyoncereuse differs');
    const keys = suggested.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'Keys', exact: true }) });
    expect(await keys.textContent()).toBe('KeysKeys from OIDC discoverycertificates or JWKS URI differs');

    // A value that would step out of its string literal never reaches the rule.
    await page.getByLabel('OWNER_ID', { exact: true }).fill("1342004' || true || '");
    await page.getByLabel('REPOSITORY_ID', { exact: true }).fill(TEMPLATE_VALUES.REPOSITORY_ID);
    await page.getByLabel('REF', { exact: true }).fill(TEMPLATE_VALUES.REF);
    await page.getByRole('button', { name: 'Fill in the rule' }).click();
    await page.locator('#rule-param-OWNER_ID-error').waitFor();
    expect(await page.locator('#rule-param-OWNER_ID-error').textContent()).toBe('OWNER_ID must match ^[0-9]{1,20}$.');
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('rule-param-OWNER_ID');
    expect(await page.getByLabel('Condition', { exact: true }).inputValue()).toBe('');

    await page.getByLabel('OWNER_ID', { exact: true }).fill(TEMPLATE_VALUES.OWNER_ID);
    await page.getByRole('button', { name: 'Fill in the rule' }).click();
    expect(await page.getByLabel('Condition', { exact: true }).inputValue()).toBe(TEMPLATE_RULE.condition);
    expect(await page.getByLabel('Subject', { exact: true }).inputValue()).toBe(TEMPLATE_RULE.subject);
    expect(await page.getByLabel('Rule name').inputValue()).toBe(TEMPLATE_RULE.name);
    await screenshot(page, 'console-rule-template', { scrollTo: page.getByRole('button', { name: 'Fill in the rule' }) });
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByText(`Rule ${TEMPLATE_RULE.name} added.`).waitFor();

    const row = ruleRow(TEMPLATE_RULE.name);
    const text = await row.textContent();
    expect(text).toContain('enforce');
    expect(text).toContain(TEMPLATE_RULE.condition);
    expect(text).toContain('any client');
    expect(await storedRules()).toEqual([
      expect.objectContaining({
        name: TEMPLATE_RULE.name,
        condition: TEMPLATE_RULE.condition,
        subject: TEMPLATE_RULE.subject,
        mode: 'enforce',
        clients: [],
        scopes: null,
      }),
    ]);
    // The enforced rule binds repository_owner_id: no warning is left.
    expect(await page.locator('.notice-warning').count()).toBe(0);
  });

  it('refuses a condition that does not compile, with a caret under the position the API names', async () => {
    const refusedBefore = watch.refusedAnswers.length;
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Rule name').fill('broken');
    const condition = page.getByLabel('Condition', { exact: true });
    const source = "claims.repository_owner_id == '1342004' && claims.ref == ";
    await condition.fill(source);
    const answer = page.waitForResponse((res) => res.request().method() === 'POST' && res.url().endsWith('/rules'));
    await page.getByRole('button', { name: 'Add rule' }).click();
    const res = await answer;
    expect(res.status()).toBe(400);
    const body = (await res.json()) as { error: string; field: string; position: { start: number; end: number } };
    expect(body).toMatchObject({ error: 'invalid_request', field: 'condition', position: { start: expect.any(Number) } });

    const error = page.locator('#rule-condition-error');
    await error.waitFor();
    expect(await condition.getAttribute('aria-invalid')).toBe('true');
    expect(await condition.getAttribute('aria-describedby')).toContain('rule-condition-error');
    const [line, caret] = (await error.locator('pre.caret').textContent())!.split('\n');
    expect(line).toBe(source.trim());
    expect(caret!.indexOf('^')).toBe(body.position.start);
    expect(await error.textContent()).toContain(`At line 1, column ${body.position.start + 1}.`);
    // Focus is on the field, with the failing range selected.
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('rule-condition');
    expect(await condition.evaluate((el) => (el as unknown as { selectionStart: number }).selectionStart)).toBe(body.position.start);
    expect((await storedRules()).map((r) => r.name)).toEqual([TEMPLATE_RULE.name]);
    await screenshot(page, 'console-rule-error', { scrollTo: error });

    // A subject of the wrong type is the subject field's error.
    await condition.fill("claims.repository_owner_id == '1342004'");
    await page.getByLabel('Subject', { exact: true }).fill("claims.sub == 'x'");
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('#rule-subject-error').waitFor();
    expect(await page.locator('#rule-condition-error').count()).toBe(0);
    expect(await page.getByLabel('Subject', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect((await storedRules()).map((r) => r.name)).toEqual([TEMPLATE_RULE.name]);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    expect(watch.refusedAnswers.slice(refusedBefore)).toEqual([400, 400]);
  });

  it('saves a rule that binds only the repository name, and shows the lint warnings as warnings, not errors', async () => {
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Rule name').fill('by-repository-name');
    await page.getByLabel('Condition', { exact: true }).fill("claims.repository == 'octo-org/octo-repo'");
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByText('Rule by-repository-name added.').waitFor();
    await ruleRow('by-repository-name').waitFor();

    const warning = page.locator('.notice-warning');
    expect(await warning.getAttribute('role')).toBe('status');
    const text = await warning.textContent();
    expect(text).toContain('owner_id_unbound');
    expect(text).toContain('rule by-repository-name');
    expect(text).not.toContain(TEMPLATE_RULE.name); // the template's rule binds the owner id
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.locator('.field-error').count()).toBe(0);
    await screenshot(page, 'console-trust-rules', { scrollTo: rulesTable() });
  });

  it('edits a rule (mode, position) and deletes it only after a confirmation', async () => {
    await page.getByRole('button', { name: 'Edit rule by-repository-name' }).click();
    await page.getByRole('heading', { name: 'Edit rule by-repository-name' }).waitFor();
    expect(await page.getByLabel('Condition', { exact: true }).inputValue()).toBe("claims.repository == 'octo-org/octo-repo'");
    await page.getByLabel('Mode', { exact: true }).selectOption('shadow');
    await page.getByLabel('Position', { exact: true }).fill('5');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByText('Rule by-repository-name saved.').waitFor();
    expect(await ruleRow('by-repository-name').getByRole('cell').nth(1).textContent()).toBe('shadow');
    expect((await storedRules()).find((r) => r.name === 'by-repository-name')).toMatchObject({ mode: 'shadow', position: 5 });

    await page.getByRole('button', { name: 'Delete rule by-repository-name' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).waitFor();
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('Confirm delete');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    expect(await ruleRow('by-repository-name').count()).toBe(1);

    await page.getByRole('button', { name: 'Delete rule by-repository-name' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    await page.getByText('Rule by-repository-name deleted.').waitFor();
    expect(await ruleRow('by-repository-name').count()).toBe(0);
    expect((await storedRules()).map((r) => r.name)).toEqual([TEMPLATE_RULE.name]);
    expect(await page.locator('.notice-warning').count()).toBe(0);
  });

  it('Validate: a GitHub-shaped assertion shows the rule that admits it; a wrong owner’s shows the condition that failed', async () => {
    await nav('Validate').click();
    const assertion = page.getByLabel('Assertion', { exact: true });
    await assertion.fill(await signAssertion(githubKey, githubClaims()));
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByRole('heading', { name: 'Valid', exact: true }).waitFor();
    expect(await page.locator('.verdict .admitted').textContent()).toBe(`Admitted by trust rule ${TEMPLATE_RULE.name}.`);
    const results = page.getByRole('table', { name: 'Trust rules' });
    const matched = results.getByRole('row').filter({ has: page.getByRole('rowheader', { name: TEMPLATE_RULE.name }) });
    expect(await matched.getByRole('cell').nth(1).textContent()).toBe('matched');
    expect(await matched.locator('code.subject').textContent()).toBe('github:1342004/17273051:refs/heads/main');
    await screenshot(page, 'console-validate-rules', { scrollTo: results });

    await assertion.fill(await signAssertion(githubKey, githubClaims({ repository_owner_id: '99999999' })));
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByRole('heading', { name: 'Refused', exact: true }).waitFor();
    expect(await page.locator('.verdict .reason').textContent()).toBe('no_rule_matched');
    expect(await page.locator('.verdict .admitted').count()).toBe(0);
    const refused = results.getByRole('row').filter({ has: page.getByRole('rowheader', { name: TEMPLATE_RULE.name }) });
    expect(await refused.getByRole('cell').nth(1).textContent()).toBe('not matched');
    expect(await refused.locator('code.failed').textContent()).toBe("claims.repository_owner_id == '1342004'");

    // A shadow rule's verdict is shown beside, never instead of, the enforced one.
    const idp = await githubIdp();
    const added = await fetch(`${server.origin}/admin/identity-providers/${idp.id}/rules`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: 'main-only',
        mode: 'shadow',
        condition: "claims.repository_owner_id == '1342004' && claims.ref == 'refs/heads/main'",
      }),
    });
    expect(added.status).toBe(201);
    await page.getByRole('button', { name: 'Validate' }).click(); // the wrong owner's assertion again
    await results.getByRole('rowheader', { name: 'main-only' }).waitFor();
    expect(await page.locator('.verdict .reason').textContent()).toBe('no_rule_matched');
    expect(await page.locator('.verdict .shadow-verdict').textContent()).toBe('Shadow rules: would deny; not enforced.');
    await assertion.fill(await signAssertion(githubKey, githubClaims()));
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByRole('heading', { name: 'Valid', exact: true }).waitFor();
    await page.locator('.verdict .shadow-verdict').getByText('would allow').waitFor();
    expect(await page.locator('.verdict .shadow-verdict').textContent()).toBe('Shadow rules: would allow (rule main-only); not enforced.');
  });

  it('fits a phone-width screen (390 px): the rule verdicts, the trust rules, a template and a caret under an error', async () => {
    const overflow = () => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    await page.setViewportSize({ width: 390, height: 844 });
    await nav('Validate').click();
    await page
      .getByLabel('Assertion', { exact: true })
      .fill(await signAssertion(githubKey, githubClaims({ ref: 'refs/heads/a-rather-long-branch-name' })));
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByRole('table', { name: 'Trust rules' }).locator('code.failed').first().waitFor();
    expect(['Validate', await overflow()]).toEqual(['Validate', 0]);

    await nav('Identity providers').click();
    await page.getByRole('button', { name: `Trust rules of ${GITHUB}` }).click();
    await rulesTable().waitFor();
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Template', { exact: true }).selectOption('github-actions');
    await page.getByRole('table', { name: 'Suggested identity provider settings' }).waitFor();
    await page.getByLabel('Rule name').fill('long-and-broken');
    await page.getByLabel('Condition', { exact: true }).fill(`${TEMPLATE_RULE.condition} && claims.sub.startsWith(`);
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('#rule-condition-error pre.caret').waitFor();
    expect(['Trust rules', await overflow()]).toEqual(['Trust rules', 0]);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
