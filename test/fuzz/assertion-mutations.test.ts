/**
 * Property-based fuzzing of the token endpoint with mutated assertions (issue 4; RFC 8725 §3.3, §3.4;
 * RFC 7523 §3; docs/validation.md, §4).
 *
 * Each case signs a FRESH valid assertion (RS256, ES256 or EdDSA; with a `jti`, or without where the IdP
 * allows it) and applies one random mutation: bit flips in the text or in the decoded bytes, segment
 * swaps, drops and repeats, re-encodings (padding, standard alphabet, whitespace, case, percent-escapes,
 * non-zero trailing bits), truncation and insertion, claim and header edits with hostile values (with
 * the old signature kept, or re-signed by an attacker's key), or a wholesale replacement.
 *
 * Property: the answer is never 5xx; it is JSON with `Cache-Control: no-store`; a token is issued if and
 * only if the string sent is the unmodified valid assertion; and that assertion is served once (the
 * replayed identical request is refused `invalid_grant`). At the end, the audit table holds exactly one
 * row per token issued, each with its replay record.
 *
 * Budget: 2,000 cases by default over the two host lines; FUZZ_RUNS=<n> for a long run, FUZZ_SEED=<n>
 * to replay one. The seed is printed.
 */
import fc from 'fast-check';
import { createAttackFixture, CLIENT, HOSTS, TOKEN_URL } from '../helpers/attack-kit';
import { applyMutation, fuzzConfig, mutationArb, serve, type Mutation } from '../helpers/fuzz-kit';
import { grantForm, type GrantFixture } from '../helpers/grant-fixture';
import { buildHostApp } from '../helpers/host-app';
import { tokensWithoutReplayRecord } from '../helpers/replay-audit';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';

const config = fuzzConfig(2000);
const AUTH = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;

let fx: GrantFixture;
let signers: Array<{ key: TestSigningKey; iss: string; jti: boolean }>;
let attacker: TestSigningKey;

beforeAll(async () => {
  fx = await createAttackFixture();
  const [ec, ed, ecNoJti] = await Promise.all([
    makeSigningKey('ES256', { kid: 'ec' }),
    makeSigningKey('EdDSA', { kid: 'ed' }),
    makeSigningKey('ES256', { kid: 'ec-nojti' }),
  ]);
  attacker = await makeSigningKey('ES256', { kid: 'ec' }); // same kid as the IdP's EC key, on purpose
  await fx.addIdp({ name: 'ecIDP', certificates: [{ pem: ec.certificatePem, kid: ec.kid }], aliases: [TOKEN_URL] });
  await fx.addIdp({ name: 'edIDP', certificates: [{ pem: ed.certificatePem, kid: ed.kid }], aliases: [TOKEN_URL] });
  await fx.addIdp({
    name: 'noJtiIDP',
    certificates: [{ pem: ecNoJti.certificatePem, kid: ecNoJti.kid }],
    aliases: [TOKEN_URL],
    requireJti: false,
  });
  signers = [
    { key: fx.key, iss: 'jwtIDP', jti: true },
    { key: ec, iss: 'ecIDP', jti: true },
    { key: ed, iss: 'edIDP', jti: true },
    { key: ecNoJti, iss: 'noJtiIDP', jti: false },
  ];
  console.info(
    `assertion-mutations fuzz: seed ${config.seed}, ${config.runsPerHost} cases per host line (FUZZ_SEED=${config.seed} to replay)`,
  );
});
afterAll(() => fx?.close());

describe.each(HOSTS)('fuzzing mutated assertions on $name', (hut) => {
  it(
    `no 5xx, and a token only for the unmodified valid assertion, once (${config.runsPerHost} cases)`,
    async () => {
      const { app } = buildHostApp(hut, { store: fx.store });
      const client = await serve(app);
      const issuedBefore = await fx.issuedCount();
      const stats = { cases: 0, issued: 0, refused: 0, byStatus: new Map<number, number>() };
      const started = performance.now();
      let nonce = 0;

      const post = (assertion: string) =>
        client.send({
          headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(grantForm(assertion)).toString(),
        });

      try {
        await fc.assert(
          fc.asyncProperty(fc.nat({ max: 3 }), mutationArb, async (which, mutation: Mutation) => {
            const signer = signers[which]!;
            const claims = assertionClaims({
              iss: signer.iss,
              aud: TOKEN_URL,
              sub: `user-${nonce}`,
              n: nonce++,
              ...(signer.jti ? {} : { jti: undefined }),
            });
            const original = await signAssertion(signer.key, claims, { kid: signer.key.kid });
            const sent = await applyMutation(original, mutation, attacker);

            const res = await post(sent);
            stats.cases++;
            stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
            expect(res.status).toBeLessThan(500);
            expect(res.headers.get('cache-control')).toBe('no-store');
            const body = JSON.parse(res.text) as Record<string, unknown>;

            if (sent === original) {
              expect(res.status).toBe(200);
              expect(typeof body.access_token).toBe('string');
              stats.issued++;
              // Once: the very same request again is a replay.
              const again = await post(sent);
              expect(again.status).toBe(400);
              expect(JSON.parse(again.text)).toMatchObject({ error: 'invalid_grant' });
            } else {
              expect(res.status).not.toBe(200);
              expect(body.access_token).toBeUndefined();
              expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
              stats.refused++;
            }
          }),
          { numRuns: config.runsPerHost, seed: config.seed, endOnFailure: true, interruptAfterTimeLimit: config.long ? undefined : 50_000 },
        );
      } finally {
        await client.close();
        const seconds = (performance.now() - started) / 1000;
        console.info(
          `${hut.name}: ${stats.cases} cases in ${seconds.toFixed(1)} s (${(stats.cases / seconds).toFixed(0)}/s); issued ${stats.issued}, refused ${stats.refused}; statuses ${JSON.stringify(Object.fromEntries(stats.byStatus))}; seed ${config.seed}`,
        );
      }

      expect(stats.cases).toBe(config.runsPerHost);
      // Exactly one audit row, with its replay record, per token issued.
      expect((await fx.issuedCount()) - issuedBefore).toBe(stats.issued);
      expect(await tokensWithoutReplayRecord(fx.db.knex)).toBe(0);
    },
    config.long ? 6 * 3600_000 : 120_000,
  );
});
