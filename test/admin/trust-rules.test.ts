/**
 * lib/admin/README.md, trust rules: `/identity-providers/:id/rules` and `/rules/:ruleId`, rules created with
 * their IdP, the lint's warnings on every answer (docs/workload-identity.md), and `GET /rule-templates`.
 * Expressions are compiled on save: one that does not compile is a 400 naming the field and the position,
 * and nothing is written.
 */
import { instantiateTemplate, TRUST_RULE_TEMPLATES } from '../../lib/rules/templates';
import { assertionClaims, sharedSigningKey, signAssertion, TEST_AUDIENCE, type TestSigningKey } from '../helpers/keys';
import { createAdminFixture, inTenant, UNKNOWN_UUID, type AdminFixture } from './support';

const GITHUB = 'https://token.actions.githubusercontent.com';

let fx: AdminFixture;
let key: TestSigningKey;
let names = 0;
const fresh = () => `https://rules-${++names}.example.test`;

beforeAll(async () => {
  fx = await createAdminFixture();
  key = await sharedSigningKey('ES256');
  expect((await fx.admin('post', '/tenants').send({ domain: 'example.com' })).status).toBe(201);
});
afterAll(() => fx?.close());
afterEach(() => expect(fx.errors).toEqual([]));

/** A new IdP (with a certificate) in the default tenant, or in `tenant`; resolves to its id. */
async function createIdp(extra: Record<string, unknown> = {}, tenant?: string): Promise<string> {
  const path = tenant ? inTenant('/identity-providers', tenant) : '/identity-providers';
  const res = await fx.admin('post', path).send({ name: fresh(), certificates: [key.certificatePem], ...extra });
  expect(res.status).toBe(201);
  return res.body.id;
}

const rulesPath = (idpId: string, ruleId?: string) => `/identity-providers/${idpId}/rules${ruleId ? `/${ruleId}` : ''}`;
const addRule = (idpId: string, body: Record<string, unknown>) => fx.admin('post', rulesPath(idpId)).send(body);

async function ruleRows(idpId?: string): Promise<Array<Record<string, unknown>>> {
  const query = fx.db.knex('jwt_bearer_idp_rules').select('*').orderBy(['position', 'name']);
  return idpId ? query.where({ idp_id: idpId }) : query;
}

async function count(table: string): Promise<number> {
  return Number((await fx.db.knex(table).count({ n: '*' }))[0]!.n);
}

