import type { Knex } from 'knex';
import { changeFeedFor, CONFIG_CHANNEL } from '../../lib/cache/change-feed';
import type { TrustRuleMode } from '../../lib/types';

/** A trust rule row (table `jwt_bearer_idp_rules`); omitted fields take the column defaults. */
export interface SeedRule {
  name: string;
  condition: string;
  subject?: string | null;
  clients?: string[];
  scopes?: string[] | null;
  mode?: TrustRuleMode;
  position?: number;
}

/**
 * Inserts a trust rule straight into the table (as a tool or a migration would; nothing compiles it
 * first) and returns its id. The table's trigger notifies the configuration channel, like the admin API.
 */
export async function seedRule(knex: Knex, idpId: string, rule: SeedRule): Promise<string> {
  const [row] = await knex('jwt_bearer_idp_rules')
    .insert({
      idp_id: idpId,
      name: rule.name,
      condition: rule.condition,
      subject: rule.subject ?? null,
      clients: rule.clients ?? [],
      scopes: rule.scopes ?? null,
      mode: rule.mode ?? 'enforce',
      position: rule.position ?? 0,
    })
    .returning('id');
  return row.id;
}

/**
 * Waits until every configuration notification of writes made so far has reached this knex's change
 * feed (the one its store's cache listens to): notifications arrive in commit order, so once one sent
 * now has arrived, the earlier ones have, and the next read sees the change.
 */
export async function settleConfig(knex: Knex, timeoutMs = 5000): Promise<void> {
  const feed = changeFeedFor(knex);
  const started = Date.now();
  const wait = async (done: () => boolean, what: string) => {
    while (!done()) {
      if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const token = `test-barrier-${Math.random().toString(36).slice(2)}`;
  let arrived = false;
  const off = feed.subscribe((table) => {
    if (table === token) arrived = true;
  });
  try {
    await wait(() => feed.trusted, 'the change feed listening');
    await knex.raw('select pg_notify(?, ?)', [CONFIG_CHANNEL, token]);
    await wait(() => arrived, 'the barrier notification');
  } finally {
    off();
  }
}
