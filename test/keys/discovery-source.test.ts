/**
 * The OpenID Connect discovery key source (lib/keys/discovery-source.ts) against a real HTTP server on
 * 127.0.0.1 that serves an OpenID Provider configuration document and the JWKS it names, with real keys:
 * the issuer rule (OpenID Connect Discovery 1.0 §4.3), the jwks_uri rule, the download bounds, the
 * document cache, and key rotation (a new kid, and a new jwks_uri). Fake clocks where minutes must pass.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JwtBearerError } from '../../lib/errors';
import { defaultKeySources } from '../../lib/keys/combine';
import { createDiscoveryKeySource, DISCOVERY_DEFAULTS, type DiscoveryKeySourceOptions } from '../../lib/keys/discovery-source';
import type { IdentityProviderRecord } from '../../lib/types';
import { createAssertionVerifier } from '../../lib/verifier';
import { makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { claims, idpRecord, ISSUER, reasonOf, refusal, verify } from '../verifier/support';
import { publicJwk, startJwksServer, until, type JwksServer } from './jwks-server';

const CONFIG_PATH = '/.well-known/openid-configuration';

let rsa: TestSigningKey;
let ec: TestSigningKey;
let rsaJwk: Record<string, unknown>;
let ecJwk: Record<string, unknown>;
let server: JwksServer;
/** What the server answers per path; a path not listed is 404. */
let routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;

beforeAll(async () => {
  [rsa, ec] = await Promise.all([makeSigningKey('RS256', { kid: 'rsa-1' }), makeSigningKey('ES256', { kid: 'ec-1' })]);
  [rsaJwk, ecJwk] = await Promise.all([publicJwk(rsa), publicJwk(ec)]);
});

beforeEach(async () => {
  server = await startJwksServer();
  routes = {};
  server.respond((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0]!];
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  serveConfiguration();
  serveKeys('/jwks', [rsaJwk]);
});
afterEach(() => server.close());

function json(body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return (_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(text);
}
/** Serves the configuration document with `members` over the defaults (issuer ISSUER, jwks_uri /jwks); undefined deletes. */
function serveConfiguration(members: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const doc: Record<string, unknown> = {
    issuer: ISSUER,
    jwks_uri: server.url('/jwks'),
    token_endpoint: 'https://idp.example.test/token',
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    ...members,
  };
  for (const [name, value] of Object.entries(members)) if (value === undefined) delete doc[name];
  routes[CONFIG_PATH] = json(doc, headers);
}
const serveKeys = (path: string, keys: unknown[]) => (routes[path] = json({ keys }));

function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return Object.assign(() => t, { advance: (ms: number) => void (t += ms) });
}

const discoveryIdp = (url = server.url(CONFIG_PATH), overrides: Partial<IdentityProviderRecord> = {}) =>
  idpRecord([], { discoveryUrl: url, ...overrides });

function verifierWith(options: DiscoveryKeySourceOptions = {}) {
  const source = createDiscoveryKeySource(options);
  return { source, verifier: createAssertionVerifier({ keySources: [source] }) };
}
const signed = (key: TestSigningKey, kid: string | undefined = key.kid) => signAssertion(key, claims(), kid === undefined ? {} : { kid });
const hits = () => ({ config: server.hits(CONFIG_PATH), jwks: server.hits('/jwks'), jwks2: server.hits('/jwks-2') });

