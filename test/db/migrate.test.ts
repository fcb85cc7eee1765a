/** docs/storage.md: the schema, the migrations table, idempotent and concurrent migration, rollback. */
import { knex as createKnex, type Knex } from 'knex';
import { openDatabase } from '../../lib/db/connect';
import { migrate, migrationStatus, MIGRATIONS_TABLE, rollback } from '../../lib/db/migrate';
import { createBlankPostgresDatabase, createTestDatabase, type TestDatabase } from '../helpers/database';

const SCHEMA_TABLES = [
  'jwt_bearer_identity_providers',
  'jwt_bearer_idp_aliases',
  'jwt_bearer_idp_certificates',
  'jwt_bearer_idp_rules',
  'jwt_bearer_issued_tokens',
  'jwt_bearer_tenants',
  'jwt_bearer_used_assertions',
];
const BOOKKEEPING_TABLES = ['jwt_bearer_migrations', 'jwt_bearer_migrations_lock'];
const MIGRATIONS = ['001_initial', '002_replay_namespace_and_change_feed', '003_workload_identity'];

/** Primary key, unique, foreign key and check constraints (not-null ones are listed only by newer servers). */
const CONSTRAINTS = [
  ['jwt_bearer_identity_providers', 'jwt_bearer_identity_providers_pkey', 'PRIMARY KEY (id)'],
  [
    'jwt_bearer_identity_providers',
    'jwt_bearer_identity_providers_tenant_id_foreign',
    'FOREIGN KEY (tenant_id) REFERENCES jwt_bearer_tenants(id) ON DELETE CASCADE',
  ],
  ['jwt_bearer_identity_providers', 'jwt_bearer_identity_providers_tenant_id_name_unique', 'UNIQUE (tenant_id, name)'],
  [
    'jwt_bearer_identity_providers',
    'jwt_bearer_idp_iat_age_positive',
    'CHECK (((iat_max_age_seconds IS NULL) OR (iat_max_age_seconds > 0)))',
  ],
  ['jwt_bearer_identity_providers', 'jwt_bearer_idp_lifetime_positive', 'CHECK ((max_assertion_lifetime_seconds > 0))'],
  ['jwt_bearer_identity_providers', 'jwt_bearer_idp_name_nonempty', 'CHECK ((length(name) > 0))'],
  [
    'jwt_bearer_identity_providers',
    'jwt_bearer_idp_no_symmetric_algs',
    "CHECK ((NOT (algorithms && ARRAY['none'::text, 'HS256'::text, 'HS384'::text, 'HS512'::text])))",
  ],
  ['jwt_bearer_identity_providers', 'jwt_bearer_idp_one_key_url', 'CHECK (((jwks_uri IS NULL) OR (discovery_url IS NULL)))'],
  ['jwt_bearer_identity_providers', 'jwt_bearer_idp_replay_policy', "CHECK ((replay_policy = ANY (ARRAY['once'::text, 'reuse'::text])))"],
  [
    'jwt_bearer_identity_providers',
    'jwt_bearer_idp_reuse_lifetime',
    "CHECK (((replay_policy = 'once'::text) OR (max_assertion_lifetime_seconds <= 3600)))",
  ],
  ['jwt_bearer_identity_providers', 'jwt_bearer_idp_skew_nonnegative', 'CHECK ((clock_skew_seconds >= 0))'],
  [
    'jwt_bearer_idp_aliases',
    'jwt_bearer_idp_aliases_idp_id_foreign',
    'FOREIGN KEY (idp_id) REFERENCES jwt_bearer_identity_providers(id) ON DELETE CASCADE',
  ],
  ['jwt_bearer_idp_aliases', 'jwt_bearer_idp_aliases_pkey', 'PRIMARY KEY (idp_id, alias)'],
  [
    'jwt_bearer_idp_certificates',
    'jwt_bearer_idp_certificates_idp_id_foreign',
    'FOREIGN KEY (idp_id) REFERENCES jwt_bearer_identity_providers(id) ON DELETE CASCADE',
  ],
  ['jwt_bearer_idp_certificates', 'jwt_bearer_idp_certificates_idp_id_thumbprint_unique', 'UNIQUE (idp_id, thumbprint)'],
  ['jwt_bearer_idp_certificates', 'jwt_bearer_idp_certificates_pkey', 'PRIMARY KEY (id)'],
  [
    'jwt_bearer_idp_rules',
    'jwt_bearer_idp_rules_idp_id_foreign',
    'FOREIGN KEY (idp_id) REFERENCES jwt_bearer_identity_providers(id) ON DELETE CASCADE',
  ],
  ['jwt_bearer_idp_rules', 'jwt_bearer_idp_rules_idp_id_name_unique', 'UNIQUE (idp_id, name)'],
  ['jwt_bearer_idp_rules', 'jwt_bearer_idp_rules_pkey', 'PRIMARY KEY (id)'],
  ['jwt_bearer_idp_rules', 'jwt_bearer_rule_condition_nonempty', 'CHECK ((length(condition) > 0))'],
  ['jwt_bearer_idp_rules', 'jwt_bearer_rule_mode', "CHECK ((mode = ANY (ARRAY['enforce'::text, 'shadow'::text])))"],
  ['jwt_bearer_idp_rules', 'jwt_bearer_rule_name_nonempty', 'CHECK ((length(name) > 0))'],
  ['jwt_bearer_issued_tokens', 'jwt_bearer_issued_tokens_access_token_sha256_unique', 'UNIQUE (access_token_sha256)'],
  [
    'jwt_bearer_issued_tokens',
    'jwt_bearer_issued_tokens_idp_id_foreign',
    'FOREIGN KEY (idp_id) REFERENCES jwt_bearer_identity_providers(id) ON DELETE SET NULL',
  ],
  [
    'jwt_bearer_issued_tokens',
    'jwt_bearer_issued_tokens_parent_id_foreign',
    'FOREIGN KEY (parent_id) REFERENCES jwt_bearer_issued_tokens(id) ON DELETE SET NULL',
  ],
  ['jwt_bearer_issued_tokens', 'jwt_bearer_issued_tokens_pkey', 'PRIMARY KEY (id)'],
  ['jwt_bearer_issued_tokens', 'jwt_bearer_issued_tokens_refresh_token_sha256_unique', 'UNIQUE (refresh_token_sha256)'],
  [
    'jwt_bearer_issued_tokens',
    'jwt_bearer_issued_tokens_tenant_id_foreign',
    'FOREIGN KEY (tenant_id) REFERENCES jwt_bearer_tenants(id) ON DELETE CASCADE',
  ],
  ['jwt_bearer_tenants', 'jwt_bearer_tenants_domain_unique', 'UNIQUE (domain)'],
  ['jwt_bearer_tenants', 'jwt_bearer_tenants_pkey', 'PRIMARY KEY (id)'],
  ['jwt_bearer_used_assertions', 'jwt_bearer_used_assertions_pkey', 'PRIMARY KEY (tenant_id, idp_name, jti)'],
  [
    'jwt_bearer_used_assertions',
    'jwt_bearer_used_assertions_tenant_id_foreign',
    'FOREIGN KEY (tenant_id) REFERENCES jwt_bearer_tenants(id) ON DELETE CASCADE',
  ],
];

