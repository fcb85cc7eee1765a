/**
 * Migration 003 (docs/storage.md, docs/workload-identity.md): the replay policy and discovery URL of an
 * IdP with the checks that keep impossible combinations out of the database whoever writes, the trust
 * rules table (cascade, unique names, mode), its change notifications, the audited rule name, and
 * down() then up() again.
 */
import type { Knex } from 'knex';
import { Client } from 'pg';
import { changeFeedFor } from '../../lib/cache/change-feed';
import { openDatabase } from '../../lib/db/connect';
import { migrationSource, MIGRATIONS_TABLE } from '../../lib/db/migrate';
import { pgliteOf } from '../../lib/db/pglite';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { REUSE_MAX_LIFETIME_SECONDS } from '../../migrations/003_workload_identity';
import { createBlankPostgresDatabase, type BlankPostgresDatabase } from '../helpers/database';

const CONFIG = { migrationSource, tableName: MIGRATIONS_TABLE };
const M003 = '003_workload_identity';

let knex: Knex;
let blank: BlankPostgresDatabase | undefined;
let tenantId: string;
/** An IdP created before 003 ran: a database of the previous release. */
let oldIdp: string;

beforeAll(async () => {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    blank = await createBlankPostgresDatabase(adminUrl);
    knex = await openDatabase({ databaseUrl: blank.url, acquireTimeoutMs: 15_000, queryTimeoutMs: 15_000 });
  } else {
    knex = await openDatabase({ dataDir: ':memory:', acquireTimeoutMs: 15_000 });
  }
  await knex.migrate.up({ ...CONFIG, name: '001_initial' });
  await knex.migrate.up({ ...CONFIG, name: '002_replay_namespace_and_change_feed' });
  tenantId = (await knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
  [{ id: oldIdp }] = await knex('jwt_bearer_identity_providers')
    .insert({ tenant_id: tenantId, name: 'before-003', jwks_uri: 'https://idp.example/jwks' })
    .returning('id');
  await knex.migrate.up({ ...CONFIG, name: M003 });
});
afterAll(async () => {
  await knex?.destroy();
  await blank?.drop();
});

/** The SQLSTATE and constraint name of a failed statement ({} when it succeeded). */
async function sqlStateOf(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string }> {
  const error = await promise.then(
    () => ({}) as { code?: string; constraint?: string },
    (e: { code?: string; constraint?: string }) => e,
  );
  return { code: error.code, constraint: error.constraint };
}

const CHECK_FAILED = (constraint: string) => ({ code: '23514', constraint });

let serial = 0;
const insertIdp = (extra: Record<string, unknown> = {}) =>
  knex('jwt_bearer_identity_providers')
    .insert({ tenant_id: tenantId, name: `idp-${++serial}`, ...extra })
    .returning('id')
    .then(([row]) => row.id as string);
const insertRule = (idpId: string, extra: Record<string, unknown> = {}) =>
  knex('jwt_bearer_idp_rules').insert({ idp_id: idpId, name: `rule-${++serial}`, condition: 'true', ...extra });

describe('an IdP created before the migration', () => {
  it('gets replay policy once and no discovery URL, and keeps its JWKS URI', async () => {
    expect(await knex('jwt_bearer_identity_providers').where({ id: oldIdp }).first('replay_policy', 'discovery_url', 'jwks_uri')).toEqual({
      replay_policy: 'once',
      discovery_url: null,
      jwks_uri: 'https://idp.example/jwks',
    });
  });
});

