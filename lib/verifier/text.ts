/**
 * Whether a string from a token can be handed to the database as it is. Postgres `text` holds no NUL
 * character, and UTF-8 cannot encode a lone surrogate (the driver would silently replace it). Such a value
 * reaching a query would be a database error, i.e. a 503 that anyone could trigger without a key.
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}
