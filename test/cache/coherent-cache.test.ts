/**
 * CoherentCache's rules with a feed driven by hand (no database: this is the cache's own logic; the
 * database side is in config-cache.test.ts): when an answer may be kept, and when it must not.
 */
import type { ChangeFeed } from '../../lib/cache/change-feed';
import { CoherentCache } from '../../lib/cache/coherent-cache';

class ManualFeed implements ChangeFeed {
  trusted = true;
  generation = 0;
  readonly listeners = new Set<(table: string | null) => void>();
  subscribe(listener: (table: string | null) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  notify(table: string | null) {
    this.generation++;
    for (const l of this.listeners) l(table);
  }
  setTrusted(trusted: boolean) {
    this.trusted = trusted;
    this.notify(null);
  }
  invalidate() {
    this.notify(null);
  }
  async close() {}
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let feed: ManualFeed;
let cache: CoherentCache<string | null>;
let loads: number;
const load = (value: string | null) => () => {
  loads++;
  return Promise.resolve(value);
};

beforeEach(() => {
  feed = new ManualFeed();
  cache = new CoherentCache({ feed, tables: ['t'], maxEntries: 3 });
  loads = 0;
});

it('keeps an answer and serves it while the feed is trusted', async () => {
  expect(await cache.get('k', load('v1'))).toBe('v1');
  expect(await cache.get('k', load('v2'))).toBe('v1');
  expect(loads).toBe(1);
});

it('keeps a null answer (an absent row) like any other', async () => {
  expect(await cache.get('k', load(null))).toBeNull();
  expect(await cache.get('k', load('late'))).toBeNull();
  expect(loads).toBe(1);
});

it('empties itself on a notification of its tables, not of others', async () => {
  await cache.get('k', load('v1'));
  feed.notify('other_table');
  expect(await cache.get('k', load('v2'))).toBe('v1');
  feed.notify('t');
  expect(await cache.get('k', load('v3'))).toBe('v3');
});

it('forgets everything when told to (a write this process made), whatever the tables', async () => {
  await cache.get('k', load('v1'));
  feed.invalidate();
  expect(await cache.get('k', load('v2'))).toBe('v2');
});

it('does not keep an answer whose read straddled a change', async () => {
  const slow = deferred<string>();
  const first = cache.get('k', () => slow.promise);
  feed.notify('t'); // committed while the read was on its way: it may have read the old row
  slow.resolve('stale');
  expect(await first).toBe('stale');
  expect(await cache.get('k', load('fresh'))).toBe('fresh');
});

it('reads through, keeping nothing, while the feed is not trusted; empties itself when trust returns', async () => {
  await cache.get('k', load('v1'));
  feed.setTrusted(false);
  expect(await cache.get('k', load('v2'))).toBe('v2');
  expect(await cache.get('k', load('v3'))).toBe('v3');
  feed.setTrusted(true);
  expect(await cache.get('k', load('v4'))).toBe('v4');
  expect(await cache.get('k', load('v5'))).toBe('v4');
});

it('shares one read among concurrent askers of one key, but not across a change', async () => {
  const slow = deferred<string>();
  const a = cache.get('k', () => (loads++, slow.promise));
  const b = cache.get('k', load('second'));
  expect(loads).toBe(1);
  feed.notify('t');
  const c = cache.get('k', load('after-change'));
  expect(loads).toBe(2);
  slow.resolve('first');
  expect([await a, await b, await c]).toEqual(['first', 'first', 'after-change']);
});

it('does not keep a failed read', async () => {
  await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
  expect(await cache.get('k', load('v'))).toBe('v');
});

it('holds at most maxEntries, dropping the least recently used', async () => {
  for (const k of ['a', 'b', 'c']) await cache.get(k, load(k));
  await cache.get('a', load('x')); // a is now the most recent
  await cache.get('d', load('d'));
  expect(cache.size).toBe(3);
  expect(await cache.get('b', load('b2'))).toBe('b2');
  expect(await cache.get('a', load('a2'))).toBe('a');
});

it('checks its options', () => {
  expect(() => new CoherentCache({ feed: {} as never, tables: ['t'] })).toThrow('options.feed must be a ChangeFeed');
  expect(() => new CoherentCache({ feed, tables: [] })).toThrow('options.tables must name at least one table');
  expect(() => new CoherentCache({ feed, tables: ['t'], maxEntries: 0 })).toThrow('options.maxEntries must be a positive whole number');
});