describe('the replay policy and discovery URL checks', () => {
  it('exports the reuse lifetime cap the check enforces: one hour', () => {
    expect(REUSE_MAX_LIFETIME_SECONDS).toBe(3600);
  });

  it('refuses reuse with a lifetime over 3600 s (the default 86400 included), accepts it at 3600 and below', async () => {
    expect(await sqlStateOf(insertIdp({ replay_policy: 'reuse' }))).toEqual(CHECK_FAILED('jwt_bearer_idp_reuse_lifetime'));
    expect(await sqlStateOf(insertIdp({ replay_policy: 'reuse', max_assertion_lifetime_seconds: 3601 }))).toEqual(
      CHECK_FAILED('jwt_bearer_idp_reuse_lifetime'),
    );
    const atCap = await insertIdp({ replay_policy: 'reuse', max_assertion_lifetime_seconds: 3600 });
    const below = await insertIdp({ replay_policy: 'reuse', max_assertion_lifetime_seconds: 600 });
    expect(
      await knex('jwt_bearer_identity_providers')
        .whereIn('id', [atCap, below])
        .orderBy('max_assertion_lifetime_seconds')
        .pluck('max_assertion_lifetime_seconds'),
    ).toEqual([600, 3600]);
  });

  it('refuses an update that would leave reuse with a longer lifetime, either way round', async () => {
    const once = await insertIdp({ max_assertion_lifetime_seconds: 7200 });
    expect(await sqlStateOf(knex('jwt_bearer_identity_providers').where({ id: once }).update({ replay_policy: 'reuse' }))).toEqual(
      CHECK_FAILED('jwt_bearer_idp_reuse_lifetime'),
    );
    const reuse = await insertIdp({ replay_policy: 'reuse', max_assertion_lifetime_seconds: 3600 });
    expect(
      await sqlStateOf(knex('jwt_bearer_identity_providers').where({ id: reuse }).update({ max_assertion_lifetime_seconds: 3601 })),
    ).toEqual(CHECK_FAILED('jwt_bearer_idp_reuse_lifetime'));
    // Back to once, any lifetime is allowed again.
    await knex('jwt_bearer_identity_providers')
      .where({ id: reuse })
      .update({ replay_policy: 'once', max_assertion_lifetime_seconds: 86400 });
  });

  it('refuses a replay policy other than once or reuse', async () => {
    for (const replay_policy of ['never', 'ONCE', 'Reuse', '']) {
      expect(await sqlStateOf(insertIdp({ replay_policy, max_assertion_lifetime_seconds: 600 }))).toEqual(
        CHECK_FAILED('jwt_bearer_idp_replay_policy'),
      );
    }
    expect(await sqlStateOf(insertIdp({ replay_policy: null }))).toMatchObject({ code: '23502' }); // NOT NULL
  });

  it('refuses both a JWKS URI and a discovery URL, accepts either alone', async () => {
    expect(
      await sqlStateOf(
        insertIdp({ jwks_uri: 'https://idp.example/jwks', discovery_url: 'https://idp.example/.well-known/openid-configuration' }),
      ),
    ).toEqual(CHECK_FAILED('jwt_bearer_idp_one_key_url'));
    await insertIdp({ discovery_url: 'https://idp.example/.well-known/openid-configuration' });
    expect(
      await sqlStateOf(
        knex('jwt_bearer_identity_providers')
          .where({ id: oldIdp })
          .update({ discovery_url: 'https://idp.example/.well-known/openid-configuration' }),
      ),
    ).toEqual(CHECK_FAILED('jwt_bearer_idp_one_key_url'));
  });
});

