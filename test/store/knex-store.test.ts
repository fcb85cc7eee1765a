/** KnexGrantStore: every method, replay semantics (docs/validation.md step 9), and "unavailable" on every failure. */
import { randomUUID } from 'node:crypto';
import { StoreUnavailableError } from '../../lib/errors';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { toIssuedTokenRecord, type IssuedTokenRow } from '../../lib/store/rows';
import type { IssuanceInput } from '../../lib/store/types';
import type { IdentityProviderRecord } from '../../lib/types';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { IDP_DEFAULTS } from '../helpers/records';
import { insertIdp, issuance } from './fixtures';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOW = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

let db: TestDatabase;
let store: KnexGrantStore;
let tenantId: string;
let otherTenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new KnexGrantStore(db.knex);
  tenantId = (await db.knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
  [{ id: otherTenantId }] = await db.knex('jwt_bearer_tenants').insert({ domain: 'other.example' }).returning('id');
});
afterAll(() => db?.close());

async function auditRows(where: Record<string, unknown> = {}) {
  const rows: IssuedTokenRow[] = await db.knex('jwt_bearer_issued_tokens').where(where).orderBy('issued_at').orderBy('access_token_sha256');
  return rows.map(toIssuedTokenRecord);
}

/** The one audit row matching `where`; fails the test when there is not exactly one. */
async function onlyAuditRow(where: Record<string, unknown>) {
  const rows = await auditRows(where);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

/** The replay records of the IdP with this row id: they are keyed by its tenant and name, not by the row. */
async function replayRows(idpId: string) {
  const rows = await db
    .knex('jwt_bearer_used_assertions as u')
    .join('jwt_bearer_identity_providers as i', (on) => on.on('i.tenant_id', 'u.tenant_id').andOn('i.name', 'u.idp_name'))
    .where('i.id', idpId)
    .orderBy('u.jti')
    .select('u.jti', 'u.expires_at');
  return rows.map((r: { jti: string; expires_at: Date }) => ({ jti: r.jti, expiresAt: r.expires_at }));
}

describe('constructor', () => {
  it('refuses something that is not a knex', () => {
    expect(() => new KnexGrantStore({} as never)).toThrow(
      'new KnexGrantStore(knex): knex must be a Knex instance, e.g. from openDatabase().',
    );
  });
});

describe('findTenant', () => {
  it('finds a tenant by its exact domain', async () => {
    expect(await store.findTenant('carbon.super')).toEqual({ id: tenantId, domain: 'carbon.super' });
    expect(tenantId).toMatch(UUID);
    expect(await store.findTenant('other.example')).toEqual({ id: otherTenantId, domain: 'other.example' });
  });

  it('answers null for an unknown, differently cased, or unstorable domain', async () => {
    expect(await store.findTenant('unknown.example')).toBeNull();
    expect(await store.findTenant('CARBON.SUPER')).toBeNull();
    expect(await store.findTenant('carbon.super\0')).toBeNull();
  });
});

describe('identity providers', () => {
  let fullId: string;
  let full: IdentityProviderRecord;

  beforeAll(async () => {
    fullId = await insertIdp(db.knex, {
      tenant_id: tenantId,
      name: 'https://idp.example/full',
      display_name: 'Full IdP',
      enabled: true,
      algorithms: ['RS256', 'ES256'],
      jwks_uri: 'https://idp.example/jwks',
      require_jti: false,
      max_assertion_lifetime_seconds: 600,
      iat_max_age_seconds: 300,
      clock_skew_seconds: 5,
      allowed_subjects: ['alice', 'bob'],
      allowed_clients: ['client-1'],
      allowed_scopes: [],
      issue_refresh_token: false,
      // separate statements, so each gets its own created_at: the order they were added
      aliases: ['https://token.example/zeta', 'https://token.example/alpha'],
      certificates: [
        {
          pem: 'PEM-1',
          thumbprint: 'T1',
          subject: 'CN=one',
          not_before: new Date('2024-01-02T03:04:05.678Z'),
          not_after: new Date('2034-01-02T03:04:05.999Z'),
          kid: 'k1',
        },
        {
          pem: 'PEM-2',
          thumbprint: 'T2',
          subject: 'CN=two',
          not_before: new Date('2020-01-01T00:00:00.000Z'),
          not_after: new Date('2021-01-01T00:00:00.001Z'),
          kid: null,
        },
      ],
    });
    const row = await db.knex('jwt_bearer_identity_providers').where({ id: fullId }).first('created_at', 'updated_at');
    const certIds = await db.knex('jwt_bearer_idp_certificates').where({ idp_id: fullId }).orderBy('thumbprint').pluck('id');
    full = {
      id: fullId,
      tenantId,
      name: 'https://idp.example/full',
      displayName: 'Full IdP',
      enabled: true,
      algorithms: ['RS256', 'ES256'],
      jwksUri: 'https://idp.example/jwks',
      requireJti: false,
      maxAssertionLifetimeSeconds: 600,
      iatMaxAgeSeconds: 300,
      clockSkewSeconds: 5,
      allowedSubjects: ['alice', 'bob'],
      allowedClients: ['client-1'],
      allowedScopes: [],
      issueRefreshToken: false,
      replayPolicy: 'once',
      discoveryUrl: null,
      rules: [],
      aliases: ['https://token.example/zeta', 'https://token.example/alpha'],
      certificates: [
        {
          id: certIds[0],
          pem: 'PEM-1',
          thumbprint: 'T1',
          subject: 'CN=one',
          notBefore: new Date('2024-01-02T03:04:05.678Z'),
          notAfter: new Date('2034-01-02T03:04:05.999Z'),
          kid: 'k1',
        },
        {
          id: certIds[1],
          pem: 'PEM-2',
          thumbprint: 'T2',
          subject: 'CN=two',
          notBefore: new Date('2020-01-01T00:00:00.000Z'),
          notAfter: new Date('2021-01-01T00:00:00.001Z'),
          kid: null,
        },
      ],
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
    expect(row.created_at).toBeInstanceOf(Date);
  });

  it('findIdentityProvider returns the IdP with its aliases and certificates, every field mapped', async () => {
    expect(await store.findIdentityProvider(tenantId, 'https://idp.example/full')).toEqual(full);
  });

  it('findIdentityProvider fills the defaults of a minimal IdP, with empty alias and certificate lists', async () => {
    const id = await insertIdp(db.knex, { tenant_id: tenantId, name: 'minimal' });
    const found = await store.findIdentityProvider(tenantId, 'minimal');
    expect(found).toEqual({
      id,
      tenantId,
      name: 'minimal',
      ...IDP_DEFAULTS,
      aliases: [],
      certificates: [],
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
  });

  it('findIdentityProvider returns a disabled IdP too (the caller decides)', async () => {
    const id = await insertIdp(db.knex, { tenant_id: tenantId, name: 'disabled', enabled: false, aliases: ['aud'] });
    expect(await store.findIdentityProvider(tenantId, 'disabled')).toMatchObject({ id, enabled: false, aliases: ['aud'] });
  });

  it('findIdentityProvider only looks in the given tenant', async () => {
    const id = await insertIdp(db.knex, { tenant_id: otherTenantId, name: 'elsewhere' });
    expect(await store.findIdentityProvider(tenantId, 'elsewhere')).toBeNull();
    expect(await store.findIdentityProvider(otherTenantId, 'elsewhere')).toMatchObject({ id, tenantId: otherTenantId });
    expect(await store.findIdentityProvider(otherTenantId, 'https://idp.example/full')).toBeNull();
  });

  it('findIdentityProvider answers null for unknown, differently cased, unstorable names and malformed tenant ids', async () => {
    expect(await store.findIdentityProvider(tenantId, 'nobody')).toBeNull();
    expect(await store.findIdentityProvider(tenantId, 'HTTPS://IDP.EXAMPLE/FULL')).toBeNull();
    expect(await store.findIdentityProvider(tenantId, 'https://idp.example/full\0')).toBeNull();
    expect(await store.findIdentityProvider('not-a-uuid', 'https://idp.example/full')).toBeNull();
    expect(await store.findIdentityProvider(randomUUID(), 'https://idp.example/full')).toBeNull();
  });

  it('getIdentityProviderById finds by id within the tenant only', async () => {
    expect(await store.getIdentityProviderById(tenantId, fullId)).toEqual(full);
    expect(await store.getIdentityProviderById(otherTenantId, fullId)).toBeNull();
    expect(await store.getIdentityProviderById(tenantId, randomUUID())).toBeNull();
    expect(await store.getIdentityProviderById(tenantId, 'not-a-uuid')).toBeNull();
    expect(await store.getIdentityProviderById('not-a-uuid', fullId)).toBeNull();
  });

  it("listIdentityProviders lists the tenant's IdPs by name", async () => {
    const list = await store.listIdentityProviders(tenantId);
    expect(list.map((idp) => idp.name)).toEqual(['disabled', 'https://idp.example/full', 'minimal']);
    expect(list[1]).toEqual(full);
    expect((await store.listIdentityProviders(otherTenantId)).map((idp) => idp.name)).toEqual(['elsewhere']);
    expect(await store.listIdentityProviders(randomUUID())).toEqual([]);
    expect(await store.listIdentityProviders('nope')).toEqual([]);
  });
});

describe('recordIssuance and replay', () => {
  let idpA: string;
  let idpB: string;
  beforeAll(async () => {
    idpA = await insertIdp(db.knex, { tenant_id: tenantId, name: 'replay-a' });
    idpB = await insertIdp(db.knex, { tenant_id: tenantId, name: 'replay-b' });
  });
  const input = (over: Partial<IssuanceInput> = {}) => issuance({ tenantId, idpId: idpA, idpName: 'replay-a', ...over });

  it('writes the replay record and the audit row, and returns the audit id', async () => {
    const given = input({ jti: 'jti-1', replayKey: 'jti-1', replayExpiresAt: at(60_000), expiresAt: at(3_600_000), scope: 'read write' });
    const id = await store.recordIssuance(given, NOW);
    expect(id).toMatch(UUID);
    expect(await auditRows({ id })).toEqual([
      {
        id,
        tenantId,
        idpId: idpA,
        idpName: 'replay-a',
        clientId: given.clientId,
        subject: given.subject,
        jti: 'jti-1',
        ruleName: null,
        scope: 'read write',
        accessTokenSha256: given.accessTokenSha256,
        refreshTokenSha256: given.refreshTokenSha256,
        parentId: null,
        issuedAt: NOW,
        expiresAt: at(3_600_000),
        revokedAt: null,
      },
    ]);
    expect(await replayRows(idpA)).toEqual([{ jti: 'jti-1', expiresAt: at(60_000) }]);
  });

  it('refuses the same (IdP, key) while the record lives, writing nothing', async () => {
    const before = await auditRows();
    expect(await store.recordIssuance(input({ replayKey: 'jti-1' }), NOW)).toBeNull();
    expect(await store.recordIssuance(input({ replayKey: 'jti-1' }), at(59_999))).toBeNull();
    expect(await auditRows()).toEqual(before);
    expect(await replayRows(idpA)).toEqual([{ jti: 'jti-1', expiresAt: at(60_000) }]);
  });

  it('allows the same key for another IdP: the namespace is per IdP', async () => {
    const id = await store.recordIssuance(input({ idpId: idpB, idpName: 'replay-b', replayKey: 'jti-1' }), NOW);
    expect(id).toMatch(UUID);
    expect(await replayRows(idpB)).toEqual([{ jti: 'jti-1', expiresAt: at(60_000) }]);
  });

  it('lets the key be used again once its record has expired (at expires_at exactly), renewing the record', async () => {
    const id = await store.recordIssuance(input({ replayKey: 'jti-1', replayExpiresAt: at(120_000) }), at(60_000));
    expect(id).toMatch(UUID);
    expect(await replayRows(idpA)).toEqual([{ jti: 'jti-1', expiresAt: at(120_000) }]);
    expect(await store.recordIssuance(input({ replayKey: 'jti-1' }), at(60_001))).toBeNull();
  });

  it('records a jti-less assertion under its hash key, with a NULL jti in the audit', async () => {
    const id = await store.recordIssuance(input({ jti: null, replayKey: 'sha256-of-signing-input' }), NOW);
    expect((await auditRows({ id }))[0]).toMatchObject({ jti: null, idpId: idpA });
    expect(await store.recordIssuance(input({ jti: null, replayKey: 'sha256-of-signing-input' }), NOW)).toBeNull();
  });

  it('is atomic: when the audit row cannot be written, the key is not burned', async () => {
    const taken = input({ replayKey: 'first' });
    await store.recordIssuance(taken, NOW);
    const clash = input({ replayKey: 'second', accessTokenSha256: taken.accessTokenSha256 });
    const error = await store.recordIssuance(clash, NOW).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).cause).toMatchObject({ code: '23505' });
    expect((await replayRows(idpA)).map((r) => r.jti)).not.toContain('second');
  });

  it.each([
    ['a fresh key', false],
    ['an expired record', true],
  ])('lets exactly one of 20 concurrent uses of %s win', async (_label, expiredFirst) => {
    const key = `race-${expiredFirst}`;
    if (expiredFirst)
      await db.knex('jwt_bearer_used_assertions').insert({ tenant_id: tenantId, idp_name: 'replay-a', jti: key, expires_at: at(-1) });
    const results = await Promise.all(Array.from({ length: 20 }, () => store.recordIssuance(input({ replayKey: key, jti: key }), NOW)));
    const winners = results.filter((id): id is string => id !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatch(UUID);
    expect((await auditRows({ jti: key })).map((r) => r.id)).toEqual(winners);
    expect(await replayRows(idpA)).toContainEqual({ jti: key, expiresAt: at(60_000) });
  });
});

describe('recordIssuance without a replay record (replay policy reuse)', () => {
  let idp: string;
  beforeAll(async () => {
    idp = await insertIdp(db.knex, { tenant_id: tenantId, name: 'reusing', replay_policy: 'reuse', max_assertion_lifetime_seconds: 3600 });
  });
  const input = (over: Partial<IssuanceInput> = {}) =>
    issuance({ tenantId, idpId: idp, idpName: 'reusing', jti: null, replayKey: 'k8s-token-hash', recordReplay: false, ...over });

  it('writes an audit row for every use and no replay record, even under a key already recorded', async () => {
    const first = await store.recordIssuance(input(), NOW);
    const second = await store.recordIssuance(input(), NOW);
    expect(first).toMatch(UUID);
    expect(second).toMatch(UUID);
    expect(second).not.toBe(first);
    expect((await auditRows({ idp_id: idp })).map((r) => r.id).sort()).toEqual([first, second].sort());
    expect(await replayRows(idp)).toEqual([]);

    // A live record of the key (from a time the IdP was `once`) neither refuses a reuse nor is touched by it.
    await db
      .knex('jwt_bearer_used_assertions')
      .insert({ tenant_id: tenantId, idp_name: 'reusing', jti: 'k8s-token-hash', expires_at: at(60_000) });
    expect(await store.recordIssuance(input(), NOW)).toMatch(UUID);
    expect(await replayRows(idp)).toEqual([{ jti: 'k8s-token-hash', expiresAt: at(60_000) }]);
    // ...and the next `once` use of it is refused by that record.
    expect(await store.recordIssuance(input({ recordReplay: true }), NOW)).toBeNull();
  });

  it('serves 20 concurrent uses of one key: 20 audit rows, no record', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.recordIssuance(input({ replayKey: 'fleet' }), NOW)));
    expect(results.every((id) => typeof id === 'string' && UUID.test(id))).toBe(true);
    expect(new Set(results).size).toBe(20);
    expect(await db.knex('jwt_bearer_used_assertions').where({ idp_name: 'reusing', jti: 'fleet' })).toEqual([]);
  });

  it('one statement for a batch mixing both kinds: every reuse gets its row, exactly one once-use of the key wins', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.recordIssuance(input({ replayKey: 'mixed', recordReplay: i % 2 === 0 }), NOW)),
    );
    const onceWinners = results.filter((id, i) => i % 2 === 0 && id !== null);
    expect(onceWinners).toHaveLength(1);
    expect(results.filter((id, i) => i % 2 === 1 && typeof id === 'string' && UUID.test(id))).toHaveLength(10);
    expect(await db.knex('jwt_bearer_used_assertions').where({ idp_name: 'reusing', jti: 'mixed' }).pluck('jti')).toEqual(['mixed']);
    const audited = await db
      .knex('jwt_bearer_issued_tokens')
      .where({ idp_id: idp })
      .whereIn('id', results.filter(Boolean) as string[]);
    expect(audited).toHaveLength(11);
  });

  it('undo deletes the audit row only, never a record of the same key', async () => {
    const id = (await store.recordIssuance(input(), NOW))!;
    await store.undoIssuance(id, { tenantId, idpName: 'reusing', replayKey: 'k8s-token-hash', recorded: false });
    expect(await auditRows({ id })).toEqual([]);
    expect((await replayRows(idp)).filter((row) => row.jti === 'k8s-token-hash')).toEqual([
      { jti: 'k8s-token-hash', expiresAt: at(60_000) },
    ]);
  });
});

