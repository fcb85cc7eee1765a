import type { Knex } from 'knex';

/**
 * Issued-token audit rows that have no replay record (SPEC §3 step 9: "no token without its replay
 * record"): by (IdP, jti) where there is a jti; where there is none (the replay key is a hash of the
 * signing input, not kept in the audit row), by count per IdP. Rows of the host's refresh grant
 * (`parent_id` set) are not assertions and are left out. 0 is the only right answer.
 */
export async function tokensWithoutReplayRecord(knex: Knex): Promise<number> {
  const { rows } = await knex.raw<{ rows: Array<{ n: string | number }> }>(
    `select (select count(*) from jwt_bearer_issued_tokens t
              where t.jti is not null and t.parent_id is null
                and not exists (select 1 from jwt_bearer_used_assertions u where u.idp_id = t.idp_id and u.jti = t.jti))
          + (select coalesce(sum(greatest(i.n - coalesce(u.n, 0), 0)), 0)
               from (select idp_id, count(*) n from jwt_bearer_issued_tokens where jti is null and parent_id is null group by idp_id) i
               left join (select idp_id, count(*) n from jwt_bearer_used_assertions group by idp_id) u on u.idp_id = i.idp_id) as n`,
  );
  return Number(rows[0]!.n);
}
