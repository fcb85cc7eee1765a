/**
 * Threat: resource exhaustion through size. An oversized assertion, header or body makes the server
 * decode, parse, hash and look up more than it should; deep JSON nesting overflows recursive parsers; a
 * body without Content-Length streams forever.
 *
 * RFC 8725 §3.4 (validate cryptographic inputs before use), RFC 7515 §5.2 (decoding); RFC 9110 §15.5.14
 * (413 Content Too Large); docs/validation.md step 1 (assertion over the configured limit, default 16 KiB →
 * `invalid_grant`), §4 (body over the body limit, default 64 KiB → 413 `invalid_request` JSON).
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  attackTarget,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  INVALID_REQUEST,
  type AttackTarget,
  type Expected,
} from '../helpers/attack-kit';
import { expectRefused, grantForm, JWT_BEARER_GRANT_TYPE, postRaw, type GrantFixture } from '../helpers/grant-fixture';
import { CLIENT } from '../helpers/host-app';
import { makeSigningKey, signAssertion, signRawJws, type TestSigningKey } from '../helpers/keys';

const LIMIT = 16 * 1024;
const BODY_LIMIT = 64 * 1024;
const TOO_LARGE: Expected = { status: 413, error: 'invalid_request', reason: 'body_too_large' };

let fx: GrantFixture;
let attacker: TestSigningKey;
beforeAll(async () => {
  fx = await createAttackFixture();
  attacker = await makeSigningKey('ES256');
});
afterAll(() => fx?.close());

/**
 * An IdP-signed assertion of `bytes` to `bytes + slack` bytes (padding a claim until it fits; a base64url
 * segment cannot have every length).
 */
async function assertionOfLength(bytes: number, slack = 0): Promise<string> {
  const claims = goodClaims({ pad: '' });
  let padding = Math.max(0, Math.floor(((bytes - 1000) * 3) / 4));
  for (let tries = 0; tries < 64; tries++) {
    const jws = await signAssertion(fx.key, { ...claims, pad: 'p'.repeat(padding) });
    if (jws.length >= bytes && jws.length <= bytes + slack) return jws;
    padding += Math.max(1, Math.floor(((bytes - jws.length) * 3) / 4)) * Math.sign(bytes - jws.length) || 1;
  }
  throw new Error(`could not make an assertion of exactly ${bytes} bytes`);
}