describe('undoIssuance', () => {
  let idp: string;
  beforeAll(async () => {
    idp = await insertIdp(db.knex, { tenant_id: tenantId, name: 'undo' });
  });

  it('deletes the audit row and frees the key, so the assertion can be used again', async () => {
    const given = issuance({ tenantId, idpId: idp, idpName: 'undo', replayKey: 'u1' });
    const id = (await store.recordIssuance(given, NOW))!;
    await store.undoIssuance(id, { tenantId, idpName: 'undo', replayKey: 'u1' });
    expect(await auditRows({ id })).toEqual([]);
    expect(await replayRows(idp)).toEqual([]);
    expect(await store.recordIssuance(issuance({ tenantId, idpId: idp, idpName: 'undo', replayKey: 'u1' }), NOW)).toMatch(UUID);
  });

  it('leaves other records alone and accepts an id that no longer exists', async () => {
    const keep = (await store.recordIssuance(issuance({ tenantId, idpId: idp, idpName: 'undo', replayKey: 'u2' }), NOW))!;
    await store.undoIssuance(randomUUID(), { tenantId, idpName: 'undo', replayKey: 'nothing' });
    expect((await auditRows({ id: keep })).map((r) => r.id)).toEqual([keep]);
    expect((await replayRows(idp)).map((r) => r.jti)).toEqual(['u1', 'u2']);
  });
});

