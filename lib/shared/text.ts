/**
 * Whether a string can be handed to the database as it is. PostgreSQL `text` holds no NUL character
 * (SQLSTATE 22021), and UTF-8 cannot encode a lone surrogate (the driver would silently replace it, so
 * the stored value would differ from the one checked). Such a value reaching a query would be a database
 * error, i.e. a failure anyone could trigger without a key; a value that cannot be stored also cannot
 * match anything stored, so lookups answer "not found" for it without asking.
 */
export function isStorableText(value: unknown): value is string {
  return typeof value === 'string' && !value.includes('\u0000') && (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** C0 controls and DEL: never intended in a name, URL or alias, and they make logs and shell output lie. */
// eslint-disable-next-line no-control-regex -- finding control characters is this pattern's job
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
