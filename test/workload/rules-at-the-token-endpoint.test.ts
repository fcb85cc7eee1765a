/**
 * docs/workload-identity.md "Evaluation", through the real token endpoint: the first matching rule by
 * position then name is audited; its subject expression is the host's user; its scopes bound the
 * requested scope; its clients list refuses other clients; shadow rules never change an answer; an IdP
 * without enforced rules behaves as one without rules; a stored rule that does not compile admits
 * nothing; and a change to the rules table reaches the cached configuration through its notification.
 */
import { sha256 } from '../../lib/hash';
import { HOSTS } from '../helpers/host-app';
import {
  CLIENT,
  createGrantFixture,
  expectRefused,
  grantForm,
  JWT_BEARER_GRANT_TYPE,
  postToken,
  TOKEN_URL,
  type GrantFixture,
} from '../helpers/grant-fixture';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { insertRule, settleConfig, type RuleRow } from '../helpers/rules';
import { githubClaims } from '../helpers/workload-claims';

const CI_CLIENT = { id: 'ci-client', secret: 'ci-secret', tenant: 'carbon.super', grants: [JWT_BEARER_GRANT_TYPE] };

let fx: GrantFixture;
let host: ReturnType<GrantFixture['app']>;
let key: TestSigningKey;
let idpCount = 0;

beforeAll(async () => {
  fx = await createGrantFixture(HOSTS[0]);
  host = fx.app({ clients: [CLIENT, CI_CLIENT] });
  key = await makeSigningKey('ES256');
});
afterAll(() => fx?.close());

/** A fresh IdP (its own issuer name) with `rules`; returns its issuer and id. */
async function idpWithRules(rules: RuleRow[], settings: { allowedScopes?: string[] } = {}): Promise<{ issuer: string; idpId: string }> {
  const issuer = `https://ci-${++idpCount}.example.test`;
  const idpId = await fx.addIdp({ name: issuer, certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL], ...settings });
  for (const rule of rules) await insertRule(fx.db.knex, idpId, rule);
  return { issuer, idpId };
}

const assertion = (issuer: string, claims: Record<string, unknown> = {}) =>
  signAssertion(key, assertionClaims({ iss: issuer, aud: TOKEN_URL, sub: 'workload-1', env: 'prod', ...claims }));

const request = async (issuer: string, claims: Record<string, unknown> = {}, extra: Record<string, string> = {}, client = CLIENT) =>
  postToken(host.app, grantForm(await assertion(issuer, claims), extra), { auth: [client.id, client.secret] });

async function auditOf(accessToken: string) {
  return fx.db
    .knex('jwt_bearer_issued_tokens')
    .where({ access_token_sha256: sha256(accessToken) })
    .first();
}

describe('which rule admits', () => {
  it('the first that matches, by position then name; its name is audited', async () => {
    const { issuer } = await idpWithRules([
      { name: 'b-prod', condition: "claims.env == 'prod'", position: 1 },
      { name: 'a-prod', condition: "claims.env == 'prod'", position: 1 },
      { name: 'staging', condition: "claims.env == 'staging'", position: 0 },
      { name: 'z-last', condition: 'true', position: 9 },
    ]);
    const prod = await request(issuer);
    expect(prod.status).toBe(200);
    expect((await auditOf(prod.body.access_token)).rule_name).toBe('a-prod');
    expect(host.outcomes.at(-1)).toMatchObject({ outcome: 'issued', rule: 'a-prod' });
    const staging = await request(issuer, { env: 'staging' });
    expect((await auditOf(staging.body.access_token)).rule_name).toBe('staging');
    const other = await request(issuer, { env: 'dev' });
    expect((await auditOf(other.body.access_token)).rule_name).toBe('z-last');
  });

  it('a rule’s subject expression is the host’s user and the audited subject', async () => {
    const { issuer } = await idpWithRules([{ name: 'by-env', condition: 'true', subject: "'ci:' + claims.env + ':' + claims.sub" }]);
    const res = await request(issuer);
    expect(res.status).toBe(200);
    expect(host.model.tokens.get(res.body.access_token).user).toEqual({
      id: 'ci:prod:workload-1',
      sub: 'ci:prod:workload-1',
      idp: issuer,
      tenant: 'carbon.super',
    });
    expect(await auditOf(res.body.access_token)).toMatchObject({ subject: 'ci:prod:workload-1', rule_name: 'by-env' });
  });

  it('a subject expression without a usable value: that rule does not admit', async () => {
    const { issuer } = await idpWithRules([{ name: 'team', condition: 'true', subject: 'claims.team' }]);
    expectRefused(await request(issuer), 400, 'invalid_grant'); // no team claim
    expect(host.outcomes.at(-1)?.reason).toBe('no_rule_matched');
    const res = await request(issuer, { team: 'payments' });
    expect(host.model.tokens.get(res.body.access_token).user.id).toBe('payments');
  });
});

