import type { Knex } from 'knex';

/**
 * A bare replay-table insert for the store floor, written for whichever shape the table has:
 * (tenant_id, idp_name, jti, expires_at) or the older (idp_id, jti, expires_at).
 */
export async function bareReplayInsert(
  knex: Knex,
): Promise<(idp: { id: string; tenantId: string; name: string }, jti: string) => Promise<unknown>> {
  const columns = new Set(Object.keys(await knex('jwt_bearer_used_assertions').columnInfo()));
  return (idp, jti) => {
    const row: Record<string, unknown> = { jti, expires_at: new Date(Date.now() + 3600_000) };
    if (columns.has('tenant_id')) row.tenant_id = idp.tenantId;
    if (columns.has('idp_name')) row.idp_name = idp.name;
    if (columns.has('idp_id')) row.idp_id = idp.id;
    return knex('jwt_bearer_used_assertions').insert(row);
  };
}
