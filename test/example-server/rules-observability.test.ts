/**
 * Trust rules as operators see them through the example server (docs/workload-identity.md, docs/http.md
 * "Outcome events"): the admitting rule and the shadow rules' verdict in the one log line per token request
 * and in `/metrics`; and shadow rules changing no answer.
 */
import type { Knex } from 'knex';
import request from 'supertest';
import type { TestSigningKey } from '../helpers/keys';
import { createExampleFixture, type Application, type ExampleFixture } from './fixture';

interface RuleRow {
  name: string;
  condition: string;
  mode: 'enforce' | 'shadow';
  position?: number;
  scopes?: string[] | null;
}

/** Writes rules straight into the table (the admin API for rules is not under test here). */
async function insertRules(knex: Knex, idpName: string, rules: RuleRow[]): Promise<void> {
  const idp = await knex('jwt_bearer_identity_providers').where({ name: idpName }).first('id');
  for (const rule of rules) {
    await knex('jwt_bearer_idp_rules').insert({
      idp_id: idp.id,
      name: rule.name,
      condition: rule.condition,
      mode: rule.mode,
      position: rule.position ?? 0,
      scopes: rule.scopes ?? null,
    });
  }
}

const MAIN_OF_1001 = "claims.repository_owner_id == '1001' && claims.ref == 'refs/heads/main'";
const PROD_ONLY = "claims.environment == 'prod'";
const GITHUB_LIKE = { repository_owner_id: '1001', ref: 'refs/heads/main' };

/** The token request lines of the log, oldest first. */
function tokenLines(fx: ExampleFixture): Array<Record<string, unknown>> {
  return fx.logs.filter((line) => line.event === 'token_request');
}

