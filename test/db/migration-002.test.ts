/**
 * Migration 002: replay records keyed by (tenant, IdP name, jti), kept through the upgrade and through
 * deleting the IdP; and the configuration tables' change notifications, sent by the database itself.
 */
import type { Knex } from 'knex';
import { Client } from 'pg';
import { migrationSource, MIGRATIONS_TABLE } from '../../lib/db/migrate';
import { openDatabase } from '../../lib/db/connect';
import { pgliteOf } from '../../lib/db/pglite';
import { createBlankPostgresDatabase, type BlankPostgresDatabase } from '../helpers/database';

const CONFIG = { migrationSource, tableName: MIGRATIONS_TABLE };

let knex: Knex;
let blank: BlankPostgresDatabase | undefined;

beforeAll(async () => {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    blank = await createBlankPostgresDatabase(adminUrl);
    knex = await openDatabase({ databaseUrl: blank.url, acquireTimeoutMs: 15_000, queryTimeoutMs: 15_000 });
  } else {
    knex = await openDatabase({ dataDir: ':memory:', acquireTimeoutMs: 15_000 });
  }
  // Only 001: the schema as a database of the previous release has it.
  await knex.migrate.up({ ...CONFIG, name: '001_initial' });
});
afterAll(async () => {
  await knex?.destroy();
  await blank?.drop();
});

describe('upgrading a database with replay records', () => {
  let tenantId: string;
  let idpId: string;

  beforeAll(async () => {
    tenantId = (await knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
    [{ id: idpId }] = await knex('jwt_bearer_identity_providers').insert({ tenant_id: tenantId, name: 'jwtIDP' }).returning('id');
    await knex('jwt_bearer_used_assertions').insert([
      { idp_id: idpId, jti: 'live-1', expires_at: new Date(Date.now() + 600_000) },
      { idp_id: idpId, jti: 'live-2', expires_at: new Date(Date.now() + 900_000) },
    ]);
    await knex.migrate.up({ ...CONFIG, name: '002_replay_namespace_and_change_feed' });
  });

  it("keeps every record, now under the IdP's tenant and name", async () => {
    const rows = await knex('jwt_bearer_used_assertions').orderBy('jti').select('tenant_id', 'idp_name', 'jti');
    expect(rows).toEqual([
      { tenant_id: tenantId, idp_name: 'jwtIDP', jti: 'live-1' },
      { tenant_id: tenantId, idp_name: 'jwtIDP', jti: 'live-2' },
    ]);
  });

  it('keeps the records when the IdP row is deleted (they no longer hang on it)', async () => {
    await knex('jwt_bearer_identity_providers').where({ id: idpId }).del();
    expect(await knex('jwt_bearer_used_assertions').orderBy('jti').pluck('jti')).toEqual(['live-1', 'live-2']);
  });

  it('refuses a second record of the same (tenant, IdP name, jti)', async () => {
    const error = await knex('jwt_bearer_used_assertions')
      .insert({ tenant_id: tenantId, idp_name: 'jwtIDP', jti: 'live-1', expires_at: new Date() })
      .catch((e: { code?: string }) => e);
    expect((error as { code?: string }).code).toBe('23505');
  });

  it('goes away with its tenant', async () => {
    const [{ id: other }] = await knex('jwt_bearer_tenants').insert({ domain: 'gone.example' }).returning('id');
    await knex('jwt_bearer_used_assertions').insert({ tenant_id: other, idp_name: 'x', jti: 'j', expires_at: new Date() });
    await knex('jwt_bearer_tenants').where({ id: other }).del();
    expect(await knex('jwt_bearer_used_assertions').where({ tenant_id: other })).toEqual([]);
  });
});

describe('change notifications from the configuration tables', () => {
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

  it.each([
    ["insert into jwt_bearer_tenants (domain) values ('n.example')", 'jwt_bearer_tenants'],
    ['update jwt_bearer_tenants set domain = domain where false', 'jwt_bearer_tenants'],
    [
      "insert into jwt_bearer_identity_providers (tenant_id, name) select id, 'n-idp' from jwt_bearer_tenants where domain = 'carbon.super'",
      'jwt_bearer_identity_providers',
    ],
    [
      "insert into jwt_bearer_idp_aliases (idp_id, alias) select id, 'aud' from jwt_bearer_identity_providers where name = 'n-idp'",
      'jwt_bearer_idp_aliases',
    ],
    ['delete from jwt_bearer_idp_certificates', 'jwt_bearer_idp_certificates'],
    ['update jwt_bearer_identity_providers set enabled = false', 'jwt_bearer_identity_providers'],
  ])('%s notifies %s, whoever writes', async (sql, table) => {
    const feed = await listen();
    try {
      await knex.raw(sql);
      await feed.settle();
      expect(feed.payloads).toEqual([table]);
    } finally {
      await feed.stop();
    }
  });

  it('sends one notification per table for a transaction of many statements', async () => {
    const feed = await listen();
    try {
      await knex.transaction(async (trx) => {
        for (let i = 0; i < 5; i++) await trx('jwt_bearer_tenants').insert({ domain: `bulk-${i}.example` });
        await trx('jwt_bearer_tenants')
          .where('domain', 'like', 'bulk-%')
          .update({ domain: trx.raw("domain || '.x'") });
      });
      await feed.settle();
      expect(feed.payloads).toEqual(['jwt_bearer_tenants']);
    } finally {
      await feed.stop();
    }
  });

  it('is silent for writes outside the configuration (replay records, audit)', async () => {
    const tenantId = (await knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
    const feed = await listen();
    try {
      await knex('jwt_bearer_used_assertions').insert({ tenant_id: tenantId, idp_name: 'quiet', jti: 'q', expires_at: new Date() });
      await feed.settle();
      expect(feed.payloads).toEqual([]);
    } finally {
      await feed.stop();
    }
  });
});
