/**
 * Shared parts of the property-based fuzzing in test/fuzz/: the run budget and seed (from the
 * environment, printed), a listening server with a plain HTTP client (one keep-alive connection pool,
 * far cheaper per request than supertest's server-per-request), and the mutations of a valid assertion
 * as fast-check arbitraries (so a failing case shrinks and prints as data).
 *
 * FUZZ_RUNS: total generated cases of each fuzz file (split between the host lines); FUZZ_SEED: replay a
 * run. Both are printed at the start of each file.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { rawSign } from './attack-kit';
import type { TestSigningKey } from './keys';

export interface FuzzConfig {
  seed: number;
  /** Cases per host line. */
  runsPerHost: number;
  /** Whether this is a long run (FUZZ_RUNS set): progress is printed. */
  long: boolean;
}

/** Reads FUZZ_RUNS / FUZZ_SEED; `defaultTotal` cases over both host lines when FUZZ_RUNS is unset. */
export function fuzzConfig(defaultTotal: number): FuzzConfig {
  const total = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultTotal;
  if (!Number.isSafeInteger(total) || total < 2) throw new TypeError(`FUZZ_RUNS must be a whole number ≥ 2; got ${process.env.FUZZ_RUNS}`);
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomBytes(4).readInt32LE(0);
  if (!Number.isSafeInteger(seed)) throw new TypeError(`FUZZ_SEED must be an integer; got ${process.env.FUZZ_SEED}`);
  return { seed, runsPerHost: Math.ceil(total / 2), long: process.env.FUZZ_RUNS !== undefined };
}

/** An answer as the fuzz properties look at it. */
export interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

/** Listens on 127.0.0.1 and posts to it with fetch (keep-alive). */
export async function serve(app: { listen(port: number, host: string): Server }): Promise<{
  send(init: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Answer>;
  close(): Promise<void>;
}> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async send({ method = 'POST', path = '/oauth2/token', headers = {}, body }) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        body: method === 'GET' || method === 'HEAD' ? undefined : (body as never),
        signal: AbortSignal.timeout(15_000),
      });
      return { status: res.status, text: await res.text(), headers: res.headers };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A mutation of a compact JWS, as data (fast-check prints it when a case fails). */
export type Mutation =
  | { kind: 'identity' }
  | { kind: 'flipCharBit'; at: number; bit: number }
  | { kind: 'flipSegmentBit'; segment: number; at: number; bit: number }
  | { kind: 'segments'; order: number[] }
  | {
      kind: 'reencode';
      segment: number;
      how: 'pad' | 'standard' | 'space' | 'newline' | 'upper' | 'lower' | 'percent' | 'trailingBits' | 'bang';
    }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; text: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'claim'; name: string; value: unknown; delete: boolean; resign: boolean }
  | { kind: 'header'; name: string; value: unknown; delete: boolean; resign: boolean }
  | { kind: 'replace'; text: string };

const CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', '__proto__', 'constructor', 'extra'];
const HEADERS = ['alg', 'kid', 'typ', 'cty', 'crit', 'jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'b64', 'zip', 'enc', '__proto__'];
const ALGS = ['none', 'None', 'NONE', 'HS256', 'HS512', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'rs256', 'RS256 ', '', 'RSA-OAEP'];

/** Values that have broken JWT libraries, mixed into arbitrary JSON. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER,
    0.5,
    '',
    ' ',
    'NaN',
    'Infinity',
    '1e400',
    '\u0000',
    '\ud800',
    'jwtIDP',
    'https://as.example.test/oauth2/token',
    ['jwtIDP'],
    [],
    {},
    { $ne: null },
    "' OR 1=1 --",
    '../../etc/passwd',
    Math.floor(Date.now() / 1000) + 300,
    Math.floor(Date.now() / 1000) - 3600,
    99999999999,
  ),
  fc.constantFrom(...ALGS),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'identity' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flipCharBit' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('flipSegmentBit' as const),
      segment: fc.integer({ min: 0, max: 2 }),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('segments' as const),
      order: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 0, maxLength: 6 }).filter((o) => o.join() !== '0,1,2'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('reencode' as const),
      segment: fc.integer({ min: 0, max: 2 }),
      how: fc.constantFrom(
        'pad' as const,
        'standard' as const,
        'space' as const,
        'newline' as const,
        'upper' as const,
        'lower' as const,
        'percent' as const,
        'trailingBits' as const,
        'bang' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), text: fc.string({ maxLength: 8 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      text: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      name: fc.oneof(fc.constantFrom(...CLAIMS), fc.string({ maxLength: 6 })),
      value: hostileValue,
      delete: fc.boolean(),
      resign: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('header' as const),
      name: fc.oneof(fc.constantFrom(...HEADERS), fc.string({ maxLength: 6 })),
      value: hostileValue,
      delete: fc.boolean(),
      resign: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      text: fc.oneof(fc.string({ maxLength: 60 }), fc.base64String({ maxLength: 60 })),
    }),
  },
);

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Applies `m` to `jws`. `resign` mutations are signed by `attacker` (never by the IdP: a new IdP
 * signature would make a genuinely valid assertion, which the property does not model).
 */
export async function applyMutation(jws: string, m: Mutation, attacker: TestSigningKey): Promise<string> {
  const parts = jws.split('.');
  switch (m.kind) {
    case 'identity':
      return jws;
    case 'flipCharBit': {
      const at = m.at % jws.length;
      return jws.slice(0, at) + String.fromCharCode(jws.charCodeAt(at) ^ (1 << m.bit)) + jws.slice(at + 1);
    }
    case 'flipSegmentBit': {
      const bytes = Buffer.from(parts[m.segment]!, 'base64url');
      if (bytes.length === 0) return jws;
      bytes[m.at % bytes.length]! ^= 1 << m.bit;
      parts[m.segment] = bytes.toString('base64url');
      return parts.join('.');
    }
    case 'segments':
      return m.order.map((i) => parts[i]).join('.');
    case 'reencode': {
      parts[m.segment] = reencode(parts[m.segment]!, m.how);
      return parts.join('.');
    }
    case 'truncate':
      return jws.slice(0, m.keep % jws.length);
    case 'append':
      return jws + m.text;
    case 'insert': {
      const at = m.at % (jws.length + 1);
      return jws.slice(0, at) + m.text + jws.slice(at);
    }
    case 'claim':
    case 'header': {
      const index = m.kind === 'claim' ? 1 : 0;
      const object = JSON.parse(Buffer.from(parts[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      if (m.delete) delete object[m.name];
      else object[m.name] = m.value;
      parts[index] = Buffer.from(JSON.stringify(object)).toString('base64url');
      if (m.resign) {
        const input = `${parts[0]}.${parts[1]}`;
        parts[2] = (await rawSign(attacker, Buffer.from(input))).toString('base64url');
      }
      return parts.join('.');
    }
    case 'replace':
      return m.text;
  }
}

function reencode(segment: string, how: Extract<Mutation, { kind: 'reencode' }>['how']): string {
  switch (how) {
    case 'pad':
      return segment + '='.repeat((4 - (segment.length % 4)) % 4 || 2);
    case 'standard':
      return /[-_]/.test(segment) ? segment.replace(/-/g, '+').replace(/_/g, '/') : `${segment}+`;
    case 'space':
      return `${segment.slice(0, 3)} ${segment.slice(3)}`;
    case 'newline':
      return `${segment.slice(0, 5)}\n${segment.slice(5)}`;
    case 'upper':
      return segment.toUpperCase();
    case 'lower':
      return segment.toLowerCase();
    case 'percent':
      return segment.length ? `%${segment.charCodeAt(0).toString(16).toUpperCase()}${segment.slice(1)}` : '%41';
    case 'bang':
      return `${segment.slice(0, 2)}!${segment.slice(2)}`;
    case 'trailingBits': {
      const spare = ({ 2: 4, 3: 2 } as Record<number, number>)[segment.length % 4];
      if (!spare) return `${segment}A`;
      const last = ALPHABET.indexOf(segment.at(-1)!);
      const flipped = ALPHABET[last ^ 1];
      return segment.slice(0, -1) + flipped;
    }
  }
}
