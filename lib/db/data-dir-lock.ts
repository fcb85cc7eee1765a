import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { OAuth2JwtBearerError } from '../errors';

/**
 * Refused to open an embedded database directory that a live process holds. Two processes on one PGlite
 * directory do not see each other's writes and silently diverge, so this is never overridden.
 * Code: `data_dir_locked`.
 */
export class DataDirLockedError extends OAuth2JwtBearerError {
  readonly code = 'data_dir_locked';
  constructor(
    readonly lockFile: string,
    readonly pid: number,
  ) {
    super(
      `The embedded database is in use by process ${pid} (lock file ${lockFile}). ` +
        'Stop that process, or give this one its own DATA_DIR or a DATABASE_URL. ' +
        'If no such process runs any more, delete the lock file.',
    );
    this.name = 'DataDirLockedError';
  }
}

/** A held lock; {@link DataDirLock.release} is idempotent. */
export interface DataDirLock {
  readonly file: string;
  release(): Promise<void>;
}

interface LockContent {
  pid: number;
  host: string;
  since: string;
}

// A takeover marker older than this belongs to a process that died mid-takeover.
const TAKEOVER_STALE_MS = 10_000;
const MAX_ATTEMPTS = 200;

/**
 * Takes the lock file `file` for this process: creates it exclusively with our pid inside; refuses
 * with {@link DataDirLockedError} while the recorded process is alive (this process included: a second
 * open in one process diverges just the same); takes over a lock whose process is gone.
 *
 * Only a holder of `<file>.takeover` may delete someone else's lock, and it re-reads the lock first,
 * so two processes finding the same stale lock cannot both end up holding it.
 */
export async function acquireDataDirLock(file: string): Promise<DataDirLock> {
  const mine: LockContent = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await createExclusive(file, text)) return held(file, text);
    const holder = await readLock(file);
    if (holder === 'missing') continue; // released meanwhile: try again
    if (holder !== 'unreadable' && isAlive(holder)) throw new DataDirLockedError(file, holder.pid);
    await takeOverStale(file, holder);
  }
  throw new Error(`Could not take the lock file ${file}: it keeps changing. Is another process starting on the same directory?`);
}

function held(file: string, text: string): DataDirLock {
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      // Delete only our own lock: never one a later process took over.
      const current = await readFile(file, 'utf8').catch(() => null);
      if (current === text) await unlink(file).catch(() => undefined);
    },
  };
}

async function createExclusive(file: string, text: string): Promise<boolean> {
  try {
    await writeFile(file, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function readLock(file: string): Promise<LockContent | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (Number.isInteger(parsed.pid) && (parsed.pid as number) > 0 && typeof parsed.host === 'string') return parsed as LockContent;
  } catch {
    // fall through: a half-written or foreign file
  }
  // A crash between create and write leaves an empty file; give its writer a moment before calling it stale.
  const age = Date.now() - (await stat(file).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
  if (age > 2000) return 'unreadable';
  await sleep(50);
  return 'missing'; // as good as: look again
}

/** Whether the process recorded in a lock may still be running. Another host's process cannot be checked: assume alive. */
function isAlive(holder: LockContent): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

async function takeOverStale(file: string, seen: LockContent | 'unreadable'): Promise<void> {
  const marker = `${file}.takeover`;
  if (!(await createExclusive(marker, `${process.pid}\n`))) {
    const age = Date.now() - (await stat(marker).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > TAKEOVER_STALE_MS) await unlink(marker).catch(() => undefined);
    await sleep(20 + Math.random() * 30);
    return;
  }
  try {
    const again = await readLock(file);
    const unchanged =
      again === 'unreadable'
        ? seen === 'unreadable'
        : again !== 'missing' && seen !== 'unreadable' && again.pid === seen.pid && again.since === seen.since;
    if (unchanged) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(marker).catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
