/**
 * Failure audit (issue 4, "Audit of failures"): every request to the token endpoint — refused, failed
 * or served — is reported exactly once through `onOutcome`, with a stable reason code from a closed set
 * (so metrics labels stay bounded and an operator can see an attack by its reasons), and nothing in any
 * outcome or log line holds the assertion, a client secret, the Authorization header or a token.
 *
 * RFC 8725 §3.10 spirit (do not trust received values, here: do not log them); RFC 6749 §10.3, §10.4
 * (access and refresh tokens are secrets); docs/validation.md last paragraph (stable reason codes in logs and
 * metrics; `error_description` never echoes the assertion, keys or secrets).
 *
 * Part one runs a corpus of hostile requests (one of each kind the attack suite covers, plus a served
 * request and a database failure) against both host lines and counts. Part two runs a part of it against
 * the example server and reads its JSON log lines and its /metrics.
 */
import request from 'supertest';
import { REASONS, StoreUnavailableError } from '../../lib/errors';
import type { TokenOutcome } from '../../lib/http/token-endpoint';
import type { GrantStore } from '../../lib/store/types';
import { b64json, CLIENT, createAttackFixture, describeOutcome, goodClaims, HOSTS, signInput } from '../helpers/attack-kit';
import { grantForm, JWT_BEARER_GRANT_TYPE, type GrantFixture } from '../helpers/grant-fixture';
import { buildHostApp } from '../helpers/host-app';
import type { ExampleFixture } from '../example-server/fixture';
import { makeSigningKey, rawJws, signAssertion, type TestSigningKey } from '../helpers/keys';

/** Every reason code an outcome may carry: ours, the endpoint's own, and the host's OAuth error names. */
const KNOWN_REASONS = new Set<string>([
  ...Object.keys(REASONS),
  'method_not_allowed',
  'content_type_invalid',
  'body_too_large',
  'client_auth_multiple',
  'rate_limited',
  'invalid_client',
  'invalid_request',
  'invalid_grant',
  'invalid_scope',
  'unauthorized_client',
  'unsupported_grant_type',
  'temporarily_unavailable',
  'server_error',
]);

const basicHeader = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;

type App = ReturnType<typeof buildHostApp>['app'];
/** One hostile (or, for the last ones, legitimate) request of the corpus: what it sends and what is secret in it. */
interface CorpusCase {
  name: string;
  send(app: App): Promise<{ res: request.Response; secrets: string[] }>;
}

let fx: GrantFixture;
let attacker: TestSigningKey;

beforeAll(async () => {
  fx = await createAttackFixture();
  attacker = await makeSigningKey('ES256');
});
afterAll(() => fx?.close());

const form = (app: App, body: string, auth = basicHeader) =>
  request(app).post('/oauth2/token').set('Authorization', auth).type('form').send(body);
const grant = async (app: App, assertion: string, extra: Record<string, string> = {}) => ({
  res: await form(app, new URLSearchParams(grantForm(assertion, extra)).toString()),
  secrets: [assertion],
});