describe('keys through the configuration document', () => {
  it('reads the document, then the keys at its jwks_uri; later verifications make no request', async () => {
    const { verifier } = verifierWith();
    const idp = discoveryIdp();
    for (let i = 0; i < 5; i++) {
      const result = await verify(await signed(rsa), idp, { verifier });
      expect(result.keyId).toMatch(/^jwks:[A-Za-z0-9_-]{43}$/);
    }
    await verify(await signed(rsa, undefined), idp, { verifier }); // no hint: every key is tried
    expect(hits()).toEqual({ config: 1, jwks: 1, jwks2: 0 });
  });

  it('asks for application/json, and never follows a redirect', async () => {
    let accept: string | undefined;
    routes[CONFIG_PATH] = (req, res) => {
      accept = req.headers.accept;
      res.writeHead(302, { location: server.url('/elsewhere') }).end();
    };
    const { verifier } = verifierWith();
    const error = await refusal(verify(await signed(rsa), discoveryIdp(), { verifier }));
    expect(accept).toBe('application/json');
    expect({ reason: error.reason, status: error.status, error: error.error }).toEqual({
      reason: 'key_source_unavailable',
      status: 503,
      error: 'temporarily_unavailable',
    });
    expect(error.detail).toMatch(/^discovery document of 127\.0\.0\.1:\d+: no usable document: HTTP 302: redirects are not followed$/);
    expect(server.hits('/elsewhere')).toBe(0);
  });

  it('20 concurrent verifications on a cold cache share one document download and one JWKS download', async () => {
    const { verifier } = verifierWith();
    const idp = discoveryIdp();
    const assertions = await Promise.all(Array.from({ length: 20 }, () => signed(rsa)));
    await Promise.all(assertions.map((a) => verify(a, idp, { verifier })));
    expect(hits()).toEqual({ config: 1, jwks: 1, jwks2: 0 });
  });

  it('an IdP without a discovery URL gets no keys and causes no request', async () => {
    const { source } = verifierWith();
    expect(await source.getKeys(idpRecord([]), { kid: 'x' })).toEqual([]);
    expect(await source.getKeys(idpRecord([], { jwksUri: server.url('/jwks') }), {})).toEqual([]);
    expect(server.requests).toBe(0);
  });
});

describe('OpenID Connect Discovery §4.3: the issuer must be the IdP name, exactly', () => {
  it.each([
    ['another issuer', { issuer: 'https://evil.example.test' }, 'the discovery document names another issuer'],
    ['a trailing slash', { issuer: `${ISSUER}/` }, 'the discovery document names another issuer'],
    ['other case', { issuer: ISSUER.toUpperCase() }, 'the discovery document names another issuer'],
    ['no issuer', { issuer: undefined }, 'the discovery document has no issuer'],
    ['an issuer that is not a string', { issuer: [ISSUER] }, 'the discovery document has no issuer'],
  ])('%s → discovery_issuer_mismatch, and its keys are never fetched', async (_label, members, detail) => {
    serveConfiguration(members);
    const { verifier } = verifierWith();
    const error = await refusal(verify(await signed(rsa), discoveryIdp(), { verifier }));
    expect({ reason: error.reason, status: error.status, error: error.error, detail: error.detail }).toEqual({
      reason: 'discovery_issuer_mismatch',
      status: 400,
      error: 'invalid_grant',
      detail,
    });
    expect(error.description).toBe('The identity provider discovery document names another issuer.');
    expect(hits()).toEqual({ config: 1, jwks: 0, jwks2: 0 });
  });

  it('the rule is per IdP: one document shared by two IdPs gives keys to the one it names only', async () => {
    const { verifier } = verifierWith();
    await verify(await signed(rsa), discoveryIdp(), { verifier });
    const other = discoveryIdp(server.url(CONFIG_PATH), { name: 'https://other.example.test' });
    const assertion = await signAssertion(rsa, claims({ iss: 'https://other.example.test' }), { kid: rsa.kid });
    expect(await reasonOf(verify(assertion, other, { verifier }))).toBe('discovery_issuer_mismatch');
    expect(hits()).toEqual({ config: 1, jwks: 1, jwks2: 0 });
  });
});

describe('the jwks_uri the document names', () => {
  it.each([
    ['http on a public host', { jwks_uri: 'http://example.com/jwks' }, /its jwks_uri is refused: http: on a host that is not loopback/],
    ['http on a private address', { jwks_uri: 'http://10.0.0.1/jwks' }, /not loopback/],
    ['a file: URL', { jwks_uri: 'file:///etc/passwd' }, /scheme other than https/],
    ['credentials', { jwks_uri: 'https://user:pw@idp.example.test/jwks' }, /credentials/],
    ['a relative URL', { jwks_uri: '/jwks' }, /not an absolute URL/],
    ['missing', { jwks_uri: undefined }, /the document has no "jwks_uri" string/],
    ['not a string', { jwks_uri: ['https://idp.example.test/jwks'] }, /the document has no "jwks_uri" string/],
  ])('%s: key_source_unavailable, and nothing but the document is requested', async (_label, members, detail) => {
    serveConfiguration(members);
    const { verifier } = verifierWith();
    const error = await refusal(verify(await signed(rsa), discoveryIdp(), { verifier }));
    expect({ reason: error.reason, status: error.status }).toEqual({ reason: 'key_source_unavailable', status: 503 });
    expect(error.detail).toMatch(detail);
    expect(error.detail).not.toMatch(/example\.com|10\.0\.0\.1|etc\/passwd|user:pw/); // the document is never echoed
    expect(server.requests).toBe(1);
  });

  it('a jwks_uri on another origin is followed: keys live where the document says (here, another loopback server)', async () => {
    const other = await startJwksServer([ecJwk]);
    try {
      serveConfiguration({ jwks_uri: other.url('/keys') });
      const { verifier } = verifierWith();
      await verify(await signed(ec), discoveryIdp(), { verifier });
      expect({ config: server.hits(CONFIG_PATH), keys: other.hits('/keys') }).toEqual({ config: 1, keys: 1 });
    } finally {
      await other.close();
    }
  });
});

