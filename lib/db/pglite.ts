import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { knex as createKnex, type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock';
import { markDriverFailures } from './failure';

/** Where, under `dataDir`, the embedded database keeps its files. */
export const PGLITE_SUBDIR = 'pglite';
/** The lock file, under `dataDir`, that keeps a second process off the same files. */
export const PGLITE_LOCK_FILE = 'pglite.lock';

type ClientClass = new (config: Knex.Config) => Knex.Client & { processResponse(obj: unknown, runner: unknown): unknown };
const PgliteClientBase = ClientPgLite as unknown as ClientClass;

/**
 * Opens the embedded database: in memory for `':memory:'`, else under `<dataDir>/pglite/` with the
 * directory lock held until `knex.destroy()`. Resolves once PGlite has started (3–4 s on a cold
 * process), so the first query does not spend its acquire timeout waiting for start-up.
 */
export async function openPglite(options: { dataDir: string; acquireTimeoutMs: number }): Promise<Knex> {
  if (options.dataDir === ':memory:') return knexOver(await PGlite.create(), null, options.acquireTimeoutMs);
  await mkdir(join(options.dataDir, PGLITE_SUBDIR), { recursive: true });
  const lock = await acquireDataDirLock(join(options.dataDir, PGLITE_LOCK_FILE));
  try {
    return knexOver(await PGlite.create(join(options.dataDir, PGLITE_SUBDIR)), lock, options.acquireTimeoutMs);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Whether `knex` runs on the embedded PGlite (one connection, one process) rather than a PostgreSQL server. */
export function isPglite(knex: Knex): boolean {
  return knex.client instanceof PgliteClientBase;
}

const instances = new WeakMap<object, PGlite>();

/**
 * The PGlite instance under a knex that {@link openPglite} made (`undefined` for any other knex), for what
 * knex cannot do on it, such as `LISTEN`: PGlite delivers notifications through `pglite.listen()`.
 */
export function pgliteOf(knex: Knex): PGlite | undefined {
  return instances.get(knex.client);
}

function knexOver(pglite: PGlite, lock: DataDirLock | null, acquireTimeoutMs: number): Knex {
  const knex = createKnex({
    client: pgliteClient(pglite, lock) as unknown as typeof Knex.Client,
    // knex-pglite takes a ready instance from a connection function (its README's documented form).
    connection: (() => ({ pglite })) as unknown as Knex.Config['connection'],
    acquireConnectionTimeout: acquireTimeoutMs,
  });
  instances.set(knex.client, pglite);
  return markDriverFailures(knex);
}

/** The knex-pglite dialect with two repairs; one class per instance, so `destroy()` knows what to free. */
function pgliteClient(pglite: PGlite, lock: DataDirLock | null): ClientClass {
  return class EmbeddedPgliteClient extends PgliteClientBase {
    /**
     * knex-pglite labels a delete "DEL" where knex's pg dialect expects "DELETE", so `del()` resolved to
     * the raw result instead of the row count as it does on pg. Relabel it.
     */
    override processResponse(obj: unknown, runner: unknown): unknown {
      const isDelete = typeof obj === 'object' && obj !== null && 'method' in obj && obj.method === 'del';
      return super.processResponse(isDelete ? { ...obj, method: 'delete' } : obj, runner);
    }

    /** Also closes PGlite when no query ever opened it, and then frees the directory. */
    override async destroy(callback?: (error?: unknown) => void): Promise<void> {
      try {
        await super.destroy(undefined);
        if (!pglite.closed) await pglite.close();
      } catch (error) {
        callback?.(error);
        throw error;
      } finally {
        await lock?.release();
      }
      callback?.();
    }
  };
}
