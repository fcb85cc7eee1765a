import type { Knex } from 'knex';

/**
 * Issued-token audit rows that have no replay record (docs/validation.md step 9: "no token without its replay
 * record"): by (tenant, IdP name, jti) where there is a jti; where there is none (the replay key is a hash of the
 * signing input, not kept in the audit row), by count per IdP. Rows of the host's refresh grant
 * (`parent_id` set) are not assertions and are left out. 0 is the only right answer.
 */
export async function tokensWithoutReplayRecord(knex: Knex): Promise<number> {
  const { rows } = await knex.raw<{ rows: Array<{ n: string | number }> }>(
    `select (select count(*) from jwt_bearer_issued_tokens t
              where t.jti is not null and t.parent_id is null
                and not exists (select 1 from jwt_bearer_used_assertions u
                                 where u.tenant_id = t.tenant_id and u.idp_name = t.idp_name and u.jti = t.jti))
          + (select coalesce(sum(greatest(i.n - coalesce(u.n, 0), 0)), 0)
               from (select tenant_id, idp_name, count(*) n from jwt_bearer_issued_tokens
                      where jti is null and parent_id is null group by tenant_id, idp_name) i
               left join (select tenant_id, idp_name, count(*) n from jwt_bearer_used_assertions group by tenant_id, idp_name) u
                 on u.tenant_id = i.tenant_id and u.idp_name = i.idp_name) as n`,
  );
  return Number(rows[0]!.n);
}