/** Secondary indexes (besides those of the constraints above). */
const INDEXES = [
  ['jwt_bearer_issued_tokens_idp', 'jwt_bearer_issued_tokens', '(idp_id)'],
  ['jwt_bearer_issued_tokens_parent', 'jwt_bearer_issued_tokens', '(parent_id)'],
  ['jwt_bearer_issued_tokens_tenant_client', 'jwt_bearer_issued_tokens', '(tenant_id, client_id)'],
  ['jwt_bearer_issued_tokens_tenant_idp', 'jwt_bearer_issued_tokens', '(tenant_id, idp_name)'],
  ['jwt_bearer_issued_tokens_tenant_subject', 'jwt_bearer_issued_tokens', '(tenant_id, subject)'],
  ['jwt_bearer_used_assertions_expires_at', 'jwt_bearer_used_assertions', '(expires_at)'],
];

async function tables(knex: Knex): Promise<string[]> {
  const { rows } = await knex.raw(
    `select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
  );
  return rows.map((r: { name: string }) => r.name);
}

async function constraints(knex: Knex): Promise<string[][]> {
  const { rows } = await knex.raw(
    `select conrelid::regclass::text as tbl, conname, pg_get_constraintdef(oid) as def
       from pg_constraint
      where connamespace = current_schema()::regnamespace and contype in ('p', 'u', 'f', 'c')
        and conrelid::regclass::text like 'jwt_bearer%' and conrelid::regclass::text not like 'jwt_bearer_migrations%'
      order by 1, 2`,
  );
  return rows.map((r: { tbl: string; conname: string; def: string }) => [r.tbl, r.conname, r.def]);
}

async function secondaryIndexes(knex: Knex): Promise<string[][]> {
  const { rows } = await knex.raw(
    `select i.indexname, i.tablename, substring(i.indexdef from '\\(.*\\)$') as cols
       from pg_indexes i
      where i.schemaname = current_schema() and i.tablename like 'jwt_bearer%'
        and not exists (select 1 from pg_constraint c where c.conname = i.indexname)
      order by 1`,
  );
  return rows.map((r: { indexname: string; tablename: string; cols: string }) => [r.indexname, r.tablename, r.cols]);
}

async function columns(knex: Knex, table: string): Promise<string[]> {
  const { rows } = await knex.raw(
    `select column_name || ' ' || udt_name || case when is_nullable = 'NO' then ' not null' else '' end as col
       from information_schema.columns where table_schema = current_schema() and table_name = ? order by ordinal_position`,
    [table],
  );
  return rows.map((r: { col: string }) => r.col);
}

async function count(knex: Knex, table: string): Promise<number> {
  const [row] = await knex(table).count({ n: '*' });
  if (!row) throw new Error(`count(*) of ${table} returned no row`);
  return Number(row.n);
}

async function sqlStateOf(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string }> {
  const error = await promise.then(
    () => ({}) as { code?: string; constraint?: string },
    (e: { code?: string; constraint?: string }) => e,
  );
  return { code: error.code, constraint: error.constraint };
}

describe('migrate', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.close());

  it('creates every docs/storage.md table, and our own bookkeeping tables only', async () => {
    expect(await tables(db.knex)).toEqual([...SCHEMA_TABLES, ...BOOKKEEPING_TABLES].sort());
    const { rows } = await db.knex.raw(`select to_regclass('knex_migrations') as a, to_regclass('knex_migrations_lock') as b`);
    expect(rows[0]).toEqual({ a: null, b: null });
  });

  it('records the migrations in jwt_bearer_migrations under their extension-less names', async () => {
    expect(MIGRATIONS_TABLE).toBe('jwt_bearer_migrations');
    expect(await db.knex('jwt_bearer_migrations').orderBy('id').pluck('name')).toEqual(MIGRATIONS);
    expect(await migrationStatus(db.knex)).toEqual({ applied: MIGRATIONS, pending: [] });
  });

  it('creates the unique, primary key, foreign key (cascade / set null) and check constraints', async () => {
    expect(await constraints(db.knex)).toEqual(CONSTRAINTS);
  });

  it('creates the lookup indexes, including those behind ON DELETE SET NULL', async () => {
    expect(await secondaryIndexes(db.knex)).toEqual(INDEXES);
  });

  it('gives the columns their types and nullability', async () => {
    expect(await columns(db.knex, 'jwt_bearer_tenants')).toEqual([
      'id uuid not null',
      'domain text not null',
      'created_at timestamptz not null',
    ]);
    expect(await columns(db.knex, 'jwt_bearer_identity_providers')).toEqual([
      'id uuid not null',
      'tenant_id uuid not null',
      'name text not null',
      'display_name text',
      'enabled bool not null',
      'algorithms _text',
      'jwks_uri text',
      'require_jti bool not null',
      'max_assertion_lifetime_seconds int4 not null',
      'iat_max_age_seconds int4',
      'clock_skew_seconds int4 not null',
      'allowed_subjects _text',
      'allowed_clients _text',
      'allowed_scopes _text',
      'issue_refresh_token bool not null',
      'created_at timestamptz not null',
      'updated_at timestamptz not null',
      'replay_policy text not null',
      'discovery_url text',
    ]);
    expect(await columns(db.knex, 'jwt_bearer_idp_aliases')).toEqual([
      'idp_id uuid not null',
      'alias text not null',
      'created_at timestamptz not null',
    ]);
    expect(await columns(db.knex, 'jwt_bearer_idp_certificates')).toEqual([
      'id uuid not null',
      'idp_id uuid not null',
      'pem text not null',
      'thumbprint text not null',
      'subject text not null',
      'not_before timestamptz not null',
      'not_after timestamptz not null',
      'kid text',
      'created_at timestamptz not null',
    ]);
    expect(await columns(db.knex, 'jwt_bearer_used_assertions')).toEqual([
      'jti text not null',
      'expires_at timestamptz not null',
      'tenant_id uuid not null',
      'idp_name text not null',
    ]);
    expect(await columns(db.knex, 'jwt_bearer_issued_tokens')).toEqual([
      'id uuid not null',
      'tenant_id uuid not null',
      'idp_id uuid',
      'idp_name text not null',
      'client_id text not null',
      'subject text not null',
      'jti text',
      'scope text',
      'access_token_sha256 text not null',
      'refresh_token_sha256 text',
      'parent_id uuid',
      'issued_at timestamptz not null',
      'expires_at timestamptz not null',
      'revoked_at timestamptz',
      'rule_name text',
    ]);
    expect(await columns(db.knex, 'jwt_bearer_idp_rules')).toEqual([
      'id uuid not null',
      'idp_id uuid not null',
      'name text not null',
      'condition text not null',
      'subject text',
      'clients _text not null',
      'scopes _text',
      'mode text not null',
      'position int4 not null',
      'created_at timestamptz not null',
      'updated_at timestamptz not null',
    ]);
  });

  it('creates the default tenant carbon.super, once', async () => {
    expect(await db.knex('jwt_bearer_tenants').pluck('domain')).toEqual(['carbon.super']);
  });

  it('is a no-op the second time', async () => {
    const before = await constraints(db.knex);
    expect(await migrate(db.knex)).toEqual([]);
    expect(await migrate(db.knex)).toEqual([]);
    expect(await db.knex('jwt_bearer_migrations').orderBy('id').pluck('name')).toEqual(MIGRATIONS);
    expect(await db.knex('jwt_bearer_tenants').pluck('domain')).toEqual(['carbon.super']);
    expect(await constraints(db.knex)).toEqual(before);
  });

  it('serialises concurrent migrate() calls on one knex', async () => {
    expect(await Promise.all([migrate(db.knex), migrate(db.knex), migrate(db.knex)])).toEqual([[], [], []]);
  });

  describe('constraints at work', () => {
    let tenantId: string;
    beforeAll(async () => {
      tenantId = (await db.knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
    });
    afterEach(async () => {
      await db.knex('jwt_bearer_issued_tokens').del();
      await db.knex('jwt_bearer_identity_providers').del();
      await db.knex('jwt_bearer_tenants').whereNot({ domain: 'carbon.super' }).del();
    });

    const idp = (name: string, extra: Record<string, unknown> = {}) =>
      db
        .knex('jwt_bearer_identity_providers')
        .insert({ tenant_id: tenantId, name, ...extra })
        .returning('id')
        .then(([r]) => r.id as string);

    it('refuses algorithm lists containing none or an HMAC algorithm', async () => {
      for (const algorithms of [['RS256', 'none'], ['HS256'], ['ES256', 'HS384'], ['HS512']]) {
        expect(await sqlStateOf(idp(`idp-${algorithms.join('-')}`, { algorithms }))).toEqual({
          code: '23514',
          constraint: 'jwt_bearer_idp_no_symmetric_algs',
        });
      }
      await idp('asymmetric', { algorithms: ['RS256', 'ES256', 'EdDSA'] });
      await idp('default-list', { algorithms: null });
      expect(await db.knex('jwt_bearer_identity_providers').orderBy('name').pluck('name')).toEqual(['asymmetric', 'default-list']);
    });

    it('refuses an empty name, a non-positive lifetime or iat age, and a negative skew', async () => {
      expect(await sqlStateOf(idp(''))).toEqual({ code: '23514', constraint: 'jwt_bearer_idp_name_nonempty' });
      expect(await sqlStateOf(idp('a', { max_assertion_lifetime_seconds: 0 }))).toEqual({
        code: '23514',
        constraint: 'jwt_bearer_idp_lifetime_positive',
      });
      expect(await sqlStateOf(idp('b', { iat_max_age_seconds: 0 }))).toEqual({
        code: '23514',
        constraint: 'jwt_bearer_idp_iat_age_positive',
      });
      expect(await sqlStateOf(idp('c', { clock_skew_seconds: -1 }))).toEqual({
        code: '23514',
        constraint: 'jwt_bearer_idp_skew_nonnegative',
      });
      expect(await count(db.knex, 'jwt_bearer_identity_providers')).toBe(0);
    });

    it('keeps IdP names unique per tenant, not across tenants', async () => {
      await idp('jwtIDP');
      expect(await sqlStateOf(idp('jwtIDP'))).toEqual({ code: '23505', constraint: 'jwt_bearer_identity_providers_tenant_id_name_unique' });
      const [other] = await db.knex('jwt_bearer_tenants').insert({ domain: 'other.example' }).returning('id');
      await db.knex('jwt_bearer_identity_providers').insert({ tenant_id: other.id, name: 'jwtIDP' });
      expect(await count(db.knex, 'jwt_bearer_identity_providers')).toBe(2);
      expect(await sqlStateOf(db.knex('jwt_bearer_tenants').insert({ domain: 'other.example' }))).toEqual({
        code: '23505',
        constraint: 'jwt_bearer_tenants_domain_unique',
      });
    });

    it('keeps aliases and certificate thumbprints unique per IdP', async () => {
      const a = await idp('a');
      const b = await idp('b');
      await db.knex('jwt_bearer_idp_aliases').insert([
        { idp_id: a, alias: 'https://x/token' },
        { idp_id: b, alias: 'https://x/token' },
      ]);
      expect(await sqlStateOf(db.knex('jwt_bearer_idp_aliases').insert({ idp_id: a, alias: 'https://x/token' }))).toEqual({
        code: '23505',
        constraint: 'jwt_bearer_idp_aliases_pkey',
      });
      const cert = { pem: 'PEM', thumbprint: 'T1', subject: 'CN=a', not_before: new Date(0), not_after: new Date(1e12) };
      await db.knex('jwt_bearer_idp_certificates').insert([
        { idp_id: a, ...cert },
        { idp_id: b, ...cert },
      ]);
      expect(await sqlStateOf(db.knex('jwt_bearer_idp_certificates').insert({ idp_id: a, ...cert }))).toEqual({
        code: '23505',
        constraint: 'jwt_bearer_idp_certificates_idp_id_thumbprint_unique',
      });
    });

    it('deletes aliases and certificates with their IdP but keeps its replay records; audit rows keep idp_name with idp_id NULL', async () => {
      const gone = await idp('gone');
      const kept = await idp('kept');
      for (const [id, name] of [
        [gone, 'gone'],
        [kept, 'kept'],
      ]) {
        await db.knex('jwt_bearer_idp_aliases').insert({ idp_id: id, alias: 'aud' });
        await db
          .knex('jwt_bearer_idp_certificates')
          .insert({ idp_id: id, pem: 'PEM', thumbprint: 'T', subject: 'CN=x', not_before: new Date(0), not_after: new Date(1e12) });
        await db.knex('jwt_bearer_used_assertions').insert({ tenant_id: tenantId, idp_name: name, jti: 'j1', expires_at: new Date(2e12) });
      }
      await db.knex('jwt_bearer_issued_tokens').insert({
        tenant_id: tenantId,
        idp_id: gone,
        idp_name: 'gone',
        client_id: 'c',
        subject: 's',
        access_token_sha256: 'a1',
        expires_at: new Date(2e12),
      });

      await db.knex('jwt_bearer_identity_providers').where({ id: gone }).del();

      for (const table of ['jwt_bearer_idp_aliases', 'jwt_bearer_idp_certificates']) {
        expect(await db.knex(table).pluck('idp_id')).toEqual([kept]);
      }
      // A re-created IdP of the same name must still find its used jtis (RFC 7523 §3: single use per issuer).
      expect(await db.knex('jwt_bearer_used_assertions').orderBy('idp_name').pluck('idp_name')).toEqual(['gone', 'kept']);
      await db.knex('jwt_bearer_used_assertions').del();
      expect(await db.knex('jwt_bearer_issued_tokens').select('idp_id', 'idp_name', 'access_token_sha256')).toEqual([
        { idp_id: null, idp_name: 'gone', access_token_sha256: 'a1' },
      ]);
    });

    it('sets parent_id NULL when a parent audit row goes, and deletes a tenant with everything in it', async () => {
      const [tenant] = await db.knex('jwt_bearer_tenants').insert({ domain: 'doomed.example' }).returning('id');
      const [doomedIdp] = await db.knex('jwt_bearer_identity_providers').insert({ tenant_id: tenant.id, name: 'x' }).returning('id');
      const row = { idp_name: 'x', client_id: 'c', subject: 's', expires_at: new Date(2e12) };
      const [parent] = await db
        .knex('jwt_bearer_issued_tokens')
        .insert({ tenant_id: tenantId, access_token_sha256: 'p', ...row })
        .returning('id');
      await db.knex('jwt_bearer_issued_tokens').insert({ tenant_id: tenantId, access_token_sha256: 'c', parent_id: parent.id, ...row });
      await db.knex('jwt_bearer_issued_tokens').insert({ tenant_id: tenant.id, idp_id: doomedIdp.id, access_token_sha256: 'd', ...row });

      await db.knex('jwt_bearer_issued_tokens').where({ id: parent.id }).del();
      expect(await db.knex('jwt_bearer_issued_tokens').where({ access_token_sha256: 'c' }).first('parent_id')).toEqual({ parent_id: null });

      await db.knex('jwt_bearer_tenants').where({ id: tenant.id }).del();
      expect(await db.knex('jwt_bearer_issued_tokens').orderBy('access_token_sha256').pluck('access_token_sha256')).toEqual(['c']);
      expect(await count(db.knex, 'jwt_bearer_identity_providers')).toBe(0);
    });
  });

  // Last: it takes the schema down and up again.
  it('rolls everything back, then migrates again from scratch', async () => {
    expect(await rollback(db.knex, { all: true })).toEqual([...MIGRATIONS].reverse());
    expect(await tables(db.knex)).toEqual(BOOKKEEPING_TABLES);
    expect(await migrationStatus(db.knex)).toEqual({ applied: [], pending: MIGRATIONS });
    expect(await rollback(db.knex, { all: true })).toEqual([]);

    expect(await migrate(db.knex)).toEqual(MIGRATIONS);
    expect(await tables(db.knex)).toEqual([...SCHEMA_TABLES, ...BOOKKEEPING_TABLES].sort());
    expect(await constraints(db.knex)).toEqual(CONSTRAINTS);
    expect(await db.knex('jwt_bearer_tenants').pluck('domain')).toEqual(['carbon.super']);
  });
});

const adminUrl = process.env.TEST_DATABASE_URL;
const onPostgres = adminUrl ? describe : describe.skip;

onPostgres('migrate on PostgreSQL, several processes at once', () => {
  it('lets 4 separate knex instances migrate one fresh database at once: all succeed, one applies', async () => {
    const blank = await createBlankPostgresDatabase(adminUrl!);
    const open = () => openDatabase({ databaseUrl: blank.url, poolMax: 2, acquireTimeoutMs: 10_000 });
    const instances = await Promise.all([open(), open(), open(), open()]);
    try {
      const results = await Promise.all(instances.map((knex) => migrate(knex)));
      expect(results.filter((applied) => applied.length > 0)).toEqual([MIGRATIONS]);
      expect(results.flat()).toEqual(MIGRATIONS);
      expect(await tables(instances[0])).toEqual([...SCHEMA_TABLES, ...BOOKKEEPING_TABLES].sort());
      expect(await instances[1]('jwt_bearer_migrations').orderBy('id').pluck('name')).toEqual(MIGRATIONS);
      expect(await instances[2]('jwt_bearer_tenants').pluck('domain')).toEqual(['carbon.super']);
      expect(await instances[3]('jwt_bearer_migrations_lock').pluck('is_locked')).toEqual([0]);
      const { rows } = await instances[0].raw(`select count(*)::int as n from pg_locks
         where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`);
      expect(rows[0].n).toBe(0);
    } finally {
      await Promise.all(instances.map((knex) => knex.destroy()));
      await blank.drop();
    }
  });

  it('refuses a pool of one connection on PostgreSQL with a clear message', async () => {
    const knex = createKnex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
    try {
      await expect(migrate(knex)).rejects.toThrow(
        'migrate(knex): on PostgreSQL the pool needs at least 2 connections (one holds the migration lock).',
      );
    } finally {
      await knex.destroy();
    }
  });
});