describe('what a rule grants', () => {
  it('its scopes bound the requested scope (invalid_scope, reason scope_not_allowed)', async () => {
    const { issuer } = await idpWithRules([{ name: 'read-only', condition: 'true', scopes: ['read', 'status'] }]);
    const ok = await request(issuer, {}, { scope: 'read status' });
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('read status');
    const before = await fx.issuedCount();
    expectRefused(await request(issuer, {}, { scope: 'read write' }), 400, 'invalid_scope');
    expect(host.outcomes.at(-1)).toMatchObject({ reason: 'scope_not_allowed', rule: 'read-only' });
    expect(await fx.issuedCount()).toBe(before);
  });

  it('the admitting rule’s scopes count, not another rule’s', async () => {
    const { issuer } = await idpWithRules([
      { name: 'prod-deploy', condition: "claims.env == 'prod'", scopes: ['deploy'], position: 0 },
      { name: 'any-read', condition: 'true', scopes: ['read'], position: 1 },
    ]);
    expect((await request(issuer, {}, { scope: 'deploy' })).status).toBe(200);
    expectRefused(await request(issuer, { env: 'dev' }, { scope: 'deploy' }), 400, 'invalid_scope');
    expect((await request(issuer, { env: 'dev' }, { scope: 'read' })).status).toBe(200);
  });

  it('its clients list refuses other clients (no_rule_matched), admits its own', async () => {
    const { issuer } = await idpWithRules([{ name: 'ci-only', condition: 'true', clients: [CI_CLIENT.id] }]);
    const before = await fx.issuedCount();
    expectRefused(await request(issuer), 400, 'invalid_grant');
    expect(host.outcomes.at(-1)).toMatchObject({ reason: 'no_rule_matched', clientId: CLIENT.id });
    expect(await fx.issuedCount()).toBe(before);
    const res = await request(issuer, {}, {}, CI_CLIENT);
    expect(res.status).toBe(200);
    expect(await auditOf(res.body.access_token)).toMatchObject({ client_id: CI_CLIENT.id, rule_name: 'ci-only' });
  });

  it('client.id in a condition is the authenticated client', async () => {
    const { issuer } = await idpWithRules([{ name: 'own-client', condition: "client.id == 'ci-client' && claims.env == 'prod'" }]);
    expectRefused(await request(issuer), 400, 'invalid_grant');
    expect((await request(issuer, {}, {}, CI_CLIENT)).status).toBe(200);
  });
});

describe('shadow rules and IdPs without enforced rules', () => {
  it('a shadow rule that would allow does not admit what the enforced rules refuse', async () => {
    const { issuer } = await idpWithRules([
      { name: 'prod', condition: "claims.env == 'prod'" },
      { name: 'shadow-anything', condition: 'true', mode: 'shadow' },
    ]);
    const before = await fx.issuedCount();
    expectRefused(await request(issuer, { env: 'dev' }), 400, 'invalid_grant');
    expect(host.outcomes.at(-1)).toMatchObject({ reason: 'no_rule_matched', shadow: 'would_allow', shadowRule: 'shadow-anything' });
    expect(await fx.issuedCount()).toBe(before);
  });

  it('a shadow rule that would deny does not refuse what an enforced rule admits, nor is it audited', async () => {
    const { issuer } = await idpWithRules([
      { name: 'prod', condition: "claims.env == 'prod'" },
      { name: 'shadow-nothing', condition: 'false', mode: 'shadow', position: -1 },
    ]);
    const res = await request(issuer);
    expect(res.status).toBe(200);
    expect((await auditOf(res.body.access_token)).rule_name).toBe('prod');
    expect(host.outcomes.at(-1)).toMatchObject({ outcome: 'issued', rule: 'prod', shadow: 'would_deny' });
    expect(host.outcomes.at(-1)?.shadowRule).toBeUndefined();
  });

  it('an IdP with only shadow rules behaves as one without rules: every valid assertion, sub as the user, no rule audited', async () => {
    const shadowOnly = await idpWithRules([{ name: 'shadow-prod', condition: "claims.env == 'prod'", mode: 'shadow' }]);
    const none = await idpWithRules([]);
    for (const { issuer } of [shadowOnly, none]) {
      const res = await request(issuer, { env: 'dev' });
      expect(res.status).toBe(200);
      expect(host.outcomes.at(-1)?.rule).toBeUndefined();
      expect(host.model.tokens.get(res.body.access_token).user.id).toBe('workload-1');
      expect(await auditOf(res.body.access_token)).toMatchObject({ subject: 'workload-1', rule_name: null });
    }
  });

  it('the default jwtIDP (no rules) is unchanged', async () => {
    const res = await postToken(host.app, grantForm(await fx.assertion()));
    expect(res.status).toBe(200);
    expect(await auditOf(res.body.access_token)).toMatchObject({ subject: 'admin', rule_name: null });
  });
});