describe('the trust rules table', () => {
  it('fills the defaults: any client, no scope bound, enforce, position 0, claims.sub as subject', async () => {
    const idp = await insertIdp();
    await insertRule(idp, { name: 'defaults' });
    const row = await knex('jwt_bearer_idp_rules').where({ idp_id: idp }).first();
    expect(row).toMatchObject({
      name: 'defaults',
      condition: 'true',
      subject: null,
      clients: [],
      scopes: null,
      mode: 'enforce',
      position: 0,
    });
    expect(row.created_at).toBeInstanceOf(Date);
    expect(row.updated_at).toBeInstanceOf(Date);
  });

  it('keeps rule names unique per IdP, not across IdPs', async () => {
    const a = await insertIdp();
    const b = await insertIdp();
    await insertRule(a, { name: 'ci' });
    await insertRule(b, { name: 'ci' });
    expect(await sqlStateOf(insertRule(a, { name: 'ci' }))).toEqual({
      code: '23505',
      constraint: 'jwt_bearer_idp_rules_idp_id_name_unique',
    });
    expect(Number((await knex('jwt_bearer_idp_rules').where({ name: 'ci' }).count({ n: '*' }))[0]!.n)).toBe(2);
  });

  it('refuses an empty name, an empty condition and a mode other than enforce or shadow', async () => {
    const idp = await insertIdp();
    expect(await sqlStateOf(insertRule(idp, { name: '' }))).toEqual(CHECK_FAILED('jwt_bearer_rule_name_nonempty'));
    expect(await sqlStateOf(insertRule(idp, { condition: '' }))).toEqual(CHECK_FAILED('jwt_bearer_rule_condition_nonempty'));
    for (const mode of ['audit', 'ENFORCE', 'Shadow', '']) {
      expect(await sqlStateOf(insertRule(idp, { mode }))).toEqual(CHECK_FAILED('jwt_bearer_rule_mode'));
    }
    await insertRule(idp, { mode: 'shadow' });
    expect(await knex('jwt_bearer_idp_rules').where({ idp_id: idp }).pluck('mode')).toEqual(['shadow']);
  });

  it('refuses a rule of an IdP that does not exist, and deletes the rules with their IdP', async () => {
    expect(await sqlStateOf(insertRule('00000000-0000-4000-8000-000000000000'))).toEqual({
      code: '23503',
      constraint: 'jwt_bearer_idp_rules_idp_id_foreign',
    });
    const gone = await insertIdp();
    const kept = await insertIdp();
    await insertRule(gone);
    await insertRule(gone);
    await insertRule(kept, { name: 'stays' });
    await knex('jwt_bearer_identity_providers').where({ id: gone }).del();
    expect(await knex('jwt_bearer_idp_rules').whereIn('idp_id', [gone, kept]).pluck('name')).toEqual(['stays']);
  });

  it('gives the audit a nullable rule_name', async () => {
    const [row] = await knex('jwt_bearer_issued_tokens')
      .insert({
        tenant_id: tenantId,
        idp_name: 'x',
        client_id: 'c',
        subject: 's',
        access_token_sha256: 'rule-name-audit',
        expires_at: new Date(2e12),
        rule_name: 'github-main',
      })
      .returning(['rule_name']);
    expect(row).toEqual({ rule_name: 'github-main' });
  });
});

describe('change notifications of the trust rules table', () => {
  /** Listens on jwt_bearer_config with a connection of its own (PostgreSQL) or PGlite's listen(). */
  async function listen(): Promise<{ payloads: string[]; settle(): Promise<void>; stop(): Promise<void> }> {
    const payloads: string[] = [];
    const pglite = pgliteOf(knex);
    if (pglite) {
      const unlisten = await pglite.listen('jwt_bearer_config', (payload) => payloads.push(payload));
      return { payloads, settle: () => new Promise((r) => setTimeout(r, 20)), stop: unlisten };
    }
    const client = new Client({ connectionString: blank!.url });
    await client.connect();
    client.on('notification', (m) => payloads.push(m.payload ?? ''));
    await client.query('LISTEN jwt_bearer_config');
    // A round trip on the listening connection after the writer's commit: notifications sent before it have arrived.
    return { payloads, settle: async () => void (await client.query('select 1')), stop: () => client.end() };
  }

  let idp: string;
  beforeAll(async () => {
    idp = await insertIdp({ name: 'notifying' });
  });

  it.each([
    ["insert into jwt_bearer_idp_rules (idp_id, name, condition) values (:idp, 'n-rule', 'true')", 'insert'],
    ["update jwt_bearer_idp_rules set mode = 'shadow' where idp_id = :idp", 'update'],
    ['update jwt_bearer_idp_rules set position = position where false', 'an update of no row'],
    ['delete from jwt_bearer_idp_rules where idp_id = :idp', 'delete'],
  ])('%s notifies jwt_bearer_idp_rules (%s), whoever writes', async (sql) => {
    const feed = await listen();
    try {
      await knex.raw(sql, { idp });
      await feed.settle();
      expect(feed.payloads).toEqual(['jwt_bearer_idp_rules']);
    } finally {
      await feed.stop();
    }
  });

  it("a rule written behind the store's back is in its cached IdP once the notification arrives", async () => {
    const store = new KnexGrantStore(knex);
    const feed = changeFeedFor(knex);
    try {
      await store.findIdentityProvider(tenantId, 'notifying'); // the cache starts the feed
      await until(() => feed.trusted);
      const before = await store.findIdentityProvider(tenantId, 'notifying');
      expect(before?.rules).toEqual([]);
      expect(await store.findIdentityProvider(tenantId, 'notifying')).toBe(before); // served from memory

      let notified = false;
      const off = feed.subscribe((table) => {
        if (table === 'jwt_bearer_idp_rules') notified = true;
      });
      await insertRule(idp, { name: 'late', condition: "claims.sub == 'x'", mode: 'shadow' });
      await until(() => notified);
      off();

      const after = await store.findIdentityProvider(tenantId, 'notifying');
      expect(after?.rules.map((rule) => [rule.name, rule.condition, rule.mode])).toEqual([['late', "claims.sub == 'x'", 'shadow']]);
    } finally {
      await store.close();
    }
  });
});

