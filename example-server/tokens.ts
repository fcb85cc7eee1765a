import type { Knex } from 'knex';
import { sha256 } from '../lib';
import type { TokenRow } from './model';

export type TokenKind = 'access_token' | 'refresh_token';

/**
 * Finds a stored token by its value (hashed: raw tokens are never stored), as an access or a refresh
 * token. `hint` (RFC 7009 §2.1 / RFC 7662 §2.1 `token_type_hint`) only orders the lookup.
 */
export async function findToken(knex: Knex, value: string, hint?: string): Promise<{ row: TokenRow; kind: TokenKind } | null> {
  const hash = sha256(value);
  const kinds: TokenKind[] = hint === 'refresh_token' ? ['refresh_token', 'access_token'] : ['access_token', 'refresh_token'];
  for (const kind of kinds) {
    const row: TokenRow | undefined = await knex('example_tokens').where(`${kind}_sha256`, hash).first();
    if (row) return { row, kind };
  }
  return null;
}