describe('POST /identity-providers/:id/rules', () => {
  it('creates the rule: 201, the rule with defaults and warnings, Location, the row, the IdP changed', async () => {
    const idpId = await createIdp();
    const before = (await fx.admin('get', `/identity-providers/${idpId}`)).body.updatedAt;
    const res = await addRule(idpId, { name: 'deploy', condition: "claims.sub == 'svc-deploy'" });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'deploy',
      condition: "claims.sub == 'svc-deploy'",
      subject: null,
      clients: [],
      scopes: null,
      mode: 'enforce',
      position: 0,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      warnings: [],
    });
    expect(res.headers.location).toBe(`/admin/identity-providers/${idpId}/rules/${res.body.id}`);
    expect(await ruleRows(idpId)).toEqual([
      expect.objectContaining({
        id: res.body.id,
        name: 'deploy',
        condition: "claims.sub == 'svc-deploy'",
        subject: null,
        clients: [],
        scopes: null,
        mode: 'enforce',
        position: 0,
      }),
    ]);
    const idp = await fx.admin('get', `/identity-providers/${idpId}`);
    const { warnings: _warnings, ...view } = res.body;
    expect(idp.body.rules).toEqual([view]);
    expect(Date.parse(idp.body.updatedAt)).toBeGreaterThan(Date.parse(before));
  });

  it('stores every field given, deduplicating lists', async () => {
    const idpId = await createIdp();
    const body = {
      name: 'ci',
      condition: "claims.aud == 'x' && client.id == 'app'",
      subject: "'ci:' + claims.sub",
      clients: ['app', 'app', 'other'],
      scopes: ['read:things', 'write', 'read:things'],
      mode: 'shadow',
      position: 7,
    };
    const res = await addRule(idpId, body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ...body, clients: ['app', 'other'], scopes: ['read:things', 'write'] });
    expect(await ruleRows(idpId)).toEqual([
      expect.objectContaining({
        subject: "'ci:' + claims.sub",
        clients: ['app', 'other'],
        scopes: ['read:things', 'write'],
        mode: 'shadow',
      }),
    ]);
  });

  it('puts a rule without a position after the last one', async () => {
    const idpId = await createIdp();
    expect((await addRule(idpId, { name: 'b', condition: 'true' })).body.position).toBe(0);
    expect((await addRule(idpId, { name: 'a', condition: 'true' })).body.position).toBe(1);
    expect((await addRule(idpId, { name: 'z', condition: 'true', position: 10 })).body.position).toBe(10);
    expect((await addRule(idpId, { name: 'c', condition: 'true' })).body.position).toBe(11);
    expect((await addRule(idpId, { name: 'first', condition: 'true', position: 0 })).body.position).toBe(0);
    const list = await fx.admin('get', rulesPath(idpId));
    expect(list.status).toBe(200);
    expect(list.body.map((r: { name: string; position: number }) => [r.position, r.name])).toEqual([
      [0, 'b'],
      [0, 'first'],
      [1, 'a'],
      [10, 'z'],
      [11, 'c'],
    ]);
  });

  it.each([
    ["claims.sub == 'x' &&", 'condition', { start: 20, end: 20 }, /^condition: Unexpected token: EOF at position 20\.$/],
    ["claims.sub == 'x' && foo == 1", 'condition', { start: 21, end: 24 }, /^condition: Unknown variable: foo at position 21\.$/],
    ["'abc' + claims.sub", 'condition', { start: 0, end: 18 }, /^condition: condition must be of type bool, not string\.$/],
    ["1 + 'a' == 'b'", 'condition', { start: 0, end: 7 }, /^condition: no such overload: int \+ string at position 0\.$/],
  ])(
    'refuses a condition that does not compile (%j): 400 with field and position; nothing written',
    async (condition, field, position, message) => {
      const idpId = await createIdp();
      const res = await addRule(idpId, { name: 'bad', condition });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(message), field, position });
      expect(await ruleRows(idpId)).toEqual([]);
    },
  );

  it('refuses a subject that does not compile or is not a string, naming subject', async () => {
    const idpId = await createIdp();
    const notString = await addRule(idpId, { name: 'r', condition: 'true', subject: "claims.sub == 'x'" });
    expect(notString.status).toBe(400);
    expect(notString.body).toEqual({
      error: 'invalid_request',
      error_description: 'subject: subject must be of type string, not bool.',
      field: 'subject',
      position: { start: 0, end: 17 },
    });
    const broken = await addRule(idpId, { name: 'r', condition: 'true', subject: "'a' + " });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ field: 'subject', position: { start: 6, end: 6 } });
    expect(await ruleRows(idpId)).toEqual([]);
  });

  it.each([
    [{ condition: 'true' }, 'name', /name must be a string/],
    [{ name: 'r' }, 'condition', /condition must be a string/],
    [{ name: 'r', condition: '   ' }, 'condition', /^condition must not be empty\.$/],
    [{ name: 'r', condition: `claims.a == '${'x'.repeat(4090)}'`.slice(0, 4097) }, 'condition', /must be at most 4096 characters/],
    [{ name: ' r', condition: 'true' }, 'name', /must not begin or end with whitespace/],
    [{ name: 'a\nb', condition: 'true' }, 'name', /control characters/],
    [{ name: 'r', condition: 'true', mode: 'audit' }, 'mode', /^mode must be "enforce" or "shadow"\.$/],
    [{ name: 'r', condition: 'true', position: -1 }, 'position', /must be zero or a positive integer/],
    [{ name: 'r', condition: 'true', position: 1.5 }, 'position', /must be an integer/],
    [{ name: 'r', condition: 'true', clients: 'app' }, 'clients', /clients must be an array/],
    [{ name: 'r', condition: 'true', clients: [''] }, 'clients[0]', /must not be empty/],
    [{ name: 'r', condition: 'true', scopes: ['read write'] }, 'scopes[0]', /scope token \(RFC 6749 §3\.3/],
    [{ name: 'r', condition: 'true', scopes: ['"q"'] }, 'scopes[0]', /scope token/],
    [{ name: 'r', condition: 'true', subject: 42 }, 'subject', /subject must be a string/],
    [{ name: 'r', condition: 'true', enabled: true }, 'enabled', /^Unknown field "enabled"\.$/],
    [{ name: 'r', condition: true }, 'condition', /condition must be a string/],
  ])('refuses a body with a 400 naming the field (%#)', async (body, field, message) => {
    const idpId = await createIdp();
    const res = await addRule(idpId, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(message), field });
    expect(await ruleRows(idpId)).toEqual([]);
  });

  it('refuses a name the IdP already has with 409; another IdP may use it', async () => {
    const idpId = await createIdp();
    expect((await addRule(idpId, { name: 'deploy', condition: 'true' })).status).toBe(201);
    const again = await addRule(idpId, { name: 'deploy', condition: "claims.sub == 'x'" });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: 'conflict',
      error_description: 'This identity provider already has a trust rule named "deploy".',
      field: 'name',
    });
    expect((await ruleRows(idpId)).map((r) => r.condition)).toEqual(['true']);
    expect((await addRule(await createIdp(), { name: 'deploy', condition: 'true' })).status).toBe(201);
  });

  it('answers 404 for an IdP of another tenant, an unknown id and a non-UUID, and writes nothing', async () => {
    const elsewhere = await createIdp({}, 'example.com');
    const before = await count('jwt_bearer_idp_rules');
    for (const id of [elsewhere, UNKNOWN_UUID, 'not-a-uuid']) {
      const res = await addRule(id, { name: 'r', condition: 'true' });
      expect({ id, status: res.status, body: res.body }).toEqual({
        id,
        status: 404,
        body: { error: 'not_found', error_description: 'No identity provider with this id in this tenant.' },
      });
      expect((await fx.admin('get', rulesPath(id))).status).toBe(404);
    }
    expect(await count('jwt_bearer_idp_rules')).toBe(before);
    // In its own tenant it takes the rule.
    expect((await fx.admin('post', inTenant(rulesPath(elsewhere), 'example.com')).send({ name: 'r', condition: 'true' })).status).toBe(201);
  });

  it('bounds the number of rules of one IdP', async () => {
    const rules = Array.from({ length: 100 }, (_, i) => ({ name: `r${i}`, condition: `claims.n == ${i}` }));
    const idpId = await createIdp({ rules });
    const res = await addRule(idpId, { name: 'one-too-many', condition: 'true' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'An identity provider has at most 100 trust rules; this one has 100. Merge rules, or remove one first.',
      field: 'name',
    });
    expect((await ruleRows(idpId)).length).toBe(100);
  });

  it('answers 405 with Allow for another method', async () => {
    const idpId = await createIdp();
    const res = await fx.admin('put', rulesPath(idpId)).send({});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, POST');
  });
});

