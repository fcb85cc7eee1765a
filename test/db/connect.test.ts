/** openDatabase: option checks, bounded waits on PostgreSQL, the embedded database's directory lock. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDataDirLock, DataDirLockedError } from '../../lib/db/data-dir-lock';
import { isPglite, openDatabase } from '../../lib/db/connect';
import { ConfigurationError } from '../../lib/errors';

const adminUrl = process.env.TEST_DATABASE_URL;
const onPostgres = adminUrl ? describe : describe.skip;

async function refusal(options: unknown): Promise<{ name: string; message: string }> {
  return openDatabase(options as never).then(
    async (knex) => {
      await knex.destroy();
      throw new Error('expected a refusal');
    },
    (error: Error) => {
      expect(error).toBeInstanceOf(ConfigurationError);
      return { name: error.name, message: error.message };
    },
  );
}

describe('openDatabase options', () => {
  it.each([
    [null, 'openDatabase(options): options must be an object such as { databaseUrl } or { dataDir }.'],
    [{}, "openDatabase(options): give databaseUrl (PostgreSQL) or dataDir (the embedded database's directory, or ':memory:')."],
    [
      { databaseURL: 'postgres://x/y' },
      'openDatabase(options): unknown option "databaseURL"; known: databaseUrl, dataDir, poolMax, acquireTimeoutMs, queryTimeoutMs.',
    ],
    [
      { databaseUrl: '' },
      'openDatabase(options): databaseUrl must be a non-empty postgres:// URL (or leave it out for the embedded database).',
    ],
    [
      { databaseUrl: 'not a url :secret@' },
      'openDatabase(options): databaseUrl is not a valid URL; expected postgres://user:password@host:5432/database.',
    ],
    [
      { databaseUrl: 'mysql://u:p@h/db' },
      'openDatabase(options): databaseUrl must start with postgres:// or postgresql://; got "mysql://".',
    ],
    [{ dataDir: '' }, `openDatabase(options): dataDir must be a directory path or ':memory:'; got "".`],
    [{ dataDir: 42 }, `openDatabase(options): dataDir must be a directory path or ':memory:'; got 42.`],
    [{ dataDir: ':memory:', poolMax: 1 }, 'openDatabase(options): poolMax must be an integer from 2 to 1000; got 1.'],
    [{ databaseUrl: 'postgres://h/db', poolMax: 2.5 }, 'openDatabase(options): poolMax must be an integer from 2 to 1000; got 2.5.'],
    [
      { databaseUrl: 'postgres://h/db', acquireTimeoutMs: 0 },
      'openDatabase(options): acquireTimeoutMs must be an integer from 1 to 2147483647; got 0.',
    ],
    [
      { databaseUrl: 'postgres://h/db', queryTimeoutMs: '5000' },
      'openDatabase(options): queryTimeoutMs must be an integer from 1 to 2147482647; got "5000".',
    ],
  ])('refuses %j with a ConfigurationError that says what to do', async (options, message) => {
    expect(await refusal(options)).toEqual({ name: 'ConfigurationError', message });
  });

  it('never echoes a password from an unparsable URL', async () => {
    expect((await refusal({ databaseUrl: 'postgres://user:hunter2@host:notaport/db' })).message).not.toContain('hunter2');
  });
});

onPostgres('openDatabase on PostgreSQL', () => {
  it('opens without connecting, so a database that is down at start is not an error yet', async () => {
    const started = Date.now();
    const knex = await openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none' });
    expect(Date.now() - started).toBeLessThan(500);
    expect(isPglite(knex)).toBe(false);
    await knex.destroy();
  });

  it('sets statement_timeout (default 5 s) and an application name', async () => {
    const knex = await openDatabase({ databaseUrl: adminUrl! });
    try {
      const { rows } = await knex.raw(`select current_setting('statement_timeout') as st, current_setting('application_name') as app`);
      expect(rows[0]).toEqual({ st: '5s', app: 'oauth2-jwt-bearer' });
    } finally {
      await knex.destroy();
    }
  });

  it('cancels a statement after queryTimeoutMs (SQLSTATE 57014)', async () => {
    const knex = await openDatabase({ databaseUrl: adminUrl!, queryTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(knex.raw('select pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - started).toBeLessThan(3000);
      // The pool still works afterwards.
      expect((await knex.raw('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await knex.destroy();
    }
  });

  it('bounds the wait for a pooled connection by acquireTimeoutMs', async () => {
    const knex = await openDatabase({ databaseUrl: adminUrl!, poolMax: 2, acquireTimeoutMs: 300 });
    const held = await Promise.all([knex.transaction(), knex.transaction()]);
    try {
      const started = Date.now();
      await expect(knex.raw('select 1')).rejects.toMatchObject({ name: 'KnexTimeoutError' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await Promise.all(held.map((trx) => trx.rollback()));
      await knex.destroy();
    }
  });
});

describe('the embedded database directory lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jwtb-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const lockFile = () => join(dir, 'pglite.lock');
  const lockContent = async () => JSON.parse(await readFile(lockFile(), 'utf8'));
  const writeLock = (pid: number, host = hostname()) =>
    writeFile(lockFile(), JSON.stringify({ pid, host, since: '2020-01-01T00:00:00.000Z' }));

  it('is held with our pid, refuses a second opener, and is released (data kept) on destroy', async () => {
    const first = await openDatabase({ dataDir: dir });
    try {
      expect(isPglite(first)).toBe(true);
      expect(await lockContent()).toMatchObject({ pid: process.pid, host: hostname() });
      expect(existsSync(join(dir, 'pglite', 'PG_VERSION'))).toBe(true);

      const second = openDatabase({ dataDir: dir });
      await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(second).rejects.toMatchObject({ code: 'data_dir_locked', pid: process.pid, lockFile: lockFile() });
      await expect(second).rejects.toThrow(`The embedded database is in use by process ${process.pid} (lock file ${lockFile()}).`);

      await first.raw('create table t (x int)');
      await first('t').insert([{ x: 1 }, { x: 2 }, { x: 3 }]);
      // knex-pglite alone resolves del() to the raw result; ours gives the row count as pg does.
      expect(await first('t').where('x', '<', 3).del()).toBe(2);
    } finally {
      await first.destroy();
    }
    expect(existsSync(lockFile())).toBe(false);

    const again = await openDatabase({ dataDir: dir });
    try {
      expect(await again('t').pluck('x')).toEqual([3]);
    } finally {
      await again.destroy();
    }
    expect(existsSync(lockFile())).toBe(false);
  }, 90_000);

  it('refuses while another live process holds it, and takes it over once that process is gone', async () => {
    const child: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await writeLock(child.pid!);
      await expect(openDatabase({ dataDir: dir })).rejects.toMatchObject({ name: 'DataDirLockedError', pid: child.pid });
      expect((await lockContent()).pid).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const knex = await openDatabase({ dataDir: dir });
    try {
      expect((await lockContent()).pid).toBe(process.pid);
      expect((await knex.raw('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await knex.destroy();
    }
    expect(existsSync(lockFile())).toBe(false);
  }, 90_000);

  it('lets exactly one of many concurrent takers win a stale lock', async () => {
    await writeLock(2 ** 30); // above any pid_max: no such process
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => acquireDataDirLock(lockFile())));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.name)).toEqual(
      Array(11).fill('DataDirLockedError'),
    );
    expect((await lockContent()).pid).toBe(process.pid);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    expect(existsSync(lockFile())).toBe(false);
    expect(existsSync(`${lockFile()}.takeover`)).toBe(false);
  });

  it("assumes another host's lock is live, and takes over an unreadable old lock file", async () => {
    await writeLock(process.pid + 1, 'some-other-host');
    await expect(acquireDataDirLock(lockFile())).rejects.toBeInstanceOf(DataDirLockedError);

    await writeFile(lockFile(), 'garbage');
    const old = new Date(Date.now() - 60_000);
    await utimes(lockFile(), old, old);
    const lock = await acquireDataDirLock(lockFile());
    expect((await lockContent()).pid).toBe(process.pid);
    await lock.release();
    await lock.release(); // idempotent
    expect(existsSync(lockFile())).toBe(false);
  });

  it('does not delete a lock that is no longer ours on release', async () => {
    const lock = await acquireDataDirLock(lockFile());
    await writeLock(4242);
    await lock.release();
    expect((await lockContent()).pid).toBe(4242);
  });

  it('keeps an in-memory database out of the file system', async () => {
    const knex = await openDatabase({ dataDir: ':memory:' });
    try {
      expect(isPglite(knex)).toBe(true);
      expect((await knex.raw(`select ARRAY['a','b']::text[] as arr, now() as ts`)).rows[0]).toEqual({
        arr: ['a', 'b'],
        ts: expect.any(Date),
      });
    } finally {
      await knex.destroy();
    }
    expect(existsSync(join(process.cwd(), ':memory:'))).toBe(false);
  }, 60_000);
});
