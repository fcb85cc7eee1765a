/**
 * Token-level syntax shared by the grant, the store, the admin API and hosts: one definition each, so
 * that what one layer accepts is exactly what the next one expects.
 */

/** RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (printable ASCII, no space, `"` or `\`). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Whether `value` is one RFC 6749 §3.3 scope-token. */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value);
}

/** A UUID in its canonical textual form (RFC 9562 §4), any case: how every row id is written. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `value` is a UUID. Ids are UUIDs: anything else names no row, and sent to PostgreSQL it would
 * be a cast error (SQLSTATE 22P02) rather than "not found".
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
