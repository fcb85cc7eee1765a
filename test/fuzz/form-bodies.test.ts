/**
 * Property-based fuzzing of the token endpoint with random requests around the assertion (issue 4;
 * RFC 6749 §2.3, §3.2, §5.2; RFC 7523 §2.1; docs/http.md): random form fields (the grant's own, repeated,
 * empty, unknown, with hostile names), random values (the fresh valid assertion, a mutated one, random
 * text), random percent-encodings, trailing junk, random client authentication, content types,
 * methods and `tenantDomain` values.
 *
 * Property: never 5xx; always JSON with `Cache-Control: no-store`; a token only when the body, as the
 * endpoint's form parser reads it, holds exactly one `grant_type` (the JWT bearer URN) and exactly one
 * `assertion` that is the case's unmodified, never-used valid assertion, sent by POST with a form content
 * type; and an untouched well-formed request always gets its token.
 *
 * Budget: 1,000 cases by default over the two host lines; FUZZ_RUNS / FUZZ_SEED as in the mutation fuzz.
 */
import fc from 'fast-check';
import { CLIENT, createAttackFixture, HOSTS } from '../helpers/attack-kit';
import { applyMutation, fuzzConfig, mutationArb, serve, type Mutation } from '../helpers/fuzz-kit';
import { JWT_BEARER_GRANT_TYPE, type GrantFixture } from '../helpers/grant-fixture';
import { buildHostApp } from '../helpers/host-app';
import { makeSigningKey, type TestSigningKey } from '../helpers/keys';

const config = fuzzConfig(1000);
const GOOD_AUTH = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

/** A field value: the case's valid assertion, a mutation of it, or a literal. */
type Value = { valid: true } | { mutated: Mutation } | { text: string };
interface Case {
  clean: boolean;
  fields: Array<[string, Value]>;
  encode: 'standard' | 'percentAll' | 'raw';
  tail: string;
  auth: 'good' | 'wrongSecret' | 'garbage' | 'none' | 'bearer' | 'bodyGood' | 'both';
  contentType: string;
  method: string;
  query: string;
}

const valueArb: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ valid: true as const }) },
  { weight: 3, arbitrary: mutationArb.map((m) => ({ mutated: m })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom(
          JWT_BEARER_GRANT_TYPE,
          '',
          'refresh_token',
          'client_credentials',
          'password',
          CLIENT.id,
          CLIENT.secret,
          'carbon.super',
        ),
      )
      .map((text) => ({ text })),
  },
);
const nameArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('grant_type', 'assertion', 'scope', 'client_id', 'client_secret', 'refresh_token', 'tenantDomain'),
  },
  { weight: 1, arbitrary: fc.constantFrom('Assertion', 'assertion[]', 'assertion[0]', '__proto__', 'constructor', 'grant_type ', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const cleanArb: fc.Arbitrary<Case> = fc
  .record({
    scope: fc.option(fc.constantFrom('read', 'read write', 'openid profile'), { nil: undefined }),
    order: fc.boolean(),
  })
  .map(({ scope, order }) => {
    const fields: Array<[string, Value]> = [
      ['grant_type', { text: JWT_BEARER_GRANT_TYPE }],
      ['assertion', { valid: true }],
    ];
    if (order) fields.reverse();
    if (scope) fields.push(['scope', { text: scope }]);
    return { clean: true, fields, encode: 'standard', tail: '', auth: 'good', contentType: FORM, method: 'POST', query: '' };
  });
const randomArb: fc.Arbitrary<Case> = fc.record({
  clean: fc.constant(false),
  fields: fc.oneof(
    fc.array(fc.tuple(nameArb, valueArb), { maxLength: 7 }),
    // The grant's two fields plus a few random ones, shuffled: near misses of a good request.
    fc
      .shuffledSubarray(
        [
          ['grant_type', { text: JWT_BEARER_GRANT_TYPE }],
          ['assertion', { valid: true }],
        ] as Array<[string, Value]>,
        { minLength: 1 },
      )
      .chain((base) =>
        fc
          .array(fc.tuple(nameArb, valueArb), { maxLength: 2 })
          .chain((extra) => fc.shuffledSubarray([...base, ...extra], { minLength: base.length + extra.length })),
      ),
  ),
  encode: fc.constantFrom('standard' as const, 'percentAll' as const, 'raw' as const),
  tail: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) }),
  auth: fc.constantFrom(
    'good' as const,
    'wrongSecret' as const,
    'garbage' as const,
    'none' as const,
    'bearer' as const,
    'bodyGood' as const,
    'both' as const,
  ),
  contentType: fc.oneof(
    { weight: 6, arbitrary: fc.constant(FORM) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `${FORM}; charset=utf-8`,
        `${FORM}; charset=iso-8859-1`,
        'application/json',
        'text/plain',
        'multipart/form-data; boundary=x',
        `${FORM}x`,
        'APPLICATION/X-WWW-FORM-URLENCODED',
      ),
    },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => /^[\x21-\x7e][\x20-\x7e]*$/.test(s)) },
  ),
  method: fc.oneof(
    { weight: 8, arbitrary: fc.constant('POST') },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
  ),
  query: fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '?tenantDomain=carbon.super',
        '?tenantDomain=example.com',
        '?tenantDomain=',
        '?tenantDomain=carbon.super&tenantDomain=carbon.super',
        '?tenantDomain[]=carbon.super',
        '?tenantDomain=%00',
        '?tenantDomain=%',
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `?tenantDomain=${encodeURIComponent(s)}`) },
  ),
});
const caseArb = fc.oneof({ weight: 1, arbitrary: cleanArb }, { weight: 3, arbitrary: randomArb });