describe.each(HOSTS)('size attacks on $name', (hut) => {
  let t: AttackTarget;
  beforeAll(() => {
    t = attackTarget(fx, hut);
  });

  describe('docs/validation.md step 1: the assertion size limit (16 KiB), counted in bytes', () => {
    it('control: an IdP-signed assertion of exactly 16384 bytes is accepted', async () => {
      const jws = await assertionOfLength(LIMIT);
      expect(jws.length).toBe(LIMIT);
      expect((await t.grant(jws)).status).toBe(200);
    });
    it('an IdP-signed assertion of 16385 or 16386 bytes', async () => {
      const jws = await assertionOfLength(LIMIT + 1, 1);
      await t.refusedGrant(jws, INVALID_GRANT('assertion_too_large'));
    });
    it('6000 three-byte characters (6000 UTF-16 units, 18000 bytes)', async () => {
      await t.refusedGrant('€'.repeat(6000), INVALID_GRANT('assertion_too_large'));
    });
    it('an IdP-signed header of 17 KiB', async () => {
      await t.refusedGrant(
        await signRawJws(fx.key, { alg: 'RS256', x: 'h'.repeat(17 * 1024) }, goodClaims()),
        INVALID_GRANT('assertion_too_large'),
      );
    });
    it('an IdP-signed payload of 40 KiB (under the body limit)', async () => {
      await t.refusedGrant(await signAssertion(fx.key, goodClaims({ pad: 'x'.repeat(40 * 1024) })), INVALID_GRANT('assertion_too_large'));
    });
    it('a signature segment of 40 KiB', async () => {
      const [h, p] = (await fx.assertion()).split('.');
      await t.refusedGrant(`${h}.${p}.${'A'.repeat(40 * 1024)}`, INVALID_GRANT('assertion_too_large'));
    });
  });

  describe('RFC 8725 §3.4: hostile structure inside the limit is refused without a crash', () => {
    const deepest = Math.floor((LIMIT * 3) / 4 / 2) - 200;
    it(`a header nested ${deepest} arrays deep`, async () => {
      const header = `{"alg":"ES256","x":${'['.repeat(deepest)}${']'.repeat(deepest)}}`;
      await t.refusedGrant(await signRawJws(attacker, header, goodClaims()), INVALID_GRANT('no_usable_key'));
    });
    it(`a payload nested ${deepest} objects deep`, async () => {
      const payload = `${JSON.stringify(goodClaims()).slice(0, -1)},"x":${'{"a":'.repeat(deepest / 3)}1${'}'.repeat(deepest / 3)}}`;
      await t.refusedGrant(await signRawJws(attacker, { alg: 'ES256' }, payload), INVALID_GRANT('no_usable_key'));
    });
    it('a payload of 1000 members', async () => {
      const extra = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`c${i}`, i]));
      await t.refusedGrant(await signAssertion(attacker, goodClaims(extra)), INVALID_GRANT('no_usable_key'));
    });
    it('a header of 1000 members (all names unique)', async () => {
      const header = Object.fromEntries([['alg', 'ES256'], ...Array.from({ length: 1000 }, (_, i) => [`h${i}`, i])]);
      await t.refusedGrant(await signRawJws(attacker, header, goodClaims()), INVALID_GRANT('no_usable_key'));
    });
    it('a string of 5000 escapes in a claim', async () => {
      const payload = `${JSON.stringify(goodClaims()).slice(0, -1)},"x":"${'\\u0041'.repeat(1500)}"}`;
      await t.refusedGrant(await signRawJws(attacker, { alg: 'ES256' }, payload), INVALID_GRANT('no_usable_key'));
    });
  });

  describe('docs/http.md, RFC 9110 §15.5.14: the body limit (64 KiB)', () => {
    it('a body one byte over the limit', async () => {
      const prefix = `grant_type=${encodeURIComponent(JWT_BEARER_GRANT_TYPE)}&assertion=`;
      const body = prefix + 'a'.repeat(BODY_LIMIT + 1 - prefix.length);
      expect(body.length).toBe(BODY_LIMIT + 1);
      await t.refused(() => postRaw(t.app, body), TOO_LARGE);
    });
    it('a body exactly at the limit is read (and refused for its content)', async () => {
      const prefix = `grant_type=${encodeURIComponent(JWT_BEARER_GRANT_TYPE)}&assertion=`;
      const body = prefix + 'a'.repeat(BODY_LIMIT - prefix.length);
      await t.refused(() => postRaw(t.app, body), INVALID_GRANT('assertion_too_large'));
    });
    it('a 1 MiB body of 100 000 fields', async () => {
      const body = Array.from({ length: 100_000 }, (_, i) => `f${i}=1`).join('&');
      await t.refused(() => postRaw(t.app, body), TOO_LARGE);
    });
    it('60 KiB of empty fields around a valid grant (refused only for the repeated empty name)', async () => {
      const body = `${new URLSearchParams(grantForm('x.y.z')).toString()}${'&'.repeat(60 * 1024)}=&=`;
      await t.refused(() => postRaw(t.app, body), INVALID_REQUEST('parameter_repeated'));
    });

    it('a chunked body with no Content-Length, streaming past the limit, is cut off with 413', async () => {
      const server = t.app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const outcomesBefore = t.outcomes.length;
      try {
        const { port } = server.address() as AddressInfo;
        const answer = await new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
          const req = httpRequest({
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/oauth2/token',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'transfer-encoding': 'chunked',
              authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
            },
          });
          req.on('response', (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
          });
          req.on('error', reject);
          // 2 MiB in 16 KiB chunks; the server must answer long before the end.
          let sent = 0;
          const pump = () => {
            while (sent < 2 * 1024 * 1024) {
              sent += 16 * 1024;
              if (!req.write('a'.repeat(16 * 1024))) {
                req.once('drain', pump);
                return;
              }
            }
            req.end();
          };
          pump();
        });
        expect(answer.status).toBe(413);
        expect(JSON.parse(answer.body)).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
        expect(answer.headers['cache-control']).toBe('no-store');
        expect(t.outcomes.length - outcomesBefore).toBe(1);
        t.tally.requests++;
        t.tally.outcomes++;
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('a Content-Length over the limit is refused before the body is read', async () => {
      const res = await t.refused(
        () =>
          postRaw(t.app, 'grant_type=x')
            .set('Content-Length', String(10 * 1024 * 1024))
            .timeout(5000)
            .catch((e: { response?: unknown }) => e.response as never),
        TOO_LARGE,
      );
      expectRefused(res, 413, 'invalid_request');
    });
  });
});