describe('GET, PATCH, DELETE /identity-providers/:id/rules/:ruleId', () => {
  let idpId: string;
  let ruleId: string;
  let otherRuleId: string;

  beforeAll(async () => {
    idpId = await createIdp();
    ruleId = (await addRule(idpId, { name: 'deploy', condition: "claims.sub == 'a'", scopes: ['read'] })).body.id;
    otherRuleId = (await addRule(await createIdp(), { name: 'elsewhere', condition: 'true' })).body.id;
  });

  it('GET answers the rule with its warnings', async () => {
    const res = await fx.admin('get', rulesPath(idpId, ruleId));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: ruleId, name: 'deploy', condition: "claims.sub == 'a'", scopes: ['read'], warnings: [] });
    // Case does not matter in a UUID.
    expect((await fx.admin('get', rulesPath(idpId, ruleId.toUpperCase()))).body.id).toBe(ruleId);
  });

  it('PATCH sets the given fields only; null resets subject and scopes; updatedAt moves', async () => {
    const before = (await fx.admin('get', rulesPath(idpId, ruleId))).body;
    const res = await fx.admin('patch', rulesPath(idpId, ruleId)).send({
      condition: "claims.sub in ['a', 'b']",
      subject: "'svc:' + claims.sub",
      clients: ['app'],
      mode: 'shadow',
      position: 3,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...before,
      condition: "claims.sub in ['a', 'b']",
      subject: "'svc:' + claims.sub",
      clients: ['app'],
      mode: 'shadow',
      position: 3,
      updatedAt: expect.any(String),
    });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
    const reset = await fx.admin('patch', rulesPath(idpId, ruleId)).send({ subject: null, scopes: null, name: 'deploy-2' });
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ name: 'deploy-2', subject: null, scopes: null, clients: ['app'], mode: 'shadow' });
    expect(await ruleRows(idpId)).toEqual([expect.objectContaining({ name: 'deploy-2', subject: null, scopes: null })]);
  });

  it('PATCH refuses an expression that does not compile, a taken name, bad fields; the rule is unchanged', async () => {
    await addRule(idpId, { name: 'taken', condition: 'true' });
    const before = await ruleRows(idpId);
    const broken = await fx.admin('patch', rulesPath(idpId, ruleId)).send({ condition: "claims.sub == 'a' ||" });
    expect(broken.status).toBe(400);
    expect(broken.body).toEqual({
      error: 'invalid_request',
      error_description: 'condition: Unexpected token: EOF at position 20.',
      field: 'condition',
      position: { start: 20, end: 20 },
    });
    const taken = await fx.admin('patch', rulesPath(idpId, ruleId)).send({ name: 'taken' });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ error: 'conflict', field: 'name' });
    const nullCondition = await fx.admin('patch', rulesPath(idpId, ruleId)).send({ condition: null });
    expect(nullCondition.status).toBe(400);
    expect(nullCondition.body).toMatchObject({
      field: 'condition',
      error_description: 'condition must be a string (null is not allowed here).',
    });
    const unknown = await fx.admin('patch', rulesPath(idpId, ruleId)).send({ idpId: UNKNOWN_UUID });
    expect(unknown.status).toBe(400);
    expect(await ruleRows(idpId)).toEqual(before);
  });

  it("answers 404 for another IdP's rule, an unknown or malformed rule id, and another tenant", async () => {
    for (const id of [otherRuleId, UNKNOWN_UUID, 'nope']) {
      for (const [method, body] of [
        ['get', undefined],
        ['patch', { mode: 'enforce' }],
        ['delete', undefined],
      ] as const) {
        const res = await fx.admin(method, rulesPath(idpId, id)).send(body);
        expect({ id, method, status: res.status, body: res.body }).toEqual({
          id,
          method,
          status: 404,
          body: { error: 'not_found', error_description: 'This identity provider has no trust rule with this id.' },
        });
      }
    }
    const otherTenant = await fx.admin('get', inTenant(rulesPath(idpId, ruleId), 'example.com'));
    expect(otherTenant.status).toBe(404);
    expect(otherTenant.body.error_description).toBe('No identity provider with this id in this tenant.');
    expect(await count('jwt_bearer_idp_rules')).toBeGreaterThan(0);
    expect((await fx.db.knex('jwt_bearer_idp_rules').where({ id: otherRuleId }).first()).mode).toBe('enforce');
  });

  it('DELETE removes the rule (204); then it is 404', async () => {
    const id = (await addRule(idpId, { name: 'temporary', condition: 'true' })).body.id;
    const res = await fx.admin('delete', rulesPath(idpId, id));
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await fx.db.knex('jwt_bearer_idp_rules').where({ id }).first()).toBeUndefined();
    expect((await fx.admin('get', rulesPath(idpId, id))).status).toBe(404);
    expect((await fx.admin('delete', rulesPath(idpId, id))).status).toBe(404);
  });
});

