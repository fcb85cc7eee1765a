/**
 * The JWKS key source (lib/keys/jwks-source.ts) against real HTTP servers on 127.0.0.1 and real keys:
 * caching, shared downloads, unknown-kid refetch with its cooldown, every bound (time, size, redirects,
 * media type, URI policy), stale use, strict set validation. The clock of the cache is injected where a
 * test needs minutes to pass; time limits are measured with the real clock.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { JwtBearerError } from '../../lib/errors';
import { createJwksKeySource, freshnessMs, JWKS_DEFAULTS, type JwksKeySourceOptions } from '../../lib/keys/jwks-source';
import { parseJwkSet } from '../../lib/keys/jwk-set';
import type { FetchFunction } from '../../lib/keys/jwks-fetch';
import type { IdentityProviderRecord } from '../../lib/types';
import { createAssertionVerifier } from '../../lib/verifier';
import { makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { claims, idpRecord, reasonOf, refusal, verify } from '../verifier/support';
import { jsonResponder, publicJwk, startJwksServer, until, type JwksServer } from './jwks-server';

let rsa: TestSigningKey;
let ec: TestSigningKey;
let ed: TestSigningKey;
let rsaJwk: Record<string, unknown>;
let ecJwk: Record<string, unknown>;
let edJwk: Record<string, unknown>;
let server: JwksServer;

beforeAll(async () => {
  [rsa, ec, ed] = await Promise.all([
    makeSigningKey('RS256', { kid: 'rsa-1' }),
    makeSigningKey('ES256', { kid: 'ec-1' }),
    makeSigningKey('EdDSA', { kid: 'ed-1' }),
  ]);
  [rsaJwk, ecJwk, edJwk] = await Promise.all([publicJwk(rsa), publicJwk(ec), publicJwk(ed)]);
});

beforeEach(async () => {
  server = await startJwksServer();
  server.serveKeys([rsaJwk, ecJwk]);
});
afterEach(() => server.close());

/** A controllable clock for the cache (milliseconds). */
function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return Object.assign(() => t, { advance: (ms: number) => void (t += ms) });
}

const jwksIdp = (uri = server.url(), overrides: Partial<IdentityProviderRecord> = {}) => idpRecord([], { jwksUri: uri, ...overrides });

function verifierWith(options: JwksKeySourceOptions = {}) {
  const source = createJwksKeySource(options);
  return { source, verifier: createAssertionVerifier({ keySources: [source] }) };
}

/** Waits for a refusal and also returns how long it took (real clock). */
async function timedRefusal(promise: Promise<unknown>): Promise<{ error: JwtBearerError; ms: number }> {
  const started = performance.now();
  const error = await refusal(promise);
  return { error, ms: performance.now() - started };
}

