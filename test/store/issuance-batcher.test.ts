/**
 * IssuanceBatcher's rules with a writer driven by hand (the statement itself is tested against the
 * database in knex-store.test.ts and through the endpoint): who shares a batch, who waits, who fails.
 */
import { IssuanceBatcher, type WriteBatch } from '../../lib/store/issuance-batcher';
import type { IssuanceInput } from '../../lib/store/types';

const input = (replayKey: string, over: Partial<IssuanceInput> = {}): IssuanceInput => ({
  tenantId: 't',
  idpId: 'i',
  idpName: 'idp',
  clientId: 'c',
  subject: 's',
  jti: replayKey,
  replayKey,
  replayExpiresAt: new Date(0),
  scope: null,
  accessTokenSha256: `a-${replayKey}-${Math.random()}`,
  refreshTokenSha256: null,
  expiresAt: new Date(0),
  ...over,
});

function recordingWriter(answer: (inputs: readonly IssuanceInput[]) => ReadonlyMap<string, string> | Promise<never>) {
  const batches: Array<{ keys: string[]; now: Date }> = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const write: WriteBatch = async (inputs, now) => {
    batches.push({ keys: inputs.map((i) => i.replayKey), now });
    await gate;
    return answer(inputs);
  };
  return { write, batches, hold: () => (gate = new Promise<void>((r) => (release = r))), release: () => release() };
}
const allWritten = (inputs: readonly IssuanceInput[]) => new Map(inputs.map((i) => [i.accessTokenSha256, `id-${i.replayKey}`]));

it('sends a lone request at once, and gathers those that arrive meanwhile into the next statement', async () => {
  const w = recordingWriter(allWritten);
  const batcher = new IssuanceBatcher(w.write, { maxWaitMs: 1000, timedOut: () => new Error('timeout') });
  w.hold();
  const first = batcher.record(input('k1'), new Date(5000));
  const later = ['k2', 'k3', 'k4'].map((k, i) => batcher.record(input(k), new Date(4000 + i)));
  expect(w.batches.map((b) => b.keys)).toEqual([['k1']]);
  w.release();
  expect(await Promise.all([first, ...later])).toEqual(['id-k1', 'id-k2', 'id-k3', 'id-k4']);
  expect(w.batches.map((b) => b.keys)).toEqual([['k1'], ['k2', 'k3', 'k4']]);
  // The earliest clock of a batch judges expiry: never more lenient than one request alone.
  expect(w.batches[1]!.now).toEqual(new Date(4000));
});

it('never puts two uses of one replay key in one statement; a row not written back is a replay (null)', async () => {
  const taken = new Set<string>();
  const w = recordingWriter(
    (inputs) => new Map(inputs.filter((i) => !taken.has(i.replayKey) && taken.add(i.replayKey)).map((i) => [i.accessTokenSha256, 'id'])),
  );
  const batcher = new IssuanceBatcher(w.write, { maxWaitMs: 1000, timedOut: () => new Error('timeout') });
  w.hold();
  const answers = [batcher.record(input('x'), new Date()), ...['x', 'x', 'y'].map((k) => batcher.record(input(k), new Date()))];
  w.release();
  expect(await Promise.all(answers)).toEqual(['id', null, null, 'id']);
  expect(w.batches.map((b) => b.keys)).toEqual([['x'], ['x', 'y'], ['x']]);
});

it('lets uses of one key that write no replay record (replay policy reuse) share a statement', async () => {
  const w = recordingWriter(allWritten);
  const batcher = new IssuanceBatcher(w.write, { maxWaitMs: 1000, timedOut: () => new Error('timeout') });
  w.hold();
  const reuse = { recordReplay: false };
  const answers = [
    batcher.record(input('k', reuse), new Date()),
    batcher.record(input('k', reuse), new Date()),
    batcher.record(input('k', reuse), new Date()),
    batcher.record(input('k'), new Date()),
    batcher.record(input('k'), new Date()),
  ];
  w.release();
  expect(await Promise.all(answers)).toEqual(['id-k', 'id-k', 'id-k', 'id-k', 'id-k']);
  // The first reuse alone, then the other two with the first once-use; the second once-use waits for its own.
  expect(w.batches.map((b) => b.keys)).toEqual([['k'], ['k', 'k', 'k'], ['k']]);
});

it('fails every request of a failed statement, and only those', async () => {
  let fail = true;
  const w = recordingWriter((inputs) => (fail ? Promise.reject(new Error('down')) : allWritten(inputs)));
  const batcher = new IssuanceBatcher(w.write, { maxWaitMs: 1000, timedOut: () => new Error('timeout') });
  w.hold();
  const a = batcher.record(input('a'), new Date());
  const b = batcher.record(input('b'), new Date());
  const c = batcher.record(input('c'), new Date());
  await Promise.resolve();
  w.release();
  await expect(a).rejects.toThrow('down');
  await expect(b).rejects.toThrow('down');
  await expect(c).rejects.toThrow('down');
  fail = false;
  expect(await batcher.record(input('d'), new Date())).toBe('id-d');
});

it('fails a request that waited maxWaitMs behind a stuck statement, as a pool acquire would', async () => {
  const w = recordingWriter(allWritten);
  const batcher = new IssuanceBatcher(w.write, { maxWaitMs: 30, timedOut: () => new Error('waited too long') });
  w.hold();
  const stuck = batcher.record(input('s'), new Date());
  await expect(batcher.record(input('w'), new Date())).rejects.toThrow('waited too long');
  w.release();
  expect(await stuck).toBe('id-s');
  expect(w.batches.map((b) => b.keys)).toEqual([['s']]);
});