describe('rules created with their IdP (POST /identity-providers {rules})', () => {
  it('creates the IdP and its rules in one transaction, in the order given', async () => {
    const name = fresh();
    const res = await fx.admin('post', '/identity-providers').send({
      name,
      certificates: [key.certificatePem],
      rules: [
        { name: 'second', condition: "claims.sub == 'b'", position: 5 },
        { name: 'third', condition: "claims.sub == 'c'" },
        { name: 'first', condition: "claims.sub == 'a'", position: 1, mode: 'shadow', scopes: ['read'] },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body.rules.map((r: { name: string; position: number; mode: string }) => [r.name, r.position, r.mode])).toEqual([
      ['first', 1, 'shadow'],
      ['second', 5, 'enforce'],
      ['third', 6, 'enforce'],
    ]);
    expect(res.body.warnings).toEqual([]);
    expect((await ruleRows(res.body.id)).map((r) => r.name)).toEqual(['first', 'second', 'third']);
  });

  it('refuses the whole body for one rule that does not compile: 400 naming rules[i].condition; nothing written', async () => {
    const name = fresh();
    const [idps, rules] = [await count('jwt_bearer_identity_providers'), await count('jwt_bearer_idp_rules')];
    const res = await fx.admin('post', '/identity-providers').send({
      name,
      certificates: [key.certificatePem],
      rules: [
        { name: 'good', condition: 'true' },
        { name: 'bad', condition: "claims.sub == 'a'", subject: 'claims.sub +' },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'rules[1].subject: Unexpected token: EOF at position 12.',
      field: 'rules[1].subject',
      position: { start: 12, end: 12 },
    });
    expect(await count('jwt_bearer_identity_providers')).toBe(idps);
    expect(await count('jwt_bearer_idp_rules')).toBe(rules);
    expect(await fx.db.knex('jwt_bearer_identity_providers').where({ name }).first()).toBeUndefined();
  });

  it('refuses two rules of one name in the body (400 naming the second) and an invalid rule field', async () => {
    const idps = await count('jwt_bearer_identity_providers');
    const twice = await fx.admin('post', '/identity-providers').send({
      name: fresh(),
      certificates: [key.certificatePem],
      rules: [
        { name: 'same', condition: 'true' },
        { name: 'same', condition: 'false' },
      ],
    });
    expect(twice.status).toBe(400);
    expect(twice.body).toEqual({
      error: 'invalid_request',
      error_description: 'rules[1].name repeats the name of rules[0].',
      field: 'rules[1].name',
    });
    const badMode = await fx.admin('post', '/identity-providers').send({
      name: fresh(),
      certificates: [key.certificatePem],
      rules: [{ name: 'r', condition: 'true', mode: 'off' }],
    });
    expect(badMode.status).toBe(400);
    expect(badMode.body.field).toBe('rules[0].mode');
    expect(await count('jwt_bearer_identity_providers')).toBe(idps);
  });

  it('PATCH /identity-providers/:id does not take rules (they have their own resource)', async () => {
    const idpId = await createIdp();
    const res = await fx.admin('patch', `/identity-providers/${idpId}`).send({ rules: [] });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Unknown field "rules".', field: 'rules' });
  });
});

describe('warnings of the lint on every IdP and rule answer', () => {
  // One GitHub IdP per tenant: the name is the issuer.
  const tenants = ['gh-1.example', 'gh-2.example', 'gh-3.example'];
  beforeAll(async () => {
    for (const domain of tenants) expect((await fx.admin('post', '/tenants').send({ domain })).status).toBe(201);
  });

  it('a GitHub IdP without rules warns shared_issuer_no_rules on POST, GET, PATCH and the list; it is still saved', async () => {
    const created = await fx.admin('post', inTenant('/identity-providers', tenants[0]!)).send({ name: GITHUB, discoveryUrl: true });
    expect(created.status).toBe(201);
    const expected = [
      {
        code: 'shared_issuer_no_rules',
        message: expect.stringMatching(/^https:\/\/token\.actions\.githubusercontent\.com signs tokens for every GitHub customer/),
      },
    ];
    expect(created.body.warnings).toEqual(expected);
    expect(created.body.discoveryUrl).toBe(`${GITHUB}/.well-known/openid-configuration`);
    const id = created.body.id;
    expect((await fx.admin('get', inTenant(`/identity-providers/${id}`, tenants[0]!))).body.warnings).toEqual(expected);
    expect((await fx.admin('patch', inTenant(`/identity-providers/${id}`, tenants[0]!)).send({ displayName: 'GH' })).body.warnings).toEqual(
      expected,
    );
    const list = await fx.admin('get', inTenant('/identity-providers', tenants[0]!));
    expect(list.body.map((idp: { warnings: unknown }) => idp.warnings)).toEqual([expected]);

    // A shadow rule alone still leaves the issuer open: the rule answer carries the IdP-wide warning too.
    const shadow = await fx
      .admin('post', inTenant(rulesPath(id), tenants[0]!))
      .send({ name: 'watch', condition: "claims.repository_owner_id == '1342004'", mode: 'shadow' });
    expect(shadow.status).toBe(201);
    expect(shadow.body.warnings).toEqual(expected);
  });

  it('a rule binding names only is saved with owner_id_unbound and mutable_name_only; fixing it clears them', async () => {
    const idp = await fx
      .admin('post', inTenant('/identity-providers', tenants[1]!))
      .send({ name: GITHUB, certificates: [key.certificatePem] });
    const path = (p: string) => inTenant(p, tenants[1]!);
    const res = await fx
      .admin('post', path(rulesPath(idp.body.id)))
      .send({ name: 'by-name', condition: "claims.repository_owner == 'octo-org' && claims.ref == 'refs/heads/main'" });
    expect(res.status).toBe(201);
    expect(res.body.warnings).toEqual([
      { code: 'owner_id_unbound', rule: 'by-name', message: expect.stringContaining('does not bind claims.repository_owner_id') },
      {
        code: 'mutable_name_only',
        rule: 'by-name',
        message: expect.stringContaining('binds repository_owner by name without repository_owner_id'),
      },
    ]);
    expect(await ruleRows(idp.body.id)).toHaveLength(1);
    // The IdP answer lists the rule's warnings, naming it.
    const read = await fx.admin('get', path(`/identity-providers/${idp.body.id}`));
    expect(read.body.warnings.map((w: { code: string; rule?: string }) => [w.code, w.rule])).toEqual([
      ['owner_id_unbound', 'by-name'],
      ['mutable_name_only', 'by-name'],
    ]);
    const fixed = await fx
      .admin('patch', path(rulesPath(idp.body.id, res.body.id)))
      .send({ condition: "claims.repository_owner_id == '1342004' && claims.ref == 'refs/heads/main'" });
    expect(fixed.status).toBe(200);
    expect(fixed.body.warnings).toEqual([]);
    // Each rule of the list carries its own warnings only.
    await fx.admin('post', path(rulesPath(idp.body.id))).send({ name: 'loose', condition: "claims.ref == 'refs/heads/main'" });
    const list = await fx.admin('get', path(rulesPath(idp.body.id)));
    expect(list.body.map((r: { name: string; warnings: Array<{ code: string }> }) => [r.name, r.warnings.map((w) => w.code)])).toEqual([
      ['by-name', []],
      ['loose', ['owner_id_unbound']],
    ]);
  });

  it('the GitHub template, filled in, is saved without warnings', async () => {
    const template = TRUST_RULE_TEMPLATES.find((t) => t.id === 'github-actions')!;
    const rule = instantiateTemplate(template.id, { OWNER_ID: '1342004', REPOSITORY_ID: '17273051', REF: 'refs/heads/main' });
    const res = await fx.admin('post', inTenant('/identity-providers', tenants[2]!)).send({
      name: template.issuer,
      discoveryUrl: template.identityProvider.discovery,
      replayPolicy: template.identityProvider.replayPolicy,
      maxAssertionLifetimeSeconds: template.identityProvider.maxAssertionLifetimeSeconds,
      rules: [rule],
    });
    expect(res.status).toBe(201);
    expect(res.body.warnings).toEqual([]);
    expect(res.body.rules).toEqual([expect.objectContaining({ ...rule, position: 0, mode: 'enforce' })]);
  });
});

describe('rules written through the API are in force at once', () => {
  it('the dry run refuses an assertion no rule admits (no_rule_matched) and accepts one a rule admits', async () => {
    const issuer = fresh();
    const res = await fx
      .admin('post', '/identity-providers')
      .send({ name: issuer, certificates: [key.certificatePem], aliases: [TEST_AUDIENCE] });
    const sign = (sub: string) => signAssertion(key, assertionClaims({ iss: issuer, sub }));
    expect((await fx.admin('post', '/assertions/validate').send({ assertion: await sign('alice') })).body).toMatchObject({ valid: true });

    const rule = await addRule(res.body.id, { name: 'only-bob', condition: "claims.sub == 'bob'" });
    expect(rule.status).toBe(201);
    const refused = await fx.admin('post', '/assertions/validate').send({ assertion: await sign('alice') });
    expect(refused.body).toMatchObject({ valid: false, reason: 'no_rule_matched' });
    const admitted = await fx.admin('post', '/assertions/validate').send({ assertion: await sign('bob') });
    expect(admitted.body).toMatchObject({ valid: true });

    expect((await fx.admin('delete', rulesPath(res.body.id, rule.body.id))).status).toBe(204);
    expect((await fx.admin('post', '/assertions/validate').send({ assertion: await sign('alice') })).body).toMatchObject({ valid: true });
  });
});

describe('GET /rule-templates', () => {
  it('answers the templates, and refuses a query', async () => {
    const res = await fx.admin('get', '/rule-templates');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual(JSON.parse(JSON.stringify(TRUST_RULE_TEMPLATES)));
    expect(res.body.map((t: { id: string }) => t.id)).toEqual(['github-actions', 'gitlab-ci', 'kubernetes-service-account']);
    const query = await fx.admin('get', '/rule-templates?tenantDomain=carbon.super');
    expect(query.status).toBe(400);
    expect(query.body).toMatchObject({ error: 'invalid_request', field: 'tenantDomain' });
    expect((await fx.admin('post', '/rule-templates').send({})).status).toBe(405);
  });
});