describe('stored rules that do not compile', () => {
  it('admit nothing (fail closed), while the IdP’s other rules still work', async () => {
    const { issuer } = await idpWithRules([
      { name: 'broken', condition: "claims.env == 'prod' &&", position: 0 },
      { name: 'nested', condition: 'claims.groups.exists(g, claims.groups.exists(h, g == h))', position: 1 },
      { name: 'dev', condition: "claims.env == 'dev'", position: 2 },
    ]);
    expectRefused(await request(issuer, { groups: ['a'] }), 400, 'invalid_grant');
    expect(host.outcomes.at(-1)?.reason).toBe('no_rule_matched');
    const dev = await request(issuer, { env: 'dev' });
    expect((await auditOf(dev.body.access_token)).rule_name).toBe('dev');
  });
});

describe('changes to rules reach the cached configuration', () => {
  let statements: string[] = [];
  const listen = (q: { sql: string }) => statements.push(q.sql);
  beforeAll(() => fx.db.knex.on('query', listen));
  afterAll(() => fx.db.knex.off('query', listen));
  const idpReads = () => statements.filter((sql) => sql.includes('from jwt_bearer_identity_providers i')).length;

  it('insert, update and delete of a rule are in force at the next request, while unchanged config is served from memory', async () => {
    const owner = { repository_owner_id: '1342004' };
    const { issuer, idpId } = await idpWithRules([]);
    const github = async (over: Record<string, unknown> = {}) =>
      postToken(host.app, grantForm(await signAssertion(key, githubClaims(TOKEN_URL, { iss: issuer, ...over }))));
    await settleConfig(fx.db.knex);

    // No rules: anyone the issuer signs for.
    expect((await github({ repository_owner_id: '99' })).status).toBe(200);
    statements = [];
    expect((await github({ repository_owner_id: '99' })).status).toBe(200);
    expect(idpReads()).toBe(0); // served from the cache

    const ruleId = await insertRule(fx.db.knex, idpId, {
      name: 'owner',
      condition: `claims.repository_owner_id == '${owner.repository_owner_id}'`,
    });
    await settleConfig(fx.db.knex);
    expectRefused(await github({ repository_owner_id: '99' }), 400, 'invalid_grant');
    expect(host.outcomes.at(-1)?.reason).toBe('no_rule_matched');
    expect((await github(owner)).status).toBe(200);

    await fx.db.knex('jwt_bearer_idp_rules').where({ id: ruleId }).update({ condition: "claims.ref == 'refs/heads/release'" });
    await settleConfig(fx.db.knex);
    expectRefused(await github(owner), 400, 'invalid_grant');
    expect((await github({ ref: 'refs/heads/release' })).status).toBe(200);

    await fx.db.knex('jwt_bearer_idp_rules').where({ id: ruleId }).update({ mode: 'shadow' });
    await settleConfig(fx.db.knex);
    expect((await github({ repository_owner_id: '99' })).status).toBe(200);

    await fx.db.knex('jwt_bearer_idp_rules').where({ id: ruleId }).update({ mode: 'enforce' });
    await settleConfig(fx.db.knex);
    expectRefused(await github(owner), 400, 'invalid_grant');
    await fx.db.knex('jwt_bearer_idp_rules').where({ id: ruleId }).delete();
    await settleConfig(fx.db.knex);
    expect((await github(owner)).status).toBe(200);
  });
});