describe('refresh tokens', () => {
  let idp: string;
  let parent: IssuanceInput;
  let parentId: string;
  beforeAll(async () => {
    idp = await insertIdp(db.knex, { tenant_id: tenantId, name: 'refreshing' });
    parent = issuance({ tenantId, idpId: idp, idpName: 'refreshing', jti: 'r-jti', replayKey: 'r-jti', scope: 'openid' });
    parentId = (await store.recordIssuance(parent, NOW))!;
  });

  it('findRefreshOrigin finds the audit row of a refresh token hash, IdP enabled', async () => {
    expect(await store.findRefreshOrigin(parent.refreshTokenSha256!)).toEqual({
      auditId: parentId,
      tenantId,
      idpId: idp,
      idpName: 'refreshing',
      idpEnabled: true,
      clientId: parent.clientId,
      subject: parent.subject,
      jti: 'r-jti',
    });
  });

  it('findRefreshOrigin answers null for an access token hash, an unknown or an unstorable hash', async () => {
    expect(await store.findRefreshOrigin(parent.accessTokenSha256)).toBeNull();
    expect(await store.findRefreshOrigin('unknown')).toBeNull();
    expect(await store.findRefreshOrigin('a\0b')).toBeNull();
  });

  it('recordRefresh audits the new token as a child, copying tenant, IdP, client, subject and jti', async () => {
    const token = { accessTokenSha256: 'child-access', refreshTokenSha256: 'child-refresh', scope: 'openid', expiresAt: at(7_200_000) };
    const before = new Date();
    const childId = await store.recordRefresh(parentId, token);
    expect(childId).toMatch(UUID);
    const [child] = await auditRows({ id: childId });
    expect(child).toEqual({
      id: childId,
      tenantId,
      idpId: idp,
      idpName: 'refreshing',
      clientId: parent.clientId,
      subject: parent.subject,
      jti: 'r-jti',
      ruleName: null,
      scope: 'openid',
      accessTokenSha256: 'child-access',
      refreshTokenSha256: 'child-refresh',
      parentId,
      issuedAt: expect.any(Date),
      expiresAt: at(7_200_000),
      revokedAt: null,
    });
    expect(Math.abs(child!.issuedAt.getTime() - before.getTime())).toBeLessThan(60_000);
    expect(await store.findRefreshOrigin('child-refresh')).toMatchObject({ auditId: childId, idpId: idp, idpEnabled: true, jti: 'r-jti' });
  });

  it('recordRefresh accepts a token without a refresh token (the host kept the old one)', async () => {
    const id = await store.recordRefresh(parentId, {
      accessTokenSha256: 'child-2',
      refreshTokenSha256: null,
      scope: null,
      expiresAt: at(1),
    });
    expect((await auditRows({ id }))[0]).toMatchObject({ refreshTokenSha256: null, scope: null, parentId });
  });

  it('recordRefresh refuses an unknown parent with a plain error (not "unavailable")', async () => {
    const missing = randomUUID();
    const error = await store
      .recordRefresh(missing, { accessTokenSha256: 'orphan', refreshTokenSha256: null, scope: null, expiresAt: at(1) })
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(StoreUnavailableError);
    expect(error).toEqual(new Error(`recordRefresh: no issued-token audit row ${missing} to refresh from.`));
    expect(await auditRows({ access_token_sha256: 'orphan' })).toEqual([]);
  });

  it('findRefreshOrigin says idpEnabled false once the IdP is disabled', async () => {
    await db.knex('jwt_bearer_identity_providers').where({ id: idp }).update({ enabled: false });
    expect(await store.findRefreshOrigin(parent.refreshTokenSha256!)).toMatchObject({ idpId: idp, idpEnabled: false });
    expect(await store.findRefreshOrigin('child-refresh')).toMatchObject({ idpId: idp, idpEnabled: false });
    await db.knex('jwt_bearer_identity_providers').where({ id: idp }).update({ enabled: true });
  });

  it('findRefreshOrigin says idpId null and idpEnabled false once the IdP is deleted, keeping its name', async () => {
    await db.knex('jwt_bearer_identity_providers').where({ id: idp }).del();
    expect(await store.findRefreshOrigin(parent.refreshTokenSha256!)).toEqual({
      auditId: parentId,
      tenantId,
      idpId: null,
      idpName: 'refreshing',
      idpEnabled: false,
      clientId: parent.clientId,
      subject: parent.subject,
      jti: 'r-jti',
    });
  });
});