describe('the discovery URL itself', () => {
  it.each([
    ['http on a public host', 'http://idp.example.test/.well-known/openid-configuration', /http: on a host that is not loopback/],
    ['a file: URL', 'file:///etc/openid-configuration', /scheme other than https/],
    ['a fragment', 'https://idp.example.test/.well-known/openid-configuration#x', /fragment/],
    ['not a URL', 'openid-configuration', /not an absolute URL/],
  ])('%s: refused with key_source_unavailable before any request', async (_label, url, detail) => {
    const calls: string[] = [];
    const { verifier } = verifierWith({ fetch: async (input) => (calls.push(input), new Response('{}')) });
    const error = await refusal(verify(await signed(rsa), discoveryIdp(url), { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect(error.detail).toMatch(/^discovery_url refused before any request: /);
    expect(error.detail).toMatch(detail);
    expect(error.detail).not.toContain(url);
    expect(calls).toEqual([]);
  });
});

describe('download bounds: the same as a JWKS', () => {
  const big = JSON.stringify({ issuer: ISSUER, jwks_uri: 'x', padding: 'x'.repeat(70 * 1024) });
  it.each<[string, (req: IncomingMessage, res: ServerResponse) => void, RegExp]>([
    [
      'a Content-Length over 64 KiB',
      (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) }).end(big),
      /body of \d+ bytes is over the 65536-byte limit/,
    ],
    [
      'a chunked body over 64 KiB',
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.write(big.slice(0, 40_000));
        res.end(big.slice(40_000));
      },
      /body is over the 65536-byte limit/,
    ],
    ['HTML (a login page)', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'), /text\/html/],
    [
      'a JWK Set media type (not a configuration document)',
      (_req, res) => res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end('{}'),
      /application\/jwk-set\+json/,
    ],
    ['HTTP 500', (_req, res) => res.writeHead(500).end('oops'), /HTTP 500/],
    ['not JSON', json('{"issuer": oops'), /the document is not JSON/],
    ['a JSON array', json('[]'), /not a JSON object/],
    [
      'a duplicate member (two jwks_uri: which one is meant?)',
      json(`{"issuer":"${ISSUER}","jwks_uri":"https://a.example.test/jwks","jwks_uri":"https://b.example.test/jwks"}`),
      /duplicate member name/,
    ],
  ])('%s: key_source_unavailable', async (_label, responder, detail) => {
    routes[CONFIG_PATH] = responder;
    const { verifier } = verifierWith();
    const error = await refusal(verify(await signed(rsa), discoveryIdp(), { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect(error.detail).toMatch(detail);
    expect(error.detail).not.toMatch(/login|oops|xxxx|a\.example/);
    expect(server.hits('/jwks')).toBe(0);
  });

  it('maxBytes bounds the document (not the JWKS, which keeps its own bound)', async () => {
    serveConfiguration({ padding: 'x'.repeat(2000) });
    const { verifier } = verifierWith({ maxBytes: 1024 });
    expect((await refusal(verify(await signed(rsa), discoveryIdp(), { verifier }))).detail).toMatch(/over the 1024-byte limit/);
  });

  it('a server that never answers: key_source_unavailable within timeoutMs', async () => {
    routes[CONFIG_PATH] = () => undefined;
    const { verifier } = verifierWith({ timeoutMs: 300 });
    const started = performance.now();
    const error = await refusal(verify(await signed(rsa), discoveryIdp(), { verifier }));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(error.detail).toMatch(/no complete answer within 300 ms/);
  });

  it('after a failed download with nothing cached, answers at once for retryAfterFailureMs, then tries again', async () => {
    const clock = fakeClock();
    routes[CONFIG_PATH] = (_req, res) => res.writeHead(503).end();
    const { verifier } = verifierWith({ clock });
    const idp = discoveryIdp();
    expect(await reasonOf(verify(await signed(rsa), idp, { verifier }))).toBe('key_source_unavailable');
    const error = await refusal(verify(await signed(rsa), idp, { verifier }));
    expect(error.detail).toMatch(/the last download failed moments ago: HTTP 503/);
    expect(server.hits(CONFIG_PATH)).toBe(1);
    clock.advance(DISCOVERY_DEFAULTS.retryAfterFailureMs);
    serveConfiguration();
    await verify(await signed(rsa), idp, { verifier });
    expect(hits()).toEqual({ config: 2, jwks: 1, jwks2: 0 });
  });
});

describe('the document cache', () => {
  it('is fresh for an hour without Cache-Control, then refreshed in the background while the cached one serves', async () => {
    const clock = fakeClock();
    const { verifier } = verifierWith({ clock });
    const idp = discoveryIdp();
    await verify(await signed(rsa), idp, { verifier });
    clock.advance(DISCOVERY_DEFAULTS.ttlMs - 1);
    await verify(await signed(rsa), idp, { verifier });
    expect(server.hits(CONFIG_PATH)).toBe(1);
    clock.advance(1);
    await verify(await signed(rsa), idp, { verifier });
    await until(() => server.hits(CONFIG_PATH) === 2);
  });

  it('honours max-age within [5 min, 24 h]: max-age=60 is held for 5 minutes', async () => {
    const clock = fakeClock();
    serveConfiguration({}, { 'cache-control': 'max-age=60' });
    const { verifier } = verifierWith({ clock });
    const idp = discoveryIdp();
    await verify(await signed(rsa), idp, { verifier });
    clock.advance(5 * 60_000 - 1);
    await verify(await signed(rsa), idp, { verifier });
    expect(server.hits(CONFIG_PATH)).toBe(1);
    clock.advance(1);
    await verify(await signed(rsa), idp, { verifier });
    await until(() => server.hits(CONFIG_PATH) === 2);
  });

  it('while the discovery endpoint is down, the last document keeps the IdP working for staleMs past its freshness', async () => {
    const clock = fakeClock();
    const { verifier } = verifierWith({ clock, staleMs: 60_000 });
    const idp = discoveryIdp();
    await verify(await signed(rsa), idp, { verifier });
    routes[CONFIG_PATH] = (_req, res) => res.writeHead(500).end();
    clock.advance(DISCOVERY_DEFAULTS.ttlMs + 59_000);
    await verify(await signed(rsa), idp, { verifier }); // stale, the refresh fails in the background
    await until(() => server.hits(CONFIG_PATH) === 2);
    clock.advance(1000);
    expect(await reasonOf(verify(await signed(rsa), idp, { verifier }))).toBe('key_source_unavailable');
  });

  it('a document whose issuer changed on refresh stops giving keys', async () => {
    const clock = fakeClock();
    const { verifier } = verifierWith({ clock });
    const idp = discoveryIdp();
    await verify(await signed(rsa), idp, { verifier });
    serveConfiguration({ issuer: 'https://moved.example.test' });
    clock.advance(DISCOVERY_DEFAULTS.ttlMs);
    await verify(await signed(rsa), idp, { verifier }); // the cached document serves while the refresh runs
    await until(() => server.hits(CONFIG_PATH) === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await reasonOf(verify(await signed(rsa), idp, { verifier }))).toBe('discovery_issuer_mismatch');
  });
});

describe('key rotation through discovery', () => {
  it('a kid published at the same jwks_uri after first use is accepted on its first use (the JWKS refetch)', async () => {
    const { verifier } = verifierWith();
    const idp = discoveryIdp();
    await verify(await signed(rsa), idp, { verifier });
    serveKeys('/jwks', [rsaJwk, ecJwk]);
    expect((await verify(await signed(ec), idp, { verifier })).keyId).toMatch(/^jwks:/);
    expect(hits()).toEqual({ config: 1, jwks: 2, jwks2: 0 });
  });

  it('a kid published at a new jwks_uri is accepted on its first use: the document is refetched once the JWKS refetch misses', async () => {
    const clock = fakeClock();
    const { verifier } = verifierWith({ clock });
    const idp = discoveryIdp();
    await verify(await signed(rsa), idp, { verifier });
    serveKeys('/jwks-2', [ecJwk]);
    serveConfiguration({ jwks_uri: server.url('/jwks-2') }); // the old /jwks still answers, without the new key
    expect((await verify(await signed(ec), idp, { verifier })).keyId).toMatch(/^jwks:/);
    expect(hits()).toEqual({ config: 2, jwks: 2, jwks2: 1 });

    // An unknown kid within the cooldowns costs nothing; after them, one refetch of each, then key_not_found.
    expect(await reasonOf(verify(await signed(ec, 'ghost'), idp, { verifier }))).toBe('key_not_found');
    expect(hits()).toEqual({ config: 2, jwks: 2, jwks2: 2 }); // the new URI had never missed: its first refetch
    expect(await reasonOf(verify(await signed(ec, 'ghost-2'), idp, { verifier }))).toBe('key_not_found');
    expect(hits()).toEqual({ config: 2, jwks: 2, jwks2: 2 });
    clock.advance(DISCOVERY_DEFAULTS.refetchCooldownMs);
    expect(await reasonOf(verify(await signed(ec, 'ghost-3'), idp, { verifier }))).toBe('key_not_found');
    expect(hits()).toEqual({ config: 3, jwks: 2, jwks2: 3 });
  });

  it('a failed document refetch is key_source_unavailable (the key may be at a new jwks_uri), not key_not_found', async () => {
    const { verifier } = verifierWith();
    const idp = discoveryIdp();
    await verify(await signed(rsa), idp, { verifier });
    routes[CONFIG_PATH] = (_req, res) => res.writeHead(500).end();
    const error = await refusal(verify(await signed(ec), idp, { verifier }));
    expect(error.reason).toBe('key_source_unavailable');
    expect(error.detail).toMatch(/not at the cached jwks_uri and the refetch failed: HTTP 500/);
    await verify(await signed(rsa), idp, { verifier }); // the cached document still serves
  });
});

describe('defaultKeySources', () => {
  it('serves discovery IdPs beside certificate and JWKS IdPs, through one JWKS cache', async () => {
    const verifier = createAssertionVerifier({ keySources: defaultKeySources() });
    await verify(await signed(rsa), discoveryIdp(), { verifier });
    await verify(await signed(rsa), idpRecord([], { jwksUri: server.url('/jwks') }), { verifier }); // the same set, cached
    await verify(await signed(ec), idpRecord([ec]), { verifier });
    expect(hits()).toEqual({ config: 1, jwks: 1, jwks2: 0 });
  });

  it('passes the JWKS fetch to the discovery source unless told otherwise', async () => {
    const seen: string[] = [];
    const fetchSpy = (input: string, init: RequestInit) => (seen.push(new URL(input).pathname), fetch(input, init));
    const verifier = createAssertionVerifier({ keySources: defaultKeySources({ fetch: fetchSpy }) });
    await verify(await signed(rsa), discoveryIdp(), { verifier });
    expect(seen).toEqual([CONFIG_PATH, '/jwks']);
  });
});

describe('options', () => {
  it.each([
    [{ timeoutMs: 0 }, /timeoutMs must be a positive integer/],
    [{ maxBytes: 1.5 }, /maxBytes must be a positive integer/],
    [{ staleMs: -1 }, /staleMs must be a non-negative integer/],
    [{ minTtlMs: 10, ttlMs: 5 }, /need minTtlMs <= ttlMs <= maxTtlMs/],
    [{ fetch: 'no' }, /fetch must be a function/],
  ])('%j is refused at construction', (options, message) => {
    expect(() => createDiscoveryKeySource(options as DiscoveryKeySourceOptions)).toThrow(message);
    expect(() => createDiscoveryKeySource(options as DiscoveryKeySourceOptions)).toThrow(/^Discovery key source: /);
  });

  it('refusals are JwtBearerErrors with a fixed client sentence', async () => {
    routes[CONFIG_PATH] = (_req, res) => res.writeHead(500).end();
    const error = await refusal(verify(await signed(rsa), discoveryIdp(), { verifier: verifierWith().verifier }));
    expect(error).toBeInstanceOf(JwtBearerError);
    expect(error.description).toBe('The identity provider keys are temporarily unavailable; try again shortly.');
  });
});
