/**
 * A JWKS endpoint that hangs, drips, refuses or answers garbage cannot stall the token endpoint (issue 4,
 * "Fault handling"): every request naming such an IdP is answered within the JWKS source's bound
 * (`timeoutMs`, 2000 ms by default; lib/keys/README.md) with 503 `temporarily_unavailable` (or the
 * refusal the set's content calls for), nothing is issued, no `jti` is burned, and — the point of this
 * file — requests for OTHER IdPs are served at their usual speed while it happens.
 *
 * RFC 8725 §2.9 (indirect attacks on the server), RFC 7517 §5 and §8.5 (JWK Set format and media type);
 * docs/validation.md step 2 (keys from the configured JWKS URI), §4 (503 promptly, never a 500).
 * The hang itself at one host line is also in test/verifier/jwks-token-endpoint.test.ts; here: every
 * failure kind, both host lines, and the proof that nothing else waits.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK } from 'jose';
import request from 'supertest';
import { JWKS_DEFAULTS } from '../../lib/keys';
import { createAttackFixture, expectNoLeak, HOSTS, TOKEN_URL } from '../helpers/attack-kit';
import { expectRefused, grantForm, type GrantFixture } from '../helpers/grant-fixture';
import { buildHostApp, CLIENT } from '../helpers/host-app';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { freePort } from '../helpers/pg-cluster';

const BOUND_MS = JWKS_DEFAULTS.timeoutMs + 1000;

type Behaviour = (res: ServerResponse) => void;

let fx: GrantFixture;
let idpKey: TestSigningKey;
let server: Server;
let base: string;
let deadUrl: string;
const hits = new Map<string, number>();
let behaviours: Record<string, Behaviour>;

beforeAll(async () => {
  fx = await createAttackFixture();
  idpKey = await makeSigningKey('ES256', { kid: 'jwks-1' });
  const publicJwk = { ...(await exportJWK(idpKey.publicKey)), kid: idpKey.kid, use: 'sig', alg: 'ES256' };
  const json =
    (body: string, type = 'application/json', status = 200): Behaviour =>
    (res) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
  behaviours = {
    hang: () => undefined,
    drip: (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
      const timer = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(timer));
    },
    'not JSON': json('<html>oops</html>'),
    'an HTML error page': json('<html>502 Bad Gateway</html>', 'text/html', 502),
    'a 500 with a JSON body': json(JSON.stringify({ keys: [publicJwk] }), 'application/json', 500),
    'the wrong media type': json(JSON.stringify({ keys: [publicJwk] }), 'text/plain'),
    'a JSON array': json(JSON.stringify([publicJwk])),
    'keys not an array': json(JSON.stringify({ keys: publicJwk })),
    'duplicate members': json(`{"keys":[],"keys":${JSON.stringify([publicJwk])}}`),
    'bytes that are not UTF-8': (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.from([0x7b, 0x22, 0x6b, 0xff, 0x22, 0x3a, 0x5b, 0x5d, 0x7d]));
    },
    'a body over the size limit': json(JSON.stringify({ keys: [publicJwk], pad: 'x'.repeat(JWKS_DEFAULTS.maxBytes) })),
    'a private key': json(JSON.stringify({ keys: [{ ...publicJwk, d: 'AAAA' }] })),
    'a redirect to a good set': (res) => {
      res.writeHead(302, { location: `${base}/good` });
      res.end();
    },
    good: json(JSON.stringify({ keys: [publicJwk] })),
  };
  server = createServer((req, res) => {
    const path = decodeURIComponent(
      (req.url ?? '/')
        .slice(1)
        .split('?')[0]!
        .replace(/^[^/]*\//, ''),
    );
    hits.set(path, (hits.get(path) ?? 0) + 1);
    (behaviours[path] ?? json('not found', 'text/plain', 404))(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  deadUrl = `http://127.0.0.1:${await freePort()}/jwks`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await fx?.close();
});

const FAILURES = [
  'hang',
  'drip',
  'refused connection',
  'not JSON',
  'an HTML error page',
  'a 500 with a JSON body',
  'the wrong media type',
  'a JSON array',
  'keys not an array',
  'duplicate members',
  'bytes that are not UTF-8',
  'a body over the size limit',
  'a private key',
  'a redirect to a good set',
];

describe.each(HOSTS)('a failing JWKS endpoint on $name', (hut) => {
  let app: ReturnType<typeof buildHostApp>['app'];
  let outcomes: ReturnType<typeof buildHostApp>['outcomes'];
  const tag = hut.name.startsWith('@') ? 'v5' : 'v3';

  beforeAll(async () => {
    for (const name of FAILURES) {
      const uri = name === 'refused connection' ? deadUrl : `${base}/${tag}/${encodeURIComponent(name)}`;
      await fx.addIdp({ name: `jwks ${tag} ${name}`, jwksUri: uri, aliases: [TOKEN_URL] });
    }
    await fx.addIdp({ name: `jwks ${tag} good`, jwksUri: `${base}/${tag}/good`, aliases: [TOKEN_URL] });
    ({ app, outcomes } = buildHostApp(hut, { store: fx.store }));
  });

  const post = (assertion: string) =>
    request(app)
      .post('/oauth2/token')
      .auth(CLIENT.id, CLIENT.secret)
      .type('form')
      .send(new URLSearchParams(grantForm(assertion)).toString());
  const jwksAssertion = (name: string) =>
    signAssertion(idpKey, assertionClaims({ iss: `jwks ${tag} ${name}`, aud: TOKEN_URL, sub: 'j' }), { kid: idpKey.kid });

  it('control: the good JWKS serves', async () => {
    expect((await post(await jwksAssertion('good'))).status).toBe(200);
  });

  it.each(FAILURES)('%s: 503 temporarily_unavailable within the bound, nothing issued, no jti burned', async (name) => {
    const [issued, replays] = [await fx.issuedCount(), await fx.replayCount()];
    const goodHits = hits.get('good') ?? 0;
    const assertion = await jwksAssertion(name);
    const started = performance.now();
    const res = await post(assertion);
    const ms = performance.now() - started;
    expectRefused(res, 503, 'temporarily_unavailable');
    expectNoLeak(res, [assertion]);
    expect(res.text).not.toMatch(/127\.0\.0\.1|jwks|fetch|abort|timeout/i);
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'refused', status: 503, reason: 'key_source_unavailable' });
    expect(ms).toBeLessThan(BOUND_MS);
    expect([await fx.issuedCount(), await fx.replayCount()]).toEqual([issued, replays]);
    // A redirect is not followed: its Location (a good set) is never requested.
    expect(hits.get('good') ?? 0).toBe(goodHits);
  });

  it('a hanging JWKS stalls nothing else: requests for a certificate IdP and a good JWKS IdP are served meanwhile', async () => {
    // A fresh hanging URI (the failed one above is in its retry pause and would answer at once).
    await fx.addIdp({ name: `jwks ${tag} hang 2`, jwksUri: `${base}/${tag}/hang?again`, aliases: [TOKEN_URL] });
    const hanging = Promise.all(
      Array.from({ length: 5 }, async () => {
        const started = performance.now();
        const res = await post(
          await signAssertion(idpKey, assertionClaims({ iss: `jwks ${tag} hang 2`, aud: TOKEN_URL, sub: 'h' }), { kid: idpKey.kid }),
        );
        return { status: res.status, ms: performance.now() - started };
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100)); // they are now waiting on the JWKS

    const others: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const res = await post(i % 2 ? await fx.assertion() : await jwksAssertion('good'));
      others.push(performance.now() - started);
      expect(res.status).toBe(200);
    }
    const waited = await hanging;
    for (const { status, ms } of waited) {
      expect(status).toBe(503);
      expect(ms).toBeLessThan(BOUND_MS);
    }
    expect(Math.max(...others)).toBeLessThan(1000);
    console.info(
      `${hut.name}: while a JWKS hung (503 after ${Math.round(Math.max(...waited.map((w) => w.ms)))} ms), 10 other requests were served in at most ${Math.round(Math.max(...others))} ms`,
    );
  }, 30_000);
});