describe('markRevoked', () => {
  let idp: string;
  beforeAll(async () => {
    idp = await insertIdp(db.knex, { tenant_id: tenantId, name: 'revoking' });
  });

  it('marks the row of an access token hash, and keeps the first revocation time', async () => {
    const given = issuance({ tenantId, idpId: idp, idpName: 'revoking', replayKey: 'rv1' });
    const id = (await store.recordIssuance(given, NOW))!;
    await store.markRevoked(given.accessTokenSha256, at(1000));
    await store.markRevoked(given.accessTokenSha256, at(2000));
    expect((await onlyAuditRow({ id })).revokedAt).toEqual(at(1000));
  });

  it('marks the row of a refresh token hash, and nothing else', async () => {
    const one = issuance({ tenantId, idpId: idp, idpName: 'revoking', replayKey: 'rv2' });
    const two = issuance({ tenantId, idpId: idp, idpName: 'revoking', replayKey: 'rv3' });
    const oneId = (await store.recordIssuance(one, NOW))!;
    const twoId = (await store.recordIssuance(two, NOW))!;
    await store.markRevoked(one.refreshTokenSha256!, at(5));
    await store.markRevoked('unknown-hash', at(5));
    await store.markRevoked('nul\0', at(5));
    expect((await onlyAuditRow({ id: oneId })).revokedAt).toEqual(at(5));
    expect((await onlyAuditRow({ id: twoId })).revokedAt).toBeNull();
  });
});

describe('pruneUsedAssertions', () => {
  it('deletes the records expired at or before now, counts them, and keeps the live ones', async () => {
    const idp = await insertIdp(db.knex, { tenant_id: otherTenantId, name: 'pruning' });
    await db.knex('jwt_bearer_used_assertions').del();
    await db.knex('jwt_bearer_used_assertions').insert([
      { tenant_id: otherTenantId, idp_name: 'pruning', jti: 'long-gone', expires_at: at(-86_400_000) },
      { tenant_id: otherTenantId, idp_name: 'pruning', jti: 'just-now', expires_at: NOW },
      { tenant_id: otherTenantId, idp_name: 'pruning', jti: 'live', expires_at: at(1) },
    ]);
    expect(await store.pruneUsedAssertions(NOW, { graceSeconds: 0 })).toBe(2);
    expect(await replayRows(idp)).toEqual([{ jti: 'live', expiresAt: at(1) }]);
    expect(await store.pruneUsedAssertions(NOW, { graceSeconds: 0 })).toBe(0);
  });
});