let fx: GrantFixture;
let attacker: TestSigningKey;
beforeAll(async () => {
  fx = await createAttackFixture();
  attacker = await makeSigningKey('ES256');
  console.info(`form-bodies fuzz: seed ${config.seed}, ${config.runsPerHost} cases per host line (FUZZ_SEED=${config.seed} to replay)`);
});
afterAll(() => fx?.close());

/** The body text and headers of a case, with `valid` as its fresh assertion. */
async function render(c: Case, valid: string): Promise<{ body: string; headers: Record<string, string> }> {
  const values: Array<[string, string]> = [];
  for (const [name, value] of c.fields) {
    values.push([name, 'valid' in value ? valid : 'mutated' in value ? await applyMutation(valid, value.mutated, attacker) : value.text]);
  }
  if (c.auth === 'bodyGood' || c.auth === 'both') values.push(['client_id', CLIENT.id], ['client_secret', CLIENT.secret]);
  const encodePart = (text: string) =>
    c.encode === 'standard'
      ? encodeURIComponent(text).replace(/%20/g, '+')
      : c.encode === 'percentAll'
        ? [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
        : text; // raw: `&`, `=`, `%` and `+` in the text change the parse, on purpose
  const body = values.map(([n, v]) => `${encodePart(n)}=${encodePart(v)}`).join('&') + c.tail;
  const headers: Record<string, string> = { 'content-type': c.contentType };
  if (c.auth === 'good' || c.auth === 'both') headers.authorization = GOOD_AUTH;
  if (c.auth === 'wrongSecret') headers.authorization = `Basic ${Buffer.from(`${CLIENT.id}:nope`).toString('base64')}`;
  if (c.auth === 'garbage') headers.authorization = 'Basic !!!';
  if (c.auth === 'bearer') headers.authorization = 'Bearer x';
  return { body, headers };
}

describe.each(HOSTS)('fuzzing token request bodies on $name', (hut) => {
  it(
    `no 5xx, and a token only for one unmodified valid assertion in a well-formed request (${config.runsPerHost} cases)`,
    async () => {
      const { app } = buildHostApp(hut, { store: fx.store, mount: { allMethods: true } });
      const client = await serve(app);
      const stats = { cases: 0, issued: 0, clean: 0, byStatus: new Map<number, number>() };
      const started = performance.now();
      const issuedBefore = await fx.issuedCount();
      let n = 0;

      try {
        await fc.assert(
          fc.asyncProperty(caseArb, async (c) => {
            const valid = await fx.assertion({ sub: `u${n++}` });
            const { body, headers } = await render(c, valid);
            const res = await client.send({ method: c.method, path: `/oauth2/token${c.query}`, headers, body });
            stats.cases++;
            stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);

            expect(res.status).toBeLessThan(500);
            expect(res.headers.get('cache-control')).toBe('no-store');
            expect(res.headers.get('content-type')).toMatch(/^application\/json/);
            const answer = JSON.parse(res.text) as Record<string, unknown>;
            // No echo of the assertion: in a refusal at all; in a token response, nowhere but a `scope` the
            // client itself asked for (a JWT's characters are valid scope characters, RFC 6749 §3.3).
            const { scope: _scope, ...rest } = answer;
            expect(JSON.stringify(rest)).not.toContain(valid.split('.')[1]);

            if (res.status === 200) {
              // What the endpoint's parser saw: exactly one grant_type (ours) and one assertion (the valid one).
              const seen = new URLSearchParams(body);
              expect(c.method).toBe('POST');
              expect(c.contentType.toLowerCase().startsWith(FORM)).toBe(true);
              expect(seen.getAll('grant_type')).toEqual([JWT_BEARER_GRANT_TYPE]);
              expect(seen.getAll('assertion')).toEqual([valid]);
              expect(typeof answer.access_token).toBe('string');
              stats.issued++;
            } else {
              expect(answer.access_token).toBeUndefined();
              expect(typeof answer.error).toBe('string');
            }
            if (c.clean) {
              stats.clean++;
              expect(res.status).toBe(200);
            }
          }),
          { numRuns: config.runsPerHost, seed: config.seed, endOnFailure: true, interruptAfterTimeLimit: config.long ? undefined : 50_000 },
        );
      } finally {
        await client.close();
        const seconds = (performance.now() - started) / 1000;
        console.info(
          `${hut.name}: ${stats.cases} cases in ${seconds.toFixed(1)} s (${(stats.cases / seconds).toFixed(0)}/s); issued ${stats.issued} (${stats.clean} clean cases); statuses ${JSON.stringify(Object.fromEntries(stats.byStatus))}; seed ${config.seed}`,
        );
      }
      expect(stats.cases).toBe(config.runsPerHost);
      expect((await fx.issuedCount()) - issuedBefore).toBe(stats.issued);
    },
    config.long ? 6 * 3600_000 : 120_000,
  );
});
