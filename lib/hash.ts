import { createHash } from 'node:crypto';

/** Hex SHA-256 of a token: how tokens are named in the audit, so a raw token is never stored. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
