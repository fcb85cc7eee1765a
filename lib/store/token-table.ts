import { createHash } from 'node:crypto';
import { ConfigurationError } from '../errors';

/** The PostgreSQL types a {@link TokenTable} column may have. */
export const TOKEN_COLUMN_TYPES = ['text', 'uuid', 'timestamptz', 'jsonb', 'text[]', 'boolean', 'integer', 'bigint'] as const;
/** One of {@link TOKEN_COLUMN_TYPES}: how a column's JSON value is cast in the statement. */
export type TokenColumnType = (typeof TOKEN_COLUMN_TYPES)[number];

/**
 * A host's token table in the same database as the grant's tables, written by the store in the very
 * statement that writes the replay record and the audit row, so that a JWT bearer issuance is one
 * commit instead of two (the host's `saveToken` being the second). Values arrive as JSON and are
 * converted by PostgreSQL's `jsonb_to_recordset`: strings for text, uuid and timestamptz (a `Date`
 * becomes its ISO string), arrays for `text[]`, the value itself (an object, not its JSON text) for
 * `jsonb`. Columns of the table not listed here take their defaults; a listed column that a row leaves
 * out is NULL.
 *
 * @example
 * new KnexGrantStore(knex, {
 *   tokenTable: { table: 'my_tokens', columns: { access_token_sha256: 'text', expires_at: 'timestamptz', user: 'jsonb' } },
 * });
 */
export interface TokenTable {
  /** The table, optionally schema-qualified (`schema.table`); plain identifiers only. */
  table: string;
  /** Column name → its PostgreSQL type. */
  columns: Readonly<Record<string, TokenColumnType>>;
}

/** The key by which a token row is matched to its issuance (the access token's hash); not a host column. */
const KEY = 'jwt_bearer$access_token_sha256';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A validated {@link TokenTable}: the SQL of its insert and the serialisation of its rows. */
export class TokenTableWriter {
  readonly #columns: ReadonlySet<string>;
  /** A `WITH` item inserting the rows of parameter `$param` whose key was `issued` (a CTE returning access_token_sha256). */
  readonly insertSql: (param: number, issued: string) => string;
  /** A short digest of the table's definition, so that differently configured stores prepare differently named statements. */
  readonly digest: string;

  constructor(definition: TokenTable) {
    const where = 'new KnexGrantStore(knex, { tokenTable })';
    if (!definition || typeof definition !== 'object') throw new ConfigurationError(`${where}: tokenTable must be { table, columns }.`);
    const parts = typeof definition.table === 'string' ? definition.table.split('.') : [];
    if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
      throw new ConfigurationError(
        `${where}: tokenTable.table must be a table name such as "tokens" or "auth.tokens"; got ${JSON.stringify(definition.table)}.`,
      );
    }
    const columns = definition.columns && typeof definition.columns === 'object' ? Object.entries(definition.columns) : [];
    if (columns.length === 0) throw new ConfigurationError(`${where}: tokenTable.columns must name at least one column and its type.`);
    for (const [name, type] of columns) {
      if (!IDENTIFIER.test(name))
        throw new ConfigurationError(`${where}: tokenTable column ${JSON.stringify(name)} is not a plain identifier.`);
      if (!TOKEN_COLUMN_TYPES.includes(type)) {
        throw new ConfigurationError(
          `${where}: tokenTable column "${name}" has type ${JSON.stringify(type)}; use one of ${TOKEN_COLUMN_TYPES.join(', ')}.`,
        );
      }
    }
    this.#columns = new Set(columns.map(([name]) => name));
    const table = parts.map(quote).join('.');
    const names = columns.map(([name]) => quote(name)).join(', ');
    const picked = columns.map(([name]) => `h.${quote(name)}`).join(', ');
    const types = [`${quote(KEY)} text`, ...columns.map(([name, type]) => `${quote(name)} ${type}`)].join(', ');
    this.insertSql = (param, issued) =>
      `insert into ${table} (${names})
         select ${picked} from jsonb_to_recordset($${param}::jsonb) as h(${types})
           join ${issued} w on w.access_token_sha256 = h.${quote(KEY)}`;
    this.digest = createHash('sha256')
      .update(JSON.stringify([parts, columns]))
      .digest('hex')
      .slice(0, 12);
  }

  /** Throws (a programming error of the host's) when a row names a column the table was not given. */
  check(row: Readonly<Record<string, unknown>>): void {
    if (!row || typeof row !== 'object') throw new ConfigurationError('recordIssuance: tokenRow must be an object of column values.');
    for (const name of Object.keys(row)) {
      if (!this.#columns.has(name))
        throw new ConfigurationError(`recordIssuance: tokenRow has column "${name}", which the store's tokenTable does not list.`);
    }
  }

  /** The rows of a batch as one JSON array, each tagged with its issuance's access-token hash. */
  serialise(rows: ReadonlyArray<{ key: string; row: Readonly<Record<string, unknown>> }>): string {
    return JSON.stringify(rows.map(({ key, row }) => ({ ...row, [KEY]: key })));
  }
}

function quote(identifier: string): string {
  return `"${identifier}"`;
}
