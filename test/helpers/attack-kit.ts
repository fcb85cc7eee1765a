/**
 * The harness of the attack suite (test/attacks/): one database per test file, an app per host line, and
 * {@link AttackTarget.refused}, which proves for each hostile request everything docs/http.md and issue 4 ask:
 * the exact status and OAuth error (and our reason code where one is stated), no token in the answer nor
 * in the host model nor in the audit table, no 5xx, no stack trace and no echo of what was sent, and
 * exactly one outcome reported through `onOutcome`, itself free of the assertion, secrets and tokens.
 */
import { createHash, webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { Socket } from 'node:net';
import request from 'supertest';
import type { TokenOutcome } from '../../lib/http/token-endpoint';
import { createGrantFixture, expectRefused, grantForm, ISSUER, TOKEN_URL, type GrantFixture } from './grant-fixture';
import { buildHostApp, CLIENT, HOSTS, type HostAppOptions, type HostUnderTest } from './host-app';
import { assertionClaims, type TestSigningKey } from './keys';

export { HOSTS, ISSUER, TOKEN_URL, CLIENT };

/** What a refusal must be: status, OAuth error and, where the test pins it, our reason code. */
export interface Expected {
  status: number;
  error: string;
  reason?: string;
}

/** Shorthands for the answers the suite expects most. */
export const INVALID_GRANT = (reason: string): Expected => ({ status: 400, error: 'invalid_grant', reason });
export const INVALID_REQUEST = (reason?: string): Expected => ({ status: 400, error: 'invalid_request', reason });

/** Totals over a file, so a suite can state how many hostile requests it made. */
export interface AttackTally {
  requests: number;
  outcomes: number;
}

/** A host line's app over the file's database, and the checks for hostile requests against it. */
export interface AttackTarget {
  hut: HostUnderTest;
  app: ReturnType<typeof buildHostApp>['app'];
  outcomes: TokenOutcome[];
  model: ReturnType<typeof buildHostApp>['model'];
  /** A JWT bearer request with the default client (HTTP Basic). */
  grant(assertion: string, extra?: Record<string, string>, query?: string): request.Test;
  /**
   * Sends `send` and checks the refusal. `sent` lists what the request carried that must never come
   * back (the assertion, a secret); a grant's assertion is listed automatically by {@link refusedGrant}.
   */
  refused(send: () => request.Test | Promise<request.Response>, expected: Expected, sent?: readonly string[]): Promise<request.Response>;
  /** `refused(() => grant(assertion, extra, query), expected, [assertion])`. */
  refusedGrant(assertion: string, expected: Expected, extra?: Record<string, string>, query?: string): Promise<request.Response>;
  tally: AttackTally;
}

/** Every secret the harness knows of: never in any answer or outcome. */
const ALWAYS_SECRET = [CLIENT.secret, Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')];

/** One database and the `jwtIDP` IdP for a whole test file (PGlite starts in 3–4 s: share it). */
export async function createAttackFixture(): Promise<GrantFixture> {
  return createGrantFixture(HOSTS[0]);
}

/** The app of `hut` over the fixture's store, with the harness's checks. */
export function attackTarget(fx: GrantFixture, hut: HostUnderTest, options: Partial<HostAppOptions> = {}): AttackTarget {
  const { app, outcomes, model } = buildHostApp(hut, { store: fx.store, ...options });
  const tally: AttackTally = { requests: 0, outcomes: 0 };
  const grant = (assertion: string, extra: Record<string, string> = {}, query = '') =>
    request(app)
      .post(`/oauth2/token${query}`)
      .auth(CLIENT.id, CLIENT.secret)
      .type('form')
      .send(new URLSearchParams(grantForm(assertion, extra)).toString());

  async function refused(send: () => request.Test | Promise<request.Response>, expected: Expected, sent: readonly string[] = []) {
    const outcomesBefore = outcomes.length;
    const tokensBefore = model.tokens.size;
    const issuedBefore = await fx.issuedCount();

    const res = await send();
    tally.requests++;

    expect(res.status).toBeLessThan(expected.status >= 500 ? 600 : 500);
    expectRefused(res, expected.status, expected.error);
    expectNoLeak(res, sent);

    // Exactly one outcome for this request, with the same answer, and nothing secret in it.
    expect(outcomes.length - outcomesBefore).toBe(1);
    tally.outcomes += outcomes.length - outcomesBefore;
    const outcome = outcomes[outcomes.length - 1]!;
    expect(outcome).toMatchObject({ outcome: 'refused', status: expected.status, error: expected.error });
    if (expected.reason !== undefined) expect(outcome.reason).toBe(expected.reason);
    expectNoSecretIn(describeOutcome(outcome), sent);

    // No token: not in the host model, not in the audit table.
    expect(model.tokens.size).toBe(tokensBefore);
    expect(await fx.issuedCount()).toBe(issuedBefore);
    return res;
  }

  return {
    hut,
    app,
    outcomes,
    model,
    grant,
    refused,
    refusedGrant: (assertion, expected, extra, query) => refused(() => grant(assertion, extra, query), expected, [assertion]),
    tally,
  };
}

/** Parts of what was sent that are long enough to be recognised if echoed. */
function fragments(sent: readonly string[]): string[] {
  const parts = new Set<string>(ALWAYS_SECRET);
  for (const value of sent) {
    if (value.length >= 12) parts.add(value);
    for (const piece of value.split('.')) if (piece.length >= 12) parts.add(piece);
  }
  return [...parts];
}

/** No stack trace, no driver text, nothing the request carried, in the body or the headers. */
export function expectNoLeak(res: request.Response, sent: readonly string[] = []): void {
  const text = `${res.text ?? ''}\n${JSON.stringify(res.headers)}`;
  expect(text).not.toMatch(/\bat [^\s]+ \(|\.(?:js|ts):\d+|node_modules|Error:|\bstack\b|SQLSTATE|syntax error|violates/i);
  for (const fragment of fragments(sent)) {
    if (text.includes(fragment)) throw new Error(`the answer echoes ${fragment.length} characters of what was sent`);
  }
}

/** An outcome as a log line would hold it, its `cause` (5xx only) spelled out with message and stack. */
export function describeOutcome(outcome: TokenOutcome): string {
  const cause = outcome.cause as { message?: unknown; stack?: unknown; cause?: { message?: unknown } } | undefined;
  return JSON.stringify({ ...outcome, cause: cause ? [cause.message, cause.stack, cause.cause?.message] : undefined });
}

export function expectNoSecretIn(text: string, sent: readonly string[] = []): void {
  for (const fragment of fragments(sent)) {
    if (text.includes(fragment)) throw new Error(`an outcome holds ${fragment.length} characters of the assertion or a secret`);
  }
}

/** base64url of JSON. */
export const b64json = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
/** base64url of raw bytes or text. */
export const b64 = (value: string | Buffer | Uint8Array): string => Buffer.from(value as Buffer).toString('base64url');

/** Claims that pass every check of docs/validation.md step 5 for `jwtIDP` (fresh `jti` each call). */
export const goodClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'admin', ...overrides });

/** A real signature by `key` over exactly `signingInput` (any bytes, canonical or not): `input.sig`. */
export async function signInput(key: TestSigningKey, signingInput: string): Promise<string> {
  return `${signingInput}.${Buffer.from(await rawSign(key, Buffer.from(signingInput))).toString('base64url')}`;
}

/** JWS signature bytes (RFC 7518 §3; ECDSA as raw r‖s) by `key` over `data`. */
export async function rawSign(key: TestSigningKey, data: Buffer): Promise<Buffer> {
  const bits = Number(key.alg.slice(2));
  const params = key.alg.startsWith('RS')
    ? { name: 'RSASSA-PKCS1-v1_5' }
    : key.alg.startsWith('PS')
      ? { name: 'RSA-PSS', saltLength: bits / 8 }
      : key.alg.startsWith('ES')
        ? { name: 'ECDSA', hash: `SHA-${bits}` }
        : { name: 'Ed25519' };
  return Buffer.from(await webcrypto.subtle.sign(params as webcrypto.EcdsaParams, key.privateKey, data));
}

export const sha256b64 = (data: string | Buffer): string => createHash('sha256').update(data).digest('base64url');

/**
 * An HTTP server on 127.0.0.1 that would hand out whatever `routes` holds (an attacker's JWKS, an
 * attacker's certificate) and counts every TCP connection and every request made to it: the proof that a
 * URL in a token header is never fetched. Counting connections catches a TLS attempt on an `https:` URL too.
 */
export interface Tripwire {
  url(path: string, scheme?: 'http' | 'https'): string;
  readonly connections: number;
  readonly requests: number;
  close(): Promise<void>;
}

export async function openTripwire(routes: Record<string, { type: string; body: string }> = {}): Promise<Tripwire> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    requests++;
    const route = routes[req.url ?? ''];
    res.writeHead(route ? 200 : 404, { 'content-type': route?.type ?? 'text/plain' });
    res.end(route?.body ?? 'not found');
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path, scheme = 'http') => `${scheme}://127.0.0.1:${port}${path}`,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
