/**
 * The dry run (`POST /admin/assertions/validate`) of an IdP with trust rules (docs/workload-identity.md
 * "Explain"): each rule's verdict with the conjunct that failed, the admitting rule, the shadow verdict;
 * also when no rule matches, since the verified claims are what an administrator needs to see then.
 */
import { instantiateTemplate } from '../../lib/rules';
import { assertionClaims, sharedSigningKey, signAssertion, TEST_AUDIENCE, type TestSigningKey } from '../helpers/keys';
import { seedRule } from '../helpers/rules';
import { createAdminFixture, type AdminFixture } from './support';

const ISSUER = 'https://token.actions.githubusercontent.com';
const template = instantiateTemplate('github-actions', { OWNER_ID: '1342004', REPOSITORY_ID: '17273051', REF: 'refs/heads/main' });
const at = (source: string, text: string) => ({ expression: text, start: source.indexOf(text), end: source.indexOf(text) + text.length });

let fx: AdminFixture;
let key: TestSigningKey;
let idpId: string;

beforeAll(async () => {
  fx = await createAdminFixture();
  key = await sharedSigningKey('RS256');
  const res = await fx
    .admin('post', '/identity-providers')
    .send({ name: ISSUER, certificates: [key.certificatePem], aliases: [TEST_AUDIENCE] });
  expect(res.status).toBe(201);
  idpId = res.body.id;
  await seedRule(fx.db.knex, idpId, { ...template, position: 0 });
  await seedRule(fx.db.knex, idpId, {
    name: 'deploy-client-only',
    condition: "claims.environment == 'production'",
    clients: ['deployer'],
    position: 1,
  });
  await seedRule(fx.db.knex, idpId, { name: 'shadow-any-branch', condition: "claims.repository_owner_id == '1342004'", mode: 'shadow' });
});
afterAll(() => fx?.close());
afterEach(() => expect(fx.errors).toEqual([]));

const validate = (body: Record<string, unknown>) => fx.admin('post', '/assertions/validate').send(body);
const github = (over: Record<string, unknown> = {}) =>
  signAssertion(
    key,
    assertionClaims({
      iss: ISSUER,
      aud: TEST_AUDIENCE,
      sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
      repository: 'octo-org/octo-repo',
      repository_id: '17273051',
      repository_owner: 'octo-org',
      repository_owner_id: '1342004',
      ref: 'refs/heads/main',
      event_name: 'push',
      ...over,
    }),
  );

it('valid: names the admitting rule, explains every rule, and the shadow verdict', async () => {
  const res = await validate({ assertion: await github(), clientId: 'ci-client' });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    valid: true,
    rule: 'github-repository-branch',
    shadow: { decision: 'would_allow', rule: 'shadow-any-branch' },
  });
  expect(res.body.rules).toEqual([
    {
      name: 'github-repository-branch',
      mode: 'enforce',
      matched: true,
      clientAllowed: true,
      subject: 'github:1342004/17273051:refs/heads/main',
    },
    {
      name: 'deploy-client-only',
      mode: 'enforce',
      matched: false,
      clientAllowed: false,
      failed: at("claims.environment == 'production'", "claims.environment == 'production'"),
      error: 'No such key: environment',
    },
    {
      name: 'shadow-any-branch',
      mode: 'shadow',
      matched: true,
      clientAllowed: true,
      subject: 'repo:octo-org/octo-repo:ref:refs/heads/main',
    },
  ]);
});

it('no_rule_matched: the verified claims, and the conjunct that failed', async () => {
  const claimsOfAnotherBranch = { ref: 'refs/heads/feature', sub: 'repo:octo-org/octo-repo:ref:refs/heads/feature' };
  const res = await validate({ assertion: await github(claimsOfAnotherBranch), clientId: 'ci-client' });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    valid: false,
    reason: 'no_rule_matched',
    description: expect.any(String),
    idp: { id: idpId, name: ISSUER },
    claims: expect.objectContaining(claimsOfAnotherBranch),
    header: expect.objectContaining({ alg: 'RS256' }),
    shadow: { decision: 'would_allow', rule: 'shadow-any-branch' },
  });
  expect(res.body.rule).toBeUndefined();
  expect(res.body.rules[0]).toEqual({
    name: 'github-repository-branch',
    mode: 'enforce',
    matched: false,
    clientAllowed: true,
    failed: at(template.condition, "claims.ref == 'refs/heads/main'"),
  });
  expect(template.condition.slice(res.body.rules[0].failed.start, res.body.rules[0].failed.end)).toBe("claims.ref == 'refs/heads/main'");
});