// Last: it takes 003 down and up again.
describe('down() then up()', () => {
  async function columnsOf(table: string): Promise<string[]> {
    const { rows } = await knex.raw(
      'select column_name from information_schema.columns where table_schema = current_schema() and table_name = ? order by ordinal_position',
      [table],
    );
    return rows.map((r: { column_name: string }) => r.column_name);
  }
  const rulesTable = async () => (await knex.raw("select to_regclass('jwt_bearer_idp_rules') as t")).rows[0].t;

  it('removes the rules table and the new columns, keeps the IdPs, and adds them back', async () => {
    // down() forgets every IdP's replay policy, discovery URL and rules; up() again starts them at once, none and none.
    await knex.migrate.down({ ...CONFIG, name: M003 });
    expect(await rulesTable()).toBeNull();
    expect(await columnsOf('jwt_bearer_identity_providers')).not.toEqual(expect.arrayContaining(['replay_policy']));
    expect(await columnsOf('jwt_bearer_identity_providers')).not.toEqual(expect.arrayContaining(['discovery_url']));
    expect(await columnsOf('jwt_bearer_issued_tokens')).not.toEqual(expect.arrayContaining(['rule_name']));
    expect(await knex('jwt_bearer_identity_providers').where({ id: oldIdp }).first('name')).toEqual({ name: 'before-003' });
    // Without the cap, a long lifetime is fine again.
    await knex('jwt_bearer_identity_providers').where({ id: oldIdp }).update({ max_assertion_lifetime_seconds: 86400 });

    await knex.migrate.up({ ...CONFIG, name: M003 });
    expect(await rulesTable()).toBe('jwt_bearer_idp_rules');
    expect(await columnsOf('jwt_bearer_identity_providers')).toEqual(expect.arrayContaining(['replay_policy', 'discovery_url']));
    expect(await columnsOf('jwt_bearer_issued_tokens')).toEqual(expect.arrayContaining(['rule_name']));
    expect(await knex('jwt_bearer_identity_providers').where({ id: oldIdp }).first('replay_policy')).toEqual({ replay_policy: 'once' });
    expect(await sqlStateOf(insertIdp({ replay_policy: 'reuse' }))).toEqual(CHECK_FAILED('jwt_bearer_idp_reuse_lifetime'));
    await insertRule(oldIdp, { name: 'again' });
    expect(await knex('jwt_bearer_idp_rules').where({ idp_id: oldIdp }).pluck('name')).toEqual(['again']);
  });
});

async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
