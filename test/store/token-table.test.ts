/**
 * KnexGrantStore's `tokenTable`: the host's token row written in the statement of the replay record and
 * audit row. Exactly-once is tested by breaking it on purpose: replays inside one batch, a replay of a
 * live record, and a statement that fails because of one row of its batch.
 */
import { ConfigurationError, StoreUnavailableError } from '../../lib/errors';
import { KnexGrantStore } from '../../lib/store/knex-store';
import type { TokenTable } from '../../lib/store/token-table';
import { JWT_BEARER_GRANT_TYPE } from '../../lib/grant/jwt-bearer-grant';
import { sha256 } from '../../lib/hash';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { postToken } from '../helpers/grant-fixture';
import { buildHostApp, HOSTS, TOKEN_URL } from '../helpers/host-app';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { seedIdp } from '../helpers/seed';
import { insertIdp, issuance } from './fixtures';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const HOST_TOKENS: TokenTable = {
  table: 'host_tokens',
  columns: {
    tenant_id: 'uuid',
    access_token_sha256: 'text',
    expires_at: 'timestamptz',
    user: 'jsonb',
    scope: 'text[]',
    note: 'text',
    n: 'integer',
  },
};

let db: TestDatabase;
let store: KnexGrantStore;
let tenantId: string;
let idpId: string;
const idpName = 'https://idp.example/token-table';

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create table host_tokens (
    id bigint generated always as identity primary key,
    tenant_id uuid not null references jwt_bearer_tenants (id),
    access_token_sha256 text not null unique,
    expires_at timestamptz not null,
    "user" jsonb not null,
    scope text[] not null default '{}',
    note text check (note is distinct from 'boom'),
    n integer,
    saved_at timestamptz not null default now())`);
  store = new KnexGrantStore(db.knex, { tokenTable: HOST_TOKENS });
  tenantId = (await db.knex('jwt_bearer_tenants').where({ domain: 'carbon.super' }).first('id')).id;
  idpId = await insertIdp(db.knex, { tenant_id: tenantId, name: idpName });
});
afterAll(() => db?.close());

const input = (replayKey: string, note: string | null = null) => {
  const i = issuance({ tenantId, idpId, idpName, replayKey, jti: replayKey });
  return {
    ...i,
    tokenRow: {
      tenant_id: tenantId,
      access_token_sha256: i.accessTokenSha256,
      expires_at: i.expiresAt,
      user: { id: 'alice', sub: 'alice' },
      scope: ['read', 'write x'],
      note,
    },
  };
};
const count = async (table: string, where: Record<string, unknown> = {}) =>
  Number((await db.knex(table).where(where).count({ n: '*' }))[0]!.n);
const hostRowsOf = (keys: string[]) => db.knex('host_tokens').whereIn('access_token_sha256', keys).select();

describe('configuration', () => {
  it('says it writes token rows only when given a token table', () => {
    expect(store.writesTokenRows).toBe(true);
    expect(new KnexGrantStore(db.knex).writesTokenRows).toBe(false);
  });

  it.each([
    [
      { table: 'bad name', columns: { a: 'text' } },
      'tokenTable.table must be a table name such as "tokens" or "auth.tokens"; got "bad name".',
    ],
    [{ table: 'a.b.c', columns: { a: 'text' } }, 'tokenTable.table must be a table name such as "tokens" or "auth.tokens"; got "a.b.c".'],
    [{ table: 't', columns: {} }, 'tokenTable.columns must name at least one column and its type.'],
    [{ table: 't', columns: { 'a"; drop': 'text' } }, 'tokenTable column "a\\"; drop" is not a plain identifier.'],
    [
      { table: 't', columns: { a: 'json' } },
      'tokenTable column "a" has type "json"; use one of text, uuid, timestamptz, jsonb, text[], boolean, integer, bigint.',
    ],
  ])('refuses %j at construction', (tokenTable, message) => {
    expect(() => new KnexGrantStore(db.knex, { tokenTable: tokenTable as TokenTable })).toThrow(ConfigurationError);
    expect(() => new KnexGrantStore(db.knex, { tokenTable: tokenTable as TokenTable })).toThrow(
      `new KnexGrantStore(knex, { tokenTable }): ${message}`,
    );
  });

  it('refuses a token row the store cannot write, before writing anything', async () => {
    const plain = new KnexGrantStore(db.knex);
    const lone = input('no-table');
    await expect(plain.recordIssuance(lone, NOW)).rejects.toThrow(
      'recordIssuance: a tokenRow was given, but this store has no tokenTable to write it to.',
    );
    await expect(store.recordIssuance({ ...lone, tokenRow: { ...lone.tokenRow, colour: 'red' } }, NOW)).rejects.toThrow(
      'recordIssuance: tokenRow has column "colour", which the store\'s tokenTable does not list.',
    );
    await expect(store.recordIssuance({ ...lone, tokenRow: { ...lone.tokenRow, colour: 'red' } }, NOW)).rejects.toThrow(ConfigurationError);
    expect(await count('jwt_bearer_used_assertions', { jti: 'no-table' })).toBe(0);
  });
});

describe('one statement for replay record, audit row and token row', () => {
  it('writes the row with its values converted to the column types', async () => {
    const one = input('typed');
    const auditId = await store.recordIssuance(one, NOW);
    expect(auditId).not.toBeNull();
    const [row] = await hostRowsOf([one.accessTokenSha256]);
    expect(row).toMatchObject({
      tenant_id: tenantId,
      expires_at: one.expiresAt,
      user: { id: 'alice', sub: 'alice' },
      scope: ['read', 'write x'],
      note: null,
      n: null,
    });
    expect(await count('jwt_bearer_issued_tokens', { id: auditId, access_token_sha256: one.accessTokenSha256 })).toBe(1);
  });

  it('writes no token row for a replay of a live record', async () => {
    const first = input('live');
    const again = input('live');
    expect(await store.recordIssuance(first, NOW)).not.toBeNull();
    expect(await store.recordIssuance(again, new Date(NOW.getTime() + 1000))).toBeNull();
    expect((await hostRowsOf([first.accessTokenSha256, again.accessTokenSha256])).map((r) => r.access_token_sha256)).toEqual([
      first.accessTokenSha256,
    ]);
  });

  it('many concurrent uses of one key, batched with fresh keys: exactly one token row per key', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => input(i % 4 === 0 ? `fresh-${i}` : 'contested'));
    const answers = await Promise.all(inputs.map((i) => store.recordIssuance(i, NOW)));
    const won = inputs.filter((_, k) => answers[k] !== null);
    expect(won.filter((i) => i.replayKey === 'contested')).toHaveLength(1);
    expect(won.filter((i) => i.replayKey.startsWith('fresh-'))).toHaveLength(10);
    const rows = await hostRowsOf(inputs.map((i) => i.accessTokenSha256));
    expect(rows.map((r) => r.access_token_sha256).sort()).toEqual(won.map((i) => i.accessTokenSha256).sort());
    expect(await count('jwt_bearer_issued_tokens', { jti: 'contested' })).toBe(1);
  });

  it('a statement that fails because of one row writes nothing for any request of its batch, and burns no key', async () => {
    const gate = db.knex.transaction();
    const trx = await gate;
    // Hold the table so that the requests below queue up and go as one batch behind a first one.
    await trx.raw('lock table jwt_bearer_used_assertions in exclusive mode');
    const ahead = store.recordIssuance(input('ahead'), NOW);
    await new Promise((r) => setTimeout(r, 100));
    const batch = [input('fail-a'), input('fail-b', 'boom'), input('fail-c')];
    const answers = batch.map((i) =>
      store.recordIssuance(i, NOW).then(
        () => 'written',
        (e: unknown) => e,
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    await trx.commit();
    expect(await ahead).not.toBeNull();
    for (const answer of await Promise.all(answers)) expect(answer).toBeInstanceOf(StoreUnavailableError);
    const keys = batch.map((i) => i.replayKey);
    expect(Number((await db.knex('jwt_bearer_used_assertions').whereIn('jti', keys).count({ n: '*' }))[0]!.n)).toBe(0);
    expect(Number((await db.knex('jwt_bearer_issued_tokens').whereIn('jti', keys).count({ n: '*' }))[0]!.n)).toBe(0);
    expect(await hostRowsOf(batch.map((i) => i.accessTokenSha256))).toEqual([]);
    // Nothing was burnt: the same keys work afterwards.
    expect(await store.recordIssuance(input('fail-a'), NOW)).not.toBeNull();
    expect(await store.recordIssuance(input('fail-b'), NOW)).not.toBeNull();
  });

  it('writes a token row for every use of a key that asks for no replay record (replay policy reuse), in the same statement', async () => {
    const uses = [input('reused'), input('reused'), input('reused')].map((i) => ({ ...i, recordReplay: false }));
    const answers = await Promise.all(uses.map((i) => store.recordIssuance(i, NOW)));
    expect(answers.every((id) => typeof id === 'string')).toBe(true);
    expect((await hostRowsOf(uses.map((i) => i.accessTokenSha256))).map((r) => r.access_token_sha256).sort()).toEqual(
      uses.map((i) => i.accessTokenSha256).sort(),
    );
    expect(await count('jwt_bearer_issued_tokens', { jti: 'reused' })).toBe(3);
    expect(await count('jwt_bearer_used_assertions', { jti: 'reused' })).toBe(0);
  });

  it('an issuance without a token row is recorded as always, with no host row', async () => {
    const { tokenRow: _none, ...bare } = input('bare');
    expect(await store.recordIssuance(bare, NOW)).not.toBeNull();
    expect(await hostRowsOf([bare.accessTokenSha256])).toEqual([]);
    expect(await count('jwt_bearer_issued_tokens', { jti: 'bare' })).toBe(1);
  });
});

describe.each(HOSTS)('the grant on $name', (hut) => {
  let key: TestSigningKey;
  const issuer = `https://idp.example/grant-token-row/${hut.host === HOSTS[0].host ? 5 : 3}`;
  beforeAll(async () => {
    key = await makeSigningKey('RS256', { kid: 'grant-token-row' });
    await seedIdp(db.knex, { name: issuer, certificates: [{ pem: key.certificatePem, kid: key.kid }], aliases: [TOKEN_URL] });
  });
  const assertion = (jti: string) => signAssertion(key, assertionClaims({ iss: issuer, aud: TOKEN_URL, sub: 'alice', jti }));
  /** A model answering `jwtBearerTokenRow` with a host_tokens row (and counting calls of both methods). */
  function withTokenRow(model: Record<string, any>) {
    const calls = { saveToken: 0, jwtBearerTokenRow: 0 };
    const saveToken = model.saveToken;
    model.saveToken = function (...args: unknown[]) {
      calls.saveToken++;
      return saveToken.apply(this, args);
    };
    model.jwtBearerTokenRow = (token: any, client: any, user: any) => {
      calls.jwtBearerTokenRow++;
      return {
        row: {
          tenant_id: tenantId,
          access_token_sha256: sha256(token.accessToken),
          expires_at: token.accessTokenExpiresAt,
          user,
          scope: [],
          note: 'grant',
        },
        saved: { ...token, client, user },
      };
    };
    return calls;
  }
  const form = async (jti: string) => ({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: await assertion(jti) });

  it("with a token-writing store, writes the model's row in the issuance statement instead of calling saveToken; a replay writes none", async () => {
    const { app, model } = buildHostApp(hut, { store });
    const calls = withTokenRow(model);
    const jti = `grant-one-${hut.host === HOSTS[0].host ? 5 : 3}`;
    const body = await form(jti);
    const res = await postToken(app, body);
    expect(res.status).toBe(200);
    expect(calls).toEqual({ saveToken: 0, jwtBearerTokenRow: 1 });
    expect(await hostRowsOf([sha256(res.body.access_token)])).toEqual([
      expect.objectContaining({ note: 'grant', user: { id: 'alice', sub: 'alice', idp: issuer, tenant: 'carbon.super' } }),
    ]);
    const replay = await postToken(app, body);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(await count('host_tokens', { note: 'grant' })).toBe(hut.host === HOSTS[0].host ? 1 : 2); // one per host line so far
    expect(model.tokens.size).toBe(0);
  });

  it('with a store that writes no token rows, calls saveToken as always, even if the model has jwtBearerTokenRow', async () => {
    const { app, model } = buildHostApp(hut, { store: new KnexGrantStore(db.knex) });
    const calls = withTokenRow(model);
    const res = await postToken(app, await form(`grant-plain-${hut.host === HOSTS[0].host ? 5 : 3}`));
    expect(res.status).toBe(200);
    expect(calls).toEqual({ saveToken: 1, jwtBearerTokenRow: 0 });
    expect(await hostRowsOf([sha256(res.body.access_token)])).toEqual([]);
    expect(model.tokens.has(res.body.access_token)).toBe(true);
  });

  it('with a token-writing store but a model without jwtBearerTokenRow, calls saveToken as always', async () => {
    const { app, model } = buildHostApp(hut, { store });
    const res = await postToken(app, await form(`grant-nohook-${hut.host === HOSTS[0].host ? 5 : 3}`));
    expect(res.status).toBe(200);
    expect(model.tokens.has(res.body.access_token)).toBe(true);
    expect(await hostRowsOf([sha256(res.body.access_token)])).toEqual([]);
  });
});