it('another owner: the owner conjunct fails, and the shadow rule would deny too', async () => {
  const res = await validate({ assertion: await github({ repository_owner_id: '99999' }), clientId: 'ci-client' });
  expect(res.body).toMatchObject({ valid: false, reason: 'no_rule_matched', shadow: { decision: 'would_deny' } });
  expect(res.body.shadow.rule).toBeUndefined();
  expect(res.body.rules.map((r: { failed?: { expression: string } }) => r.failed?.expression)).toEqual([
    "claims.repository_owner_id == '1342004'",
    "claims.environment == 'production'",
    "claims.repository_owner_id == '1342004'",
  ]);
});

it('a rule’s clients list is judged with a clientId, not without one', async () => {
  const production = await github({ repository_owner_id: '99999', environment: 'production' });
  const deployer = await validate({ assertion: production, clientId: 'deployer' });
  expect(deployer.body).toMatchObject({ valid: true, rule: 'deploy-client-only' });
  const other = await validate({ assertion: production, clientId: 'ci-client' });
  expect(other.body).toMatchObject({ valid: false, reason: 'no_rule_matched' });
  expect(other.body.rules[1]).toMatchObject({
    name: 'deploy-client-only',
    matched: false,
    clientAllowed: false,
    subject: expect.any(String),
  });
  const unnamed = await validate({ assertion: production });
  expect(unnamed.body).toMatchObject({ valid: true, rule: 'deploy-client-only', notChecked: expect.arrayContaining(['allowed_clients']) });
  expect(unnamed.body.rules[1]).toMatchObject({ matched: true, clientAllowed: true });
});

it('judges a requested scope against the admitting rule’s scopes, as the token endpoint does', async () => {
  const own = await sharedSigningKey('ES256');
  const created = await fx
    .admin('post', '/identity-providers')
    .send({ name: 'scoped-rules-idp', certificates: [own.certificatePem], aliases: [TEST_AUDIENCE] });
  await seedRule(fx.db.knex, created.body.id, { name: 'read-only', condition: 'true', scopes: ['read'] });
  const assertion = await signAssertion(own, assertionClaims({ iss: 'scoped-rules-idp' }));
  expect((await validate({ assertion, scope: 'read' })).body).toMatchObject({ valid: true, rule: 'read-only' });
  expect((await validate({ assertion, scope: 'read write' })).body).toMatchObject({
    valid: false,
    reason: 'scope_not_allowed',
    rules: [{ name: 'read-only', matched: true }],
  });
});

it('an IdP without rules answers as before: no rules, rule or shadow', async () => {
  const own = await sharedSigningKey('ES384');
  await fx.admin('post', '/identity-providers').send({ name: 'plain-idp', certificates: [own.certificatePem], aliases: [TEST_AUDIENCE] });
  const res = await validate({ assertion: await signAssertion(own, assertionClaims({ iss: 'plain-idp' })) });
  expect(res.body.valid).toBe(true);
  expect(res.body.rules).toBeUndefined();
  expect(res.body.rule).toBeUndefined();
  expect(res.body.shadow).toBeUndefined();
});

it('a refusal before the rules shows neither claims nor rules', async () => {
  const res = await validate({ assertion: await github({ aud: 'https://elsewhere.example/token' }) });
  expect(res.body).toMatchObject({ valid: false, reason: 'audience_mismatch' });
  expect(res.body.claims).toBeUndefined();
  expect(res.body.rules).toBeUndefined();
});

it('a stored rule that does not compile is explained as such, and matches nothing', async () => {
  const own = await sharedSigningKey('PS256');
  const created = await fx
    .admin('post', '/identity-providers')
    .send({ name: 'broken-rule-idp', certificates: [own.certificatePem], aliases: [TEST_AUDIENCE] });
  await seedRule(fx.db.knex, created.body.id, { name: 'broken', condition: "claims.sub == 'alice' &&" });
  const res = await validate({ assertion: await signAssertion(own, assertionClaims({ iss: 'broken-rule-idp', sub: 'alice' })) });
  expect(res.body).toMatchObject({ valid: false, reason: 'no_rule_matched' });
  expect(res.body.rules).toEqual([
    {
      name: 'broken',
      mode: 'enforce',
      matched: false,
      clientAllowed: true,
      error: expect.stringMatching(/^the stored rule does not compile: condition: /),
    },
  ]);
});