function corpus(): CorpusCase[] {
  const claims = () => goodClaims();
  return [
    { name: 'alg none', send: (app) => grant(app, rawJws({ alg: 'none' }, claims(), '')) },
    {
      name: 'HS256 with the certificate',
      send: async (app) => grant(app, await signInput({ ...fx.key, alg: 'RS256' }, `${b64json({ alg: 'HS256' })}.${b64json(claims())}`)),
    },
    { name: 'jwk of the attacker', send: async (app) => grant(app, await signAssertion(attacker, claims(), { jwk: { kty: 'EC' } })) },
    { name: 'kid SQL', send: async (app) => grant(app, await signAssertion(fx.key, claims(), { kid: "' OR 1=1 --" })) },
    { name: 'crit', send: async (app) => grant(app, await signAssertion(fx.key, claims(), { crit: ['x'], x: 1 })) },
    { name: 'ECDSA zero signature', send: (app) => grant(app, rawJws({ alg: 'ES256' }, claims(), Buffer.alloc(64).toString('base64url'))) },
    { name: 'JWE', send: (app) => grant(app, `${b64json({ alg: 'dir', enc: 'A256GCM' })}..aaaa.bbbbbbbbbbbbbbbb.cccc`) },
    {
      name: 'exp 1e400',
      send: async (app) =>
        grant(
          app,
          await signInput(
            fx.key,
            `${b64json({ alg: 'RS256' })}.${Buffer.from(JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e400')).toString('base64url')}`,
          ),
        ),
    },
    { name: 'aud object', send: async (app) => grant(app, await fx.assertion({ aud: { x: 1 } })) },
    {
      name: 'duplicate iss',
      send: async (app) =>
        grant(
          app,
          await signInput(
            fx.key,
            `${b64json({ alg: 'RS256' })}.${Buffer.from(`{"iss":"evil",${JSON.stringify(claims()).slice(1)}`).toString('base64url')}`,
          ),
        ),
    },
    {
      name: 'non-UTF-8',
      send: async (app) =>
        grant(app, await signInput(fx.key, `${b64json({ alg: 'RS256' })}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}`)),
    },
    { name: 'unknown issuer', send: async (app) => grant(app, await fx.assertion({ iss: 'nobody' })) },
    { name: 'another IdP key', send: async (app) => grant(app, await fx.assertion({}, {}, attacker)) },
    { name: 'expired', send: async (app) => grant(app, await fx.assertion({ exp: 1, iat: 0 })) },
    { name: 'scope outside policy', send: async (app) => grant(app, await fx.assertion(), { scope: 'bad"scope' }) },
    { name: 'oversized assertion', send: (app) => grant(app, `${'a'.repeat(17_000)}.b.c`) },
    { name: 'oversized body', send: async (app) => ({ res: await form(app, `assertion=${'a'.repeat(70_000)}`), secrets: [] }) },
    {
      name: 'repeated assertion',
      send: async (app) => {
        const a = await fx.assertion();
        return {
          res: await form(app, `grant_type=${encodeURIComponent(JWT_BEARER_GRANT_TYPE)}&assertion=${a}&assertion=${a}`),
          secrets: [a],
        };
      },
    },
    {
      name: 'wrong content type',
      send: async (app) => {
        const a = await fx.assertion();
        return {
          res: await request(app)
            .post('/oauth2/token')
            .set('Authorization', basicHeader)
            .send({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: a }),
          secrets: [a],
        };
      },
    },
    {
      name: 'GET',
      send: async (app) => {
        const a = await fx.assertion();
        return { res: await request(app).get(`/oauth2/token?assertion=${a}`).set('Authorization', basicHeader), secrets: [a] };
      },
    },
    {
      name: 'wrong client secret',
      send: async (app) => {
        const a = await fx.assertion();
        const auth = `Basic ${Buffer.from(`${CLIENT.id}:guess-${CLIENT.secret}-1`).toString('base64')}`;
        return {
          res: await form(app, new URLSearchParams(grantForm(a)).toString(), auth),
          secrets: [a, auth.slice(6), `guess-${CLIENT.secret}-1`],
        };
      },
    },
    {
      name: 'secret in the body beside Basic',
      send: async (app) => {
        const a = await fx.assertion();
        return {
          res: await form(app, new URLSearchParams({ ...grantForm(a), client_secret: 'body-secret-value' }).toString()),
          secrets: [a, 'body-secret-value'],
        };
      },
    },
    {
      name: 'unknown tenant',
      send: async (app) => {
        const a = await fx.assertion();
        return {
          res: await request(app)
            .post('/oauth2/token?tenantDomain=nowhere')
            .set('Authorization', basicHeader)
            .type('form')
            .send(new URLSearchParams(grantForm(a)).toString()),
          secrets: [a],
        };
      },
    },
    { name: 'unsupported grant type', send: async (app) => ({ res: await form(app, 'grant_type=urn:x:y&assertion=abc'), secrets: [] }) },
    {
      name: 'replayed assertion',
      send: async (app) => {
        const a = await fx.assertion();
        await form(app, new URLSearchParams(grantForm(a)).toString());
        return { res: await form(app, new URLSearchParams(grantForm(a)).toString()), secrets: [a] };
      },
    },
  ];
}

describe.each(HOSTS)('failure audit on $name', (hut) => {
  it('reports exactly one outcome per request, with a known reason code, and no secret in any outcome', async () => {
    const { app, outcomes, model } = buildHostApp(hut, { store: fx.store, mount: { allMethods: true } });
    const issued: string[] = [];
    const generate = model.generateAccessToken;
    model.generateAccessToken = async function (this: unknown) {
      const token = await generate.call(this);
      issued.push(token);
      return token;
    };
    const cases = corpus();
    const secrets: string[] = [CLIENT.secret, basicHeader.slice(6)];
    for (const c of cases) {
      const before = outcomes.length;
      const { res, secrets: sent } = await c.send(app);
      secrets.push(...sent);
      expect({ case: c.name, status: res.status < 500 }).toEqual({ case: c.name, status: true });
      expect({ case: c.name, outcomes: outcomes.length - before }).toEqual({
        case: c.name,
        outcomes: c.name === 'replayed assertion' ? 2 : 1,
      });
    }
    // The replay case sends two requests (one served, one refused): one outcome each, no more.
    expect(outcomes).toHaveLength(cases.length + 1);

    // A database failure is reported once too, and its cause (a driver error that names the query and its
    // bindings, as knex's do) holds no assertion or token: only their hashes ever reach the store.
    const failing: GrantStore = Object.create(fx.store);
    failing.recordIssuance = async (input) => {
      throw new StoreUnavailableError(
        new Error(`insert into jwt_bearer_used_assertions … ${JSON.stringify(input)} - Connection terminated unexpectedly`),
      );
    };
    const down = buildHostApp(hut, { store: failing });
    down.model.generateAccessToken = model.generateAccessToken;
    const a = await fx.assertion();
    secrets.push(a);
    const res = await form(down.app, new URLSearchParams(grantForm(a)).toString());
    expect(res.status).toBe(503);
    expect(down.outcomes).toHaveLength(1);
    expect(down.outcomes[0]).toMatchObject({ outcome: 'refused', status: 503, reason: 'store_unavailable' });
    expect(down.outcomes[0]!.cause).toBeDefined();

    const all: TokenOutcome[] = [...outcomes, ...down.outcomes];
    const reasons = new Map<string, number>();
    for (const o of all) {
      expect(typeof o.reason === 'string' || o.outcome === 'issued').toBe(true);
      if (o.reason) {
        expect(KNOWN_REASONS).toContain(o.reason);
        reasons.set(o.reason, (reasons.get(o.reason) ?? 0) + 1);
      }
    }
    // Many distinct reasons, i.e. an operator can tell the attacks apart.
    expect(reasons.size).toBeGreaterThanOrEqual(15);

    expect(issued.length).toBeGreaterThanOrEqual(2);
    secrets.push(...issued);
    for (const token of model.tokens.values()) if (token.refreshToken) secrets.push(token.refreshToken);
    const text = all.map(describeOutcome).join('\n');
    for (const secret of secrets) {
      for (const piece of [secret, ...secret.split('.')].filter((p) => p.length >= 12)) {
        if (text.includes(piece))
          throw new Error(`an outcome holds ${piece.length} characters of a secret (${all.length} outcomes checked)`);
      }
    }
  });
});

describe('failure audit through the example server (JSON logs and Prometheus metrics)', () => {
  let ex: ExampleFixture;
  let metrics: string;
  let answers: request.Response[];
  let secrets: string[];
  const requestCount = 9;

  beforeAll(async () => {
    const { createExampleFixture, TOKEN_URL: EXAMPLE_URL } = await import('../example-server/fixture');
    ex = await createExampleFixture();
    const client = await ex.createApplication();
    const key = await ex.registerIdp('auditIDP', { aliases: [EXAMPLE_URL] });
    const auth = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    const post = (body: string, header = auth) =>
      request(ex.app).post('/oauth2/token').set('Authorization', header).type('form').send(body);
    const good = await ex.assertion(key, 'auditIDP');
    const forged = await ex.assertion(attacker, 'auditIDP');
    const requests: Array<() => request.Test> = [
      () => post(`grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${good}`),
      () => post(`grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${good}`),
      () => post(`grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${forged}`),
      () => post(`grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${rawJws({ alg: 'none' }, { iss: 'auditIDP' }, '')}`),
      () => post(`grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${good}&client_secret=${client.clientSecret}`),
      () =>
        post(
          `grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${forged}`,
          `Basic ${Buffer.from(`${client.clientId}:wrong-${client.clientSecret}`).toString('base64')}`,
        ),
      () => post(`grant_type=constructor&assertion=${forged}`),
      () => post(`grant_type=__proto__&assertion=${forged}`),
      () => post(`grant_type=${'x'.repeat(5000)}&assertion=${forged}`),
    ];
    expect(requests).toHaveLength(requestCount);
    answers = [];
    for (const send of requests) answers.push(await send());
    secrets = [good, forged, client.clientSecret, auth.slice(6), answers[0]!.body.access_token, answers[0]!.body.refresh_token];
    metrics = (await request(ex.app).get('/metrics')).text;
  });
  afterAll(() => ex?.close());

  it('logs each token request once, with its reason and without secrets, and counts it by reason', () => {
    expect(answers.map((r) => r.status)).toEqual([200, 400, 400, 400, 400, 401, 400, 400, 400]);
    const lines = ex.logs.filter((l) => l.event === 'token_request');
    expect(lines).toHaveLength(requestCount);
    expect(lines.map((l) => l.reason)).toEqual([
      undefined,
      'jti_replayed',
      'no_usable_key', // an ES256 forgery against an IdP with one RSA certificate
      'alg_not_allowed',
      'client_auth_multiple',
      'invalid_client',
      'unsupported_grant_type',
      'unsupported_grant_type',
      'unsupported_grant_type',
    ]);
    const text = ex.logText();
    for (const secret of secrets) {
      for (const piece of [secret, ...String(secret).split('.')].filter((p) => p.length >= 12)) expect(text.includes(piece)).toBe(false);
    }
    for (const reason of ['jti_replayed', 'no_usable_key', 'alg_not_allowed', 'client_auth_multiple', 'invalid_client']) {
      expect(metrics).toMatch(
        new RegExp(`oauth2_token_requests_total\\{grant_type="jwt-bearer",outcome="refused",reason="${reason}"\\} 1`),
      );
    }
    expect(metrics).not.toMatch(/x{20}/);
  });

  // `grant_type=constructor` or `__proto__` must not reach a label through Object.prototype.
  it('never turns a client-chosen grant type into a label value', () => {
    expect(metrics).not.toMatch(/grant_type="(function|\[object)/);
    expect(metrics).toMatch(/oauth2_token_requests_total\{grant_type="other",outcome="refused",reason="unsupported_grant_type"\} 3/);
  });
});
