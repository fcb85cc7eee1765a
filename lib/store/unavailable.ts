import { classifyDatabaseFailure } from '../db/failure';
import { StoreUnavailableError } from '../errors';

/**
 * Runs one database call and turns what it throws into {@link StoreUnavailableError}, the original
 * kept as `cause`: every failure `classifyDatabaseFailure` calls `unavailable` (connection refused or
 * lost, connect/acquire/statement timeouts, a closed PGlite), and a statement the database `rejected`
 * (the store checks its inputs first, so that means a schema it cannot work with). Callers then answer
 * 503 without parsing driver messages, and a raw driver text never reaches a client. A JavaScript error
 * (`other`) passes unchanged; and only the database call goes in here, mapping its result stays
 * outside, so a bug in our own code is not disguised as an outage.
 */
export async function unlessUnavailable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StoreUnavailableError || classifyDatabaseFailure(error, { fromDatabaseCall: true }) === 'other') throw error;
    throw new StoreUnavailableError(error);
  }
}
