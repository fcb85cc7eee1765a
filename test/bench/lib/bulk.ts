import type { Client } from 'pg';
import { withClient } from './database';

/**
 * Bulk rows for the growth section, written straight with `insert … select from generate_series` (the
 * admin API would take minutes for 10,000 IdPs), then `vacuum analyze`d as a long-running system's would be.
 */

/** 9,999 (`extra`) more IdPs in the bench IdP's tenant, each with the alias `alias`; no certificates. */
export async function insertExtraIdps(url: string, benchIdpId: string, extra: number, alias: string): Promise<number> {
  const started = performance.now();
  await withClient(url, async (c) => {
    const tenantId = await tenantOf(c, benchIdpId);
    await c.query('begin');
    await c.query(
      `insert into jwt_bearer_identity_providers (tenant_id, name)
       select $1::uuid, 'bench-extra-' || lpad(g::text, 7, '0') from generate_series(1, $2::int) g`,
      [tenantId, extra],
    );
    await c.query(
      `insert into jwt_bearer_idp_aliases (idp_id, alias)
       select id, $2 from jwt_bearer_identity_providers where tenant_id = $1::uuid and name like 'bench-extra-%'`,
      [tenantId, alias],
    );
    await c.query('commit');
    await c.query('vacuum analyze jwt_bearer_identity_providers');
    await c.query('vacuum analyze jwt_bearer_idp_aliases');
    await settle(c);
  });
  return performance.now() - started;
}

/**
 * `rows` unexpired replay records of the bench IdP (so in the very index range its requests write to).
 * Written against whichever shape the table has: (tenant_id, idp_name, jti, expires_at), or the older
 * (idp_id, jti, expires_at); a column of either that exists is filled.
 */
export async function insertReplayRows(
  url: string,
  benchIdp: { id: string; name: string },
  rows: number,
): Promise<{ shape: string; ms: number }> {
  const started = performance.now();
  let shape = '';
  await withClient(url, async (c) => {
    const tenantId = await tenantOf(c, benchIdp.id);
    const columns = new Set(
      (
        await c.query<{ column_name: string }>(
          `select column_name from information_schema.columns where table_schema = current_schema() and table_name = 'jwt_bearer_used_assertions'`,
        )
      ).rows.map((r) => r.column_name),
    );
    const fill: Array<[string, string]> = [
      ['tenant_id', '$1::uuid'],
      ['idp_name', '$2::text'],
      ['idp_id', '$3::uuid'],
      ['jti', `'bulk-' || g`],
      ['expires_at', `now() + interval '1 day'`],
    ];
    const used = fill.filter(([name]) => columns.has(name));
    shape = `(${used.map(([n]) => n).join(', ')})`;
    // Parameters a shape does not use are still typed, so that every shape takes the same four.
    await c.query(
      `insert into jwt_bearer_used_assertions (${used.map(([n]) => n).join(', ')})
       select ${used.map(([, v]) => v).join(', ')} from generate_series(1, $4::int) g, (select $1::uuid, $2::text, $3::uuid) p(a, b, c)`,
      [tenantId, benchIdp.name, benchIdp.id, rows],
    );
    await c.query('vacuum analyze jwt_bearer_used_assertions');
    await settle(c);
  });
  return { shape, ms: performance.now() - started };
}

export async function countRows(url: string, table: 'jwt_bearer_identity_providers' | 'jwt_bearer_used_assertions'): Promise<number> {
  return withClient(url, async (c) => Number((await c.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n));
}

async function tenantOf(c: Client, idpId: string): Promise<string> {
  const row = (await c.query<{ tenant_id: string }>('select tenant_id from jwt_bearer_identity_providers where id = $1::uuid', [idpId]))
    .rows[0];
  if (!row) throw new Error(`no IdP ${idpId} in the benchmark database`);
  return row.tenant_id;
}

/** Writes the bulk insert's dirty pages out now, so a background checkpoint does not land in a measured run. */
async function settle(c: Client): Promise<void> {
  try {
    await c.query('checkpoint');
  } catch {
    // CHECKPOINT needs superuser or pg_checkpoint; without it the runs just start sooner.
  }
}