describe('downloads and the cache', () => {
  it('downloads once; later verifications are cache hits that make no request', async () => {
    const { verifier } = verifierWith();
    const idp = jwksIdp();
    for (let i = 0; i < 10; i++) {
      const key = i % 2 ? rsa : ec;
      const result = await verify(await signAssertion(key, claims(), { kid: key.kid }), idp, { verifier });
      expect(result.keyId).toMatch(/^jwks:[A-Za-z0-9_-]{43}$/);
    }
    expect(server.requests).toBe(1);
  });

  it('20 concurrent verifications on a cold cache share one download', async () => {
    const { verifier } = verifierWith();
    const idp = jwksIdp();
    const assertions = await Promise.all(Array.from({ length: 20 }, () => signAssertion(ec, claims(), { kid: ec.kid })));
    const results = await Promise.all(assertions.map((assertion) => verify(assertion, idp, { verifier })));
    expect(results.every((r) => r.idp === idp)).toBe(true);
    expect(server.requests).toBe(1);
  });

  it('IdPs (e.g. of two tenants) naming the same URI share its cache', async () => {
    const { source } = verifierWith();
    await source.getKeys(jwksIdp(), {});
    await source.getKeys(jwksIdp(server.url(), { tenantId: 'another-tenant', name: 'other' }), {});
    expect(server.requests).toBe(1);
    await source.getKeys(jwksIdp(server.url('/other-path')), {});
    expect(server.requests).toBe(2);
  });

  it('parses each key once per download of the set, for every algorithm of its type', async () => {
    const clock = fakeClock();
    const { source } = verifierWith({ clock });
    const idp = jwksIdp();
    server.serveKeys([{ ...rsaJwk, alg: undefined }]); // no alg member: RS* and PS*
    const [key] = await source.getKeys(idp, { kid: rsa.kid });
    expect((await source.getKeys(idp, { kid: rsa.kid }))[0]!.publicKey).toBe(key!.publicKey);
    expect(['RS256', 'PS256', 'ES256'].map((alg) => key!.supports(alg))).toEqual([true, true, false]);
    expect(key!.publicKey.asymmetricKeyType).toBe('rsa');
    clock.advance(JWKS_DEFAULTS.ttlMs + 1);
    await source.getKeys(idp, {}); // starts the background refresh
    await until(() => server.requests === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await source.getKeys(idp, { kid: rsa.kid }))[0]!.publicKey.equals(key!.publicKey)).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('serves an expired set at once and refreshes it in the background (stale-while-revalidate)', async () => {
    const clock = fakeClock();
    const { source } = verifierWith({ clock });
    const idp = jwksIdp();
    expect(await source.getKeys(idp, { kid: ec.kid })).toHaveLength(1);
    clock.advance(JWKS_DEFAULTS.ttlMs - 1);
    await source.getKeys(idp, {});
    expect(server.requests).toBe(1);
    clock.advance(2);
    server.serveKeys([edJwk]); // the IdP rotated everything
    expect(await source.getKeys(idp, { kid: ec.kid })).toHaveLength(1); // the old set, without waiting
    await until(() => server.requests === 2);
    // The refresh may still be finishing: a miss joins it rather than starting another download.
    expect(await source.getKeys(idp, { kid: ed.kid })).toHaveLength(1);
    expect(server.requests).toBe(2);
  });

  it('honours Cache-Control max-age (less Age) within [30 s, 1 h]', async () => {
    const clock = fakeClock();
    const { source } = verifierWith({ clock });
    server.serveKeys([ecJwk], { 'cache-control': 'public, max-age=90', age: '30' });
    const idp = jwksIdp();
    await source.getKeys(idp, {});
    clock.advance(59_000);
    await source.getKeys(idp, {});
    expect(server.requests).toBe(1);
    clock.advance(2000);
    await source.getKeys(idp, {});
    await until(() => server.requests === 2);
  });

  it.each([
    ['no header', null, null, 300_000],
    ['max-age=120', 'max-age=120', null, 120_000],
    ['a quoted max-age', 'max-age="120"', null, 120_000],
    ['max-age less Age', 'max-age=600', '100', 500_000],
    ['max-age below the floor', 'max-age=5', null, 30_000],
    ['max-age=0', 'max-age=0', null, 30_000],
    ['Age beyond max-age', 'max-age=60', '600', 30_000],
    ['max-age above the ceiling', 'max-age=86400', null, 3_600_000],
    ['no-store', 'no-store', null, 30_000],
    ['no-cache beside max-age', 'max-age=600, no-cache', null, 30_000],
    ['a malformed max-age', 'max-age=soon', null, 300_000],
    ['a negative max-age', 'max-age=-5', null, 300_000],
    ['MAX-AGE in capitals', 'MAX-AGE=120', null, 120_000],
  ])('freshness: %s', (_label, cacheControl, age, expected) => {
    expect(freshnessMs(cacheControl, age, JWKS_DEFAULTS)).toBe(expected);
  });

  it('keeps at most maxUris URIs: the least recently used is dropped and downloaded again when next needed', async () => {
    const { source } = verifierWith({ maxUris: 2 });
    for (const path of ['/a', '/b', '/a', '/c', '/a', '/b']) await source.getKeys(jwksIdp(server.url(path)), {});
    expect({ a: server.hits('/a'), b: server.hits('/b'), c: server.hits('/c') }).toEqual({ a: 1, b: 2, c: 1 });
  });

  it('an IdP without a jwksUri gets no keys and causes no request', async () => {
    const { source } = verifierWith();
    expect(await source.getKeys(idpRecord([]), {})).toEqual([]);
    expect(await source.getKeys(idpRecord([]), { kid: 'x' })).toEqual([]);
    expect(server.requests).toBe(0);
  });
});

describe('a hint that names no cached key (rotation)', () => {
  it('allows one refetch: a newly published kid verifies; an unknown kid again within the cooldown is key_not_found without a request', async () => {
    const clock = fakeClock();
    const { verifier } = verifierWith({ clock });
    const idp = jwksIdp();
    await verify(await signAssertion(rsa, claims(), { kid: rsa.kid }), idp, { verifier });
    expect(server.requests).toBe(1);

    server.serveKeys([rsaJwk, ecJwk, edJwk]); // ed-1 is new
    expect((await verify(await signAssertion(ed, claims(), { kid: ed.kid }), idp, { verifier })).keyId).toMatch(/^jwks:/);
    expect(server.requests).toBe(2);

    clock.advance(JWKS_DEFAULTS.refetchCooldownMs - 1);
    expect(await reasonOf(verify(await signAssertion(ed, claims(), { kid: 'no-such-kid' }), idp, { verifier }))).toBe('key_not_found');
    expect(server.requests).toBe(2);

    clock.advance(1); // the cooldown is over: one more refetch, then the same answer
    expect(await reasonOf(verify(await signAssertion(ed, claims(), { kid: 'no-such-kid' }), idp, { verifier }))).toBe('key_not_found');
    expect(server.requests).toBe(3);
    expect(await reasonOf(verify(await signAssertion(ed, claims(), { kid: 'no-such-kid-2' }), idp, { verifier }))).toBe('key_not_found');
    expect(server.requests).toBe(3);
  });

  it('concurrent requests with the new kid share the one refetch and all succeed', async () => {
    const { verifier } = verifierWith();
    const idp = jwksIdp();
    await verify(await signAssertion(rsa, claims(), { kid: rsa.kid }), idp, { verifier });
    server.serveKeys([rsaJwk, edJwk]);
    const assertions = await Promise.all(Array.from({ length: 10 }, () => signAssertion(ed, claims(), { kid: ed.kid })));
    const results = await Promise.all(assertions.map((a) => verify(a, idp, { verifier })));
    expect(results).toHaveLength(10);
    expect(server.requests).toBe(2);
  });

  it('an unknown kid on a cold cache costs exactly one download (the set was just fetched)', async () => {
    const { verifier } = verifierWith();
    expect(await reasonOf(verify(await signAssertion(ec, claims(), { kid: 'ghost' }), jwksIdp(), { verifier }))).toBe('key_not_found');
    expect(server.requests).toBe(1);
  });

  it('a refetch that fails is key_source_unavailable (we could not tell), not key_not_found', async () => {
    const { verifier } = verifierWith();
    const idp = jwksIdp();
    await verify(await signAssertion(rsa, claims(), { kid: rsa.kid }), idp, { verifier });
    server.respond((_req, res) => res.writeHead(500).end());
    const error = await refusal(verify(await signAssertion(ed, claims(), { kid: ed.kid }), idp, { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect(error.detail).toMatch(/refetch failed: HTTP 500/);
    // The cached set still serves the keys it has.
    await verify(await signAssertion(rsa, claims(), { kid: rsa.kid }), idp, { verifier });
  });

  it('x5t and x5t#S256 hints select by the JWK members of those names; all hints must agree', async () => {
    server.serveKeys([{ ...rsaJwk, x5t: rsa.x5t, 'x5t#S256': rsa.thumbprint }, ecJwk]);
    const { verifier } = verifierWith({ refetchCooldownMs: 3_600_000 });
    const idp = jwksIdp();
    await verify(await signAssertion(rsa, claims(), { 'x5t#S256': rsa.thumbprint }), idp, { verifier });
    await verify(await signAssertion(rsa, claims(), { x5t: rsa.x5t, kid: rsa.kid }), idp, { verifier });
    expect(await reasonOf(verify(await signAssertion(ec, claims(), { 'x5t#S256': ec.thumbprint }), idp, { verifier }))).toBe(
      'key_not_found',
    );
    expect(await reasonOf(verify(await signAssertion(rsa, claims(), { kid: ec.kid, x5t: rsa.x5t }), idp, { verifier }))).toBe(
      'key_not_found',
    );
  });

  it('without a hint every key of the set is tried; a forged signature is signature_invalid and causes no refetch', async () => {
    const { verifier } = verifierWith();
    const idp = jwksIdp();
    expect((await verify(await signAssertion(ec, claims(), {}), idp, { verifier })).keyId).toMatch(/^jwks:/);
    const stranger = await makeSigningKey('ES256');
    expect(await reasonOf(verify(await signAssertion(stranger, claims(), {}), idp, { verifier }))).toBe('signature_invalid');
    expect(server.requests).toBe(1);
  });
});

describe('a JWKS endpoint that fails', () => {
  it(`hangs: key_source_unavailable within the ${JWKS_DEFAULTS.timeoutMs} ms bound; then, for 5 s, at once and without a request`, async () => {
    server.hang();
    const { verifier } = verifierWith();
    const idp = jwksIdp();
    const assertion = await signAssertion(ec, claims(), { kid: ec.kid });
    const { error, ms } = await timedRefusal(verify(assertion, idp, { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect({ error: error.error, status: error.status }).toEqual({ error: 'temporarily_unavailable', status: 503 });
    expect(error.detail).toMatch(/no complete answer within 2000 ms/);
    expect(ms).toBeGreaterThanOrEqual(JWKS_DEFAULTS.timeoutMs - 5);
    expect(ms).toBeLessThan(JWKS_DEFAULTS.timeoutMs + 1000); // the deadline fires at 2000 ms; the rest is a loaded machine's slack
    console.info(`JWKS hang → key_source_unavailable after ${ms.toFixed(0)} ms (bound ${JWKS_DEFAULTS.timeoutMs} ms)`);

    const again = await timedRefusal(verify(assertion, idp, { verifier }));
    expect(again.error.reason).toBe('key_source_unavailable');
    expect(again.ms).toBeLessThan(500);
    expect(server.requests).toBe(1);
  });

  it('hangs while 20 requests wait: they share one download and all get 503 within the bound', async () => {
    server.hang();
    const { verifier } = verifierWith({ timeoutMs: 1000 });
    const idp = jwksIdp();
    const assertions = await Promise.all(Array.from({ length: 20 }, () => signAssertion(ec, claims(), { kid: ec.kid })));
    const started = performance.now();
    const reasons = await Promise.all(assertions.map((a) => reasonOf(verify(a, idp, { verifier }))));
    const ms = performance.now() - started;
    expect(new Set(reasons)).toEqual(new Set(['key_source_unavailable']));
    expect(ms).toBeLessThan(2000);
    expect(server.requests).toBe(1);
  });

  it('sends headers and then drips the body forever: the bound covers the body too', async () => {
    server.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
      const drip = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(drip));
    });
    const { verifier } = verifierWith({ timeoutMs: 800 });
    const { error, ms } = await timedRefusal(verify(await signAssertion(ec, claims(), { kid: ec.kid }), jwksIdp(), { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect(error.detail).toMatch(/within 800 ms/);
    expect(ms).toBeLessThan(1800);
  });

  it('refuses the connection: key_source_unavailable at once', async () => {
    const url = server.url();
    await server.close();
    const { verifier } = verifierWith();
    const { error, ms } = await timedRefusal(verify(await signAssertion(ec, claims(), { kid: ec.kid }), jwksIdp(url), { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect(error.detail).toMatch(/request failed \(ECONNREFUSED\)/);
    expect(ms).toBeLessThan(1000);
    server = await startJwksServer(); // for afterEach
  });

  const big = JSON.stringify({ keys: [], padding: 'x'.repeat(JWKS_DEFAULTS.maxBytes) });
  it.each<[string, (res: ServerResponse) => void, RegExp]>([
    ['HTTP 500', (res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"keys":[]}'), /HTTP 500/],
    ['HTTP 404', (res) => res.writeHead(404).end(), /HTTP 404/],
    ['an HTML page', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'), /content type "text\/html"/],
    [
      'HTML labelled application/json',
      (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>oops</html>'),
      /not JSON/,
    ],
    ['no content type', (res) => res.end('{"keys":[]}'), /content type \(none\)/],
    ['an empty body', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(), /not JSON/],
    ['a JSON array', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'), /not a JSON object/],
    ['no keys member', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"kys":[]}'), /no "keys" array/],
    ['keys not an array', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":{}}'), /no "keys" array/],
    [
      'a keys entry that is not an object',
      (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":["RSA"]}'),
      /not a JSON object/,
    ],
    [
      'duplicate members',
      (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[],"keys":[]}'),
      /duplicate member name/,
    ],
    [
      'more than 100 keys',
      (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: Array(101).fill({ kty: 'oct' }) })),
      /101 keys/,
    ],
    [
      'a declared Content-Length over 256 KiB',
      (res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) }).end(big),
      /body of \d+ bytes is over the 262144-byte limit/,
    ],
    [
      'a chunked body over 256 KiB',
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.write(big.slice(0, 200_000));
        res.end(big.slice(200_000));
      },
      /body is over the 262144-byte limit/,
    ],
    [
      'a body that is not UTF-8',
      (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.from([0x7b, 0xff, 0x7d])),
      /not UTF-8/,
    ],
  ])('answers %s: key_source_unavailable', async (_label, respond, detail) => {
    server.respond((_req, res) => respond(res));
    const { verifier } = verifierWith();
    const error = await refusal(verify(await signAssertion(ec, claims(), { kid: ec.kid }), jwksIdp(), { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect(error.detail).toMatch(detail);
    expect(error.detail).not.toMatch(/login|oops|xxxx/); // the body is never echoed
  });

  it('redirects: refused, and the Location is never requested (not even same-origin)', async () => {
    server.respond((req, res) => {
      if (req.url === '/jwks') res.writeHead(302, { location: server.url('/moved') }).end();
      else jsonResponder({ keys: [ecJwk] })(req, res);
    });
    const { verifier } = verifierWith();
    const error = await refusal(verify(await signAssertion(ec, claims(), { kid: ec.kid }), jwksIdp(), { verifier }));
    expect(error.detail).toMatch(/HTTP 302: redirects are not followed/);
    expect({ jwks: server.hits('/jwks'), moved: server.hits('/moved') }).toEqual({ jwks: 1, moved: 0 });
  });

  it('with a cached set: an expired set is still served while refreshes fail, up to staleMs past expiry', async () => {
    const clock = fakeClock();
    const { verifier } = verifierWith({ clock, timeoutMs: 1500 });
    const idp = jwksIdp();
    const ok = async () => (await verify(await signAssertion(ec, claims(), { kid: ec.kid }), idp, { verifier })).keyId;
    await ok();
    server.respond((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'));

    clock.advance(JWKS_DEFAULTS.ttlMs + 1);
    await ok(); // served stale; a refresh starts and fails
    await until(() => server.requests === 2);
    clock.advance(1000);
    await ok(); // within the retry pause: no new attempt
    expect(server.requests).toBe(2);

    server.hang(); // a hanging refresh does not slow verification down either
    clock.advance(JWKS_DEFAULTS.retryAfterFailureMs + 1000);
    const started = performance.now();
    await ok();
    expect(performance.now() - started).toBeLessThan(500); // not the 1500 ms a wait would take
    await until(() => server.requests === 3);

    clock.advance(JWKS_DEFAULTS.staleMs); // now past expiry + staleMs
    expect(await reasonOf(ok())).toBe('key_source_unavailable');
  });

  it('recovers by itself: after the retry pause the next request downloads again', async () => {
    const clock = fakeClock();
    server.respond((_req, res) => res.writeHead(503).end());
    const { verifier } = verifierWith({ clock });
    const idp = jwksIdp();
    const attempt = async () => verify(await signAssertion(ec, claims(), { kid: ec.kid }), idp, { verifier });
    expect(await reasonOf(attempt())).toBe('key_source_unavailable');
    server.serveKeys([ecJwk]);
    clock.advance(JWKS_DEFAULTS.retryAfterFailureMs - 1);
    expect(await reasonOf(attempt())).toBe('key_source_unavailable');
    expect(server.requests).toBe(1);
    clock.advance(1);
    await attempt();
    expect(server.requests).toBe(2);
  });
});

describe('what a set may contain', () => {
  it('a set that publishes private key members is refused whole, and a cached set of that URI is dropped at once', async () => {
    const privateEc = await (await import('jose')).exportJWK(ec.privateKey);
    expect(privateEc.d).toEqual(expect.any(String));
    const clock = fakeClock();
    const { verifier } = verifierWith({ clock });
    const idp = jwksIdp();
    const attempt = async () => verify(await signAssertion(ec, claims(), { kid: ec.kid }), idp, { verifier });
    await attempt();

    server.serveKeys([rsaJwk, { ...privateEc, kid: ec.kid, use: 'sig' }]);
    clock.advance(JWKS_DEFAULTS.ttlMs + 1);
    await attempt(); // this one still ran on the (expired) cached set; the refresh finds private keys
    await until(() => server.requests === 2);
    // Once that refresh has been judged, the stale set is gone (not served for staleMs).
    let error: unknown;
    const end = Date.now() + 2000;
    while (
      !(error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      )) &&
      Date.now() < end
    )
      await new Promise((r) => setTimeout(r, 10));
    expect(error).toBeInstanceOf(JwtBearerError);
    expect((error as JwtBearerError).reason).toBe('key_source_unavailable');
    expect((error as JwtBearerError).detail).toMatch(/publishes private key members/);
  });

  it.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'])('a private member %s on any asymmetric key refuses the set', (member) => {
    expect(parseJwkSet(JSON.stringify({ keys: [ecJwk, { ...rsaJwk, use: 'enc', [member]: 'AQAB' }] }), 100)).toMatchObject({
      ok: false,
      poisoned: true,
    });
  });

  it('keeps only public signature keys it can use; ignores the rest without refusing the set', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' });
    const ignored: Array<[string, Record<string, unknown>]> = [
      ['use enc', { ...rsaJwk, kid: 'i1', use: 'enc' }],
      ['a symmetric key (even with its k)', { kty: 'oct', k: 'c2VjcmV0', kid: 'i2', alg: 'HS256' }],
      ['key_ops without verify', { ...ecJwk, kid: 'i3', key_ops: ['encrypt'] }],
      ['key_ops not an array', { ...ecJwk, kid: 'i4', key_ops: 'verify' }],
      ['an alg of another key type', { ...rsaJwk, kid: 'i5', alg: 'ES256' }],
      ['an HMAC alg', { ...rsaJwk, kid: 'i6', alg: 'HS256' }],
      ['a kid that is not a string', { ...ecJwk, kid: 7 }],
      ['a use that is not a string', { ...ecJwk, kid: 'i8', use: ['sig'] }],
      ['RSA of 1024 bits', { ...weak, kid: 'i9' }],
      ['X25519', { ...x25519, kid: 'i10' }],
      ['secp256k1', { ...secp256k1, kid: 'i11' }],
      ['an unknown kty', { kty: 'PQC', x: 'AAAA', kid: 'i12' }],
      ['a missing member', { kty: 'EC', crv: 'P-256', x: ecJwk.x, kid: 'i13' }],
      ['a member that is not base64url', { ...ecJwk, kid: 'i14', x: `${ecJwk.x}=` }],
      ['a point not on the curve', { ...ecJwk, kid: 'i15', y: ecJwk.x }],
    ];
    const result = parseJwkSet(JSON.stringify({ keys: [...ignored.map(([, jwk]) => jwk), rsaJwk, ecJwk, edJwk] }), 100);
    expect(result.ok && result.ignored).toBe(ignored.length);
    expect(result.ok && result.keys.map((k) => k.kid)).toEqual(['rsa-1', 'ec-1', 'ed-1']);
  });

  it('an alg member holds the key to that algorithm (an RS256 key never verifies PS256)', async () => {
    server.serveKeys([{ ...rsaJwk, alg: 'RS256' }]);
    const ps = { ...rsa, alg: 'PS256' };
    const { verifier } = verifierWith();
    const idp = jwksIdp();
    await verify(await signAssertion(rsa, claims(), { kid: rsa.kid }), idp, { verifier });
    // A PS256 signature by the same RSA key: its type would allow PS256, its alg member does not.
    const rsaPss = await signPs256With(ps);
    expect(await reasonOf(verify(rsaPss, idp, { verifier }))).toBe('no_usable_key');
  });

  it('the RFC 7638 thumbprint is the key id: equal for the same key material, whatever else the entry says', () => {
    const a = parseJwkSet(JSON.stringify({ keys: [rsaJwk] }), 100);
    const b = parseJwkSet(JSON.stringify({ keys: [{ ...rsaJwk, kid: 'renamed', x5c: ['AAAA'] }] }), 100);
    expect(a.ok && b.ok && a.keys[0]!.thumbprint === b.keys[0]!.thumbprint).toBe(true);
    expect(a.ok && a.keys[0]!.jwk).toEqual({ e: rsaJwk.e, kty: 'RSA', n: rsaJwk.n });
  });
});

describe('where a JWKS may be fetched from (checked again at fetch time)', () => {
  const counting = () => {
    const calls: string[] = [];
    const fetchSpy: FetchFunction = (input, init) => {
      calls.push(input);
      return fetch(input, init);
    };
    return { calls, fetchSpy };
  };

  it.each([
    ['http on a public host', 'http://example.com/jwks', /http: on a host that is not loopback/],
    ['http on a private address', 'http://10.0.0.1/jwks', /not loopback/],
    ['http on an IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/jwks', /not loopback/],
    ['http on a name that merely starts with 127', 'http://127.0.0.1.nip.io/jwks', /not loopback/],
    ['http on localhost with a trailing dot', 'http://localhost./jwks', /not loopback/],
    ['file:', 'file:///etc/passwd', /scheme other than https/],
    ['ftp:', 'ftp://127.0.0.1/jwks', /scheme other than https/],
    ['data:', 'data:application/json,{"keys":[]}', /scheme other than https/],
    ['credentials', 'https://user:pw@idp.example/jwks', /credentials/],
    ['a fragment', 'https://idp.example/jwks#x', /fragment/],
    ['not a URL', 'jwks.json', /not an absolute URL/],
  ])('%s: refused with key_source_unavailable before any request', async (_label, uri, detail) => {
    const { calls, fetchSpy } = counting();
    const { verifier } = verifierWith({ fetch: fetchSpy });
    const error = await refusal(verify(await signAssertion(ec, claims(), { kid: ec.kid }), jwksIdp(uri), { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect(error.detail).toMatch(detail);
    expect(error.detail).not.toContain(uri);
    expect(calls).toEqual([]);
  });

  it('http on any 127.0.0.0/8 address or [::1] is allowed (the request is made)', async () => {
    const { calls, fetchSpy } = counting();
    const { source } = verifierWith({ fetch: fetchSpy, timeoutMs: 300 });
    for (const uri of ['http://127.0.0.1:9/jwks', 'http://127.255.255.254:9/jwks', 'http://[::1]:9/jwks', 'http://localhost:9/jwks']) {
      await source.getKeys(jwksIdp(uri), {}).catch(() => undefined);
    }
    expect(calls).toHaveLength(4);
  });
});

describe('options', () => {
  it.each<[JwksKeySourceOptions, RegExp]>([
    [{ timeoutMs: 0 }, /timeoutMs must be a positive integer/],
    [{ maxBytes: 1.5 }, /maxBytes/],
    [{ maxKeys: -1 }, /maxKeys/],
    [{ staleMs: -1 }, /staleMs must be a non-negative integer/],
    [{ refetchCooldownMs: Number.NaN }, /refetchCooldownMs/],
    [{ maxUris: 0 }, /maxUris/],
    [{ ttlMs: 10_000 }, /minTtlMs <= ttlMs <= maxTtlMs/],
    [{ fetch: 'fetch' as never }, /fetch must be a function/],
    [{ clock: 5 as never }, /clock must be a function/],
  ])('refuses %o at construction', (options, message) => {
    expect(() => createJwksKeySource(options)).toThrow(message);
  });
});

/** A PS256 JWS by an RSA key generated for RS256 (WebCrypto binds a key to one scheme, so re-import it). */
async function signPs256With(key: TestSigningKey): Promise<string> {
  const { webcrypto } = await import('node:crypto');
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key.privateKey);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['sign']);
  return signAssertion({ ...key, alg: 'PS256', privateKey }, claims(), { kid: key.kid });
}
