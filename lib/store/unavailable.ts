import { StoreUnavailableError } from '../errors';

/**
 * Runs one database call and turns whatever it throws into {@link StoreUnavailableError}, the original
 * kept as `cause`: connection refused or reset, connect/acquire/statement timeouts (`KnexTimeoutError`,
 * SQLSTATE classes 08, 53, 57), a closed PGlite, and any other driver error. Callers then answer 503
 * without parsing driver messages, and a raw driver text never reaches a client. Only the database call
 * goes in here; mapping its result stays outside, so a bug in our own code is not disguised as an outage.
 */
export async function unlessUnavailable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error);
  }
}

