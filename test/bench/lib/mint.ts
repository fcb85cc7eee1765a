import { KeyObject, type webcrypto } from 'node:crypto';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Pre-minted RS256 assertions, each handed out once. One thread signs about 4,000 per second here, so a
 * 10 s run at 3,000 req/s would wait seconds for its assertions: the signing is spread over one worker
 * thread per core, and always done before a measured run, never during it.
 */
export interface MintSpec {
  /** PKCS#8 PEM of the IdP's RSA key. */
  privateKeyPem: string;
  kid: string;
  iss: string;
  aud: string;
  sub: string;
  /** `exp` − `iat`; long enough for leftovers to serve a later run. */
  lifetimeSeconds: number;
  /** Further claims of every assertion (e.g. a CI provider's, for trust rules); the registered ones above win. */
  claims?: Record<string, unknown>;
}

// Plain JavaScript (no loader needed): the same claims as test/helpers/keys.ts assertionClaims, a fresh jti each.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPrivateKey, randomUUID, sign } = require('node:crypto');
const keys = new Map();
const b64 = (s) => Buffer.from(s).toString('base64url');
parentPort.on('message', ({ id, spec, count }) => {
  let key = keys.get(spec.privateKeyPem);
  if (!key) keys.set(spec.privateKeyPem, (key = createPrivateKey(spec.privateKeyPem)));
  const header = b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: spec.kid }));
  const now = Math.floor(Date.now() / 1000);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const payload = b64(JSON.stringify({ ...spec.claims, iss: spec.iss, sub: spec.sub, aud: spec.aud, iat: now, exp: now + spec.lifetimeSeconds, jti: randomUUID() }));
    const input = header + '.' + payload;
    out[i] = input + '.' + sign('sha256', Buffer.from(input), key).toString('base64url');
  }
  parentPort.postMessage({ id, out });
});
`;

export function exportPrivateKeyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

export class Minter {
  readonly threads: number;
  private readonly workers: Worker[];
  private nextId = 0;
  private readonly waiting = new Map<number, (out: string[]) => void>();

  constructor(threads = Math.max(1, cpus().length)) {
    this.threads = threads;
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', ({ id, out }: { id: number; out: string[] }) => {
        this.waiting.get(id)?.(out);
        this.waiting.delete(id);
      });
      w.unref();
      return w;
    });
  }

  async mint(spec: MintSpec, count: number): Promise<string[]> {
    const share = Math.ceil(count / this.workers.length);
    const parts = await Promise.all(
      this.workers.map((w, i) => {
        const n = Math.max(0, Math.min(share, count - i * share));
        if (n === 0) return Promise.resolve([] as string[]);
        const id = this.nextId++;
        return new Promise<string[]>((resolve) => {
          this.waiting.set(id, resolve);
          w.postMessage({ id, spec, count: n });
        });
      }),
    );
    return parts.flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Assertions for one server, each used exactly once. */
export class AssertionPool {
  private items: string[] = [];
  private index = 0;
  /** Handed out so far, over the pool's life. */
  used = 0;
  /** Minted so far, and the wall time that took. */
  minted = 0;
  mintMs = 0;

  constructor(
    readonly minter: Minter,
    private readonly spec: MintSpec,
  ) {}

  get remaining(): number {
    return this.items.length - this.index;
  }

  /** Mints until at least `count` unused assertions are ready; returns how many were minted and how long it took. */
  async ensure(count: number): Promise<{ minted: number; ms: number }> {
    const missing = count - this.remaining;
    if (missing <= 0) return { minted: 0, ms: 0 };
    const started = performance.now();
    const fresh = await this.minter.mint(this.spec, missing);
    this.items = [...this.items.slice(this.index), ...fresh];
    this.index = 0;
    const ms = performance.now() - started;
    this.minted += fresh.length;
    this.mintMs += ms;
    return { minted: fresh.length, ms };
  }

  /** The next unused assertion, or undefined when the pool is empty. */
  take(): string | undefined {
    if (this.index >= this.items.length) return undefined;
    this.used++;
    return this.items[this.index++];
  }
}