/** The value of one sample of `/metrics`, or undefined when the series does not exist. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('example server: trust rules in the log line and the metrics', () => {
  let fx: ExampleFixture;
  let app: Application;
  let gh: TestSigningKey;
  let plain: TestSigningKey;

  beforeAll(async () => {
    fx = await createExampleFixture();
    app = await fx.createApplication();
    gh = await fx.registerIdp('ghIDP');
    plain = await fx.registerIdp('plainIDP');
    // Before the first token request of the IdP, so no cached configuration predates them.
    await insertRules(fx.db.knex, 'ghIDP', [
      { name: 'main-branch', condition: MAIN_OF_1001, mode: 'enforce', scopes: ['deploy'] },
      { name: 'prod-only', condition: PROD_ONLY, mode: 'shadow' },
    ]);
  });
  afterAll(() => fx.close());

  it('an issued token: its line names the rule, the shadow verdict would_allow and the shadow rule', async () => {
    const res = await fx.token(app, await fx.assertion(gh, 'ghIDP', { ...GITHUB_LIKE, environment: 'prod' }));
    expect(res.status).toBe(200);
    expect(res.body.access_token).toEqual(expect.any(String));
    const line = tokenLines(fx).at(-1)!;
    expect(line).toMatchObject({
      outcome: 'issued',
      status: 200,
      issuer: 'ghIDP',
      clientId: app.clientId,
      rule: 'main-branch',
      shadow: 'would_allow',
      shadowRule: 'prod-only',
    });
    // The audit row names the rule too (the log and the database agree).
    const audit = await fx.db.knex('jwt_bearer_issued_tokens').select('rule_name');
    expect(audit.map((row) => row.rule_name)).toEqual(['main-branch']);
  });

  it('an issued token the shadow rules would refuse: would_deny, no shadow rule', async () => {
    // No `environment` claim: the shadow condition fails to evaluate, which is "does not match".
    const res = await fx.token(app, await fx.assertion(gh, 'ghIDP', GITHUB_LIKE));
    expect(res.status).toBe(200);
    const line = tokenLines(fx).at(-1)!;
    expect(line).toMatchObject({ outcome: 'issued', rule: 'main-branch', shadow: 'would_deny' });
    expect(line).not.toHaveProperty('shadowRule');
  });

  it('no_rule_matched: refused with the reason, no token, no rule, and the shadow verdict still reported', async () => {
    const res = await fx.token(
      app,
      await fx.assertion(gh, 'ghIDP', { repository_owner_id: '999', ref: 'refs/heads/main', environment: 'prod' }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect(res.body).not.toHaveProperty('access_token');
    const line = tokenLines(fx).at(-1)!;
    expect(line).toMatchObject({
      outcome: 'refused',
      status: 400,
      error: 'invalid_grant',
      reason: 'no_rule_matched',
      issuer: 'ghIDP',
      shadow: 'would_allow',
      shadowRule: 'prod-only',
    });
    expect(line).not.toHaveProperty('rule');
  });

  it('a refusal after the rules (a scope the rule does not allow) names the rule that admitted the assertion', async () => {
    const assertion = await fx.assertion(gh, 'ghIDP', GITHUB_LIKE);
    const res = await request(fx.app)
      .post('/oauth2/token')
      .auth(app.clientId, app.clientSecret)
      .type('form')
      .send(new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion, scope: 'admin' }).toString());
    expect(res.status).toBe(400);
    expect(res.body).not.toHaveProperty('access_token');
    const line = tokenLines(fx).at(-1)!;
    expect(line).toMatchObject({ outcome: 'refused', reason: 'scope_not_allowed', rule: 'main-branch', shadow: 'would_deny' });
  });

  it('an IdP without rules: no rule or shadow field in its line', async () => {
    const res = await fx.token(app, await fx.assertion(plain, 'plainIDP', GITHUB_LIKE));
    expect(res.status).toBe(200);
    const line = tokenLines(fx).at(-1)!;
    expect(line).toMatchObject({ outcome: 'issued', issuer: 'plainIDP' });
    for (const field of ['rule', 'shadow', 'shadowRule']) expect(line).not.toHaveProperty(field);
  });

  it('/metrics counts issued tokens by IdP and rule, and shadow verdicts by IdP and decision, issued or refused', async () => {
    const text = (await request(fx.app).get('/metrics')).text;
    expect(text).toContain('# TYPE jwt_bearer_rule_matches_total counter');
    expect(text).toContain('# TYPE jwt_bearer_shadow_decisions_total counter');
    // Two tokens issued under the rule; the scope refusal after it is not a match counted as issued.
    expect(sample(text, 'jwt_bearer_rule_matches_total{idp="ghIDP",rule="main-branch"}')).toBe(2);
    // would_allow: the first token and the no_rule_matched refusal; would_deny: the second token and the scope refusal.
    expect(sample(text, 'jwt_bearer_shadow_decisions_total{idp="ghIDP",decision="would_allow"}')).toBe(2);
    expect(sample(text, 'jwt_bearer_shadow_decisions_total{idp="ghIDP",decision="would_deny"}')).toBe(2);
    expect(sample(text, 'oauth2_token_requests_total{grant_type="jwt-bearer",outcome="refused",reason="no_rule_matched"}')).toBe(1);
    // Labels come from the configuration only: no series for the rule-less IdP, nothing of the assertion.
    const series = text.split('\n').filter((l) => l.startsWith('jwt_bearer_'));
    expect(series).toHaveLength(3);
    expect(series.join('\n')).not.toMatch(/plainIDP|1001|999|refs|prod"/);
  });
});

describe('example server: shadow rules change no answer', () => {
  let fx: ExampleFixture;
  let app: Application;
  const keys: Record<string, TestSigningKey> = {};

  // Each pair is alike but for its shadow rules: one of them matches some requests, one matches none.
  const SHADOW: RuleRow[] = [
    { name: 'shadow-prod', condition: PROD_ONLY, mode: 'shadow' },
    { name: 'shadow-never', condition: "claims.repository_owner_id == 'nobody'", mode: 'shadow', position: 1 },
  ];
  const ENFORCED: RuleRow[] = [{ name: 'main-branch', condition: MAIN_OF_1001, mode: 'enforce', scopes: ['deploy'] }];

  beforeAll(async () => {
    fx = await createExampleFixture();
    app = await fx.createApplication();
    for (const name of ['enforced', 'enforced-shadowed', 'open', 'open-shadowed']) keys[name] = await fx.registerIdp(name);
    await insertRules(fx.db.knex, 'enforced', ENFORCED);
    await insertRules(fx.db.knex, 'enforced-shadowed', [...ENFORCED, ...SHADOW]);
    await insertRules(fx.db.knex, 'open-shadowed', SHADOW);
  });
  afterAll(() => fx.close());

  /** Status, OAuth error and the set of body fields: what a client can tell apart. */
  async function answer(idp: string, claims: Record<string, unknown>, scope?: string) {
    const assertion = await fx.assertion(keys[idp]!, idp, claims);
    const form: Record<string, string> = { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion };
    if (scope) form.scope = scope;
    const res = await request(fx.app)
      .post('/oauth2/token')
      .auth(app.clientId, app.clientSecret)
      .type('form')
      .send(new URLSearchParams(form).toString());
    const line = tokenLines(fx).at(-1)!;
    return {
      answer: { status: res.status, error: res.body.error, description: res.body.error_description, fields: Object.keys(res.body).sort() },
      reason: line.reason,
      shadow: line.shadow,
    };
  }

  // Objects, not rows: a row shorter than the test function's parameters would make Jest pass `done`.
  const REQUESTS: Array<{ name: string; claims: Record<string, unknown>; scope?: string }> = [
    { name: 'admitted, shadow would allow', claims: { ...GITHUB_LIKE, environment: 'prod' } },
    { name: 'admitted, shadow would deny', claims: GITHUB_LIKE },
    {
      name: 'no enforced rule matches, shadow would allow',
      claims: { repository_owner_id: '999', ref: 'refs/heads/main', environment: 'prod' },
    },
    { name: 'no enforced rule matches, shadow would deny', claims: { repository_owner_id: '999' } },
    { name: 'a scope the rule does not allow', claims: GITHUB_LIKE, scope: 'admin' },
    { name: 'the scope the rule allows', claims: { ...GITHUB_LIKE, environment: 'prod' }, scope: 'deploy' },
  ];

  it.each(REQUESTS)('enforced rules: $name — the same answer with and without shadow rules', async ({ claims, scope }) => {
    const without = await answer('enforced', claims, scope);
    const withShadow = await answer('enforced-shadowed', claims, scope);
    expect(withShadow.answer).toEqual(without.answer);
    expect(withShadow.reason).toBe(without.reason);
    expect(without.shadow).toBeUndefined();
    expect(withShadow.shadow).toBe(claims.environment === 'prod' ? 'would_allow' : 'would_deny');
  });

  it.each(REQUESTS)('no enforced rules: $name — the same answer with and without shadow rules', async ({ claims, scope }) => {
    const without = await answer('open', claims, scope);
    const withShadow = await answer('open-shadowed', claims, scope);
    expect(withShadow.answer).toEqual(without.answer);
    expect(withShadow.reason).toBe(without.reason);
    // A shadow would_deny refuses nothing: without enforced rules every one of these is issued.
    expect(withShadow.answer.status).toBe(200);
    expect(withShadow.answer.fields).toContain('access_token');
    expect(withShadow.shadow).toBe(claims.environment === 'prod' ? 'would_allow' : 'would_deny');
  });

  it('the answers of the enforced pair are what the rule decides (the comparison above compares something)', async () => {
    expect((await answer('enforced-shadowed', GITHUB_LIKE)).answer.status).toBe(200);
    const refused = await answer('enforced-shadowed', { repository_owner_id: '999', environment: 'prod' });
    expect(refused.answer).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(refused.answer.fields).not.toContain('access_token');
    expect(refused.reason).toBe('no_rule_matched');
  });
});
