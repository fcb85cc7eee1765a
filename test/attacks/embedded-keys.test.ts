/**
 * Threat: the token brings its own key. `jwk`, `jku`, `x5u` and `x5c` let a token name or carry the key
 * that is to verify it; a verifier that trusts them accepts anything its author signs, and one that
 * fetches `jku`/`x5u` can be made to send requests anywhere (SSRF).
 *
 * RFC 8725 §3.10 (do not trust received claims: `kid`, `jku`, `x5u`), §2.9 (indirect attacks on the
 * server); RFC 7515 §4.1.2 (`jku`), §4.1.3 (`jwk`), §4.1.5 (`x5u`), §4.1.6 (`x5c`), §4.1.7/§4.1.8
 * (`x5t`, `x5t#S256`), §10.3 (key origin); RFC 7523 §3 item 9; docs/validation.md step 2 ("keys come only from the
 * IdP's stored certificates or its configured JWKS URI").
 *
 * The proof that `jku`/`x5u` are never fetched: a loopback HTTP server that would serve the attacker's
 * JWKS and certificate counts every connection; it must count zero after all cases.
 */
import { createHmac } from 'node:crypto';
import { exportJWK } from 'jose';
import {
  attackTarget,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  openTripwire,
  type AttackTarget,
  type Tripwire,
} from '../helpers/attack-kit';
import type { GrantFixture } from '../helpers/grant-fixture';
import { makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';

const derOf = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

let fx: GrantFixture;
let attacker: TestSigningKey;
let attackerEc: TestSigningKey;
let tripwire: Tripwire;
let attackerJwk: Record<string, unknown>;

beforeAll(async () => {
  fx = await createAttackFixture();
  attacker = await makeSigningKey('RS256', { kid: 'attacker' });
  attackerEc = await makeSigningKey('ES256', { kid: 'attacker-ec' });
  attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: fx.key.kid, alg: 'RS256', use: 'sig' };
  tripwire = await openTripwire({
    '/jwks.json': { type: 'application/json', body: JSON.stringify({ keys: [attackerJwk] }) },
    '/cert.pem': { type: 'application/pem-certificate-chain', body: attacker.certificatePem },
  });
});
afterAll(async () => {
  await tripwire?.close();
  await fx?.close();
});

describe.each(HOSTS)('keys carried or pointed at by the header, on $name', (hut) => {
  let t: AttackTarget;
  beforeAll(() => {
    t = attackTarget(fx, hut);
  });
  afterEach(() => {
    expect(tripwire.connections).toBe(0);
  });

  /** The attacker signs valid claims for `jwtIDP` with `header` added. */
  const forged = (header: Record<string, unknown>, signer: TestSigningKey = attacker) => signAssertion(signer, goodClaims(), header);

  describe('RFC 7515 §4.1.3, RFC 8725 §3.10: jwk is never used', () => {
    it.each([
      ["the attacker's RSA key", () => ({ jwk: { ...attackerJwk, kid: undefined } })],
      ["the attacker's RSA key under the IdP's kid", () => ({ jwk: attackerJwk })],
      ["the attacker's key, the IdP's kid also in the header", () => ({ jwk: attackerJwk, kid: fx.key.kid })],
      ["the attacker's key with x5t#S256 of the IdP certificate", () => ({ jwk: attackerJwk, 'x5t#S256': fx.key.thumbprint })],
    ] as const)('%s', async (_name, header) => {
      const res = await t.refusedGrant(await forged(header()), INVALID_GRANT('signature_invalid'));
      expect(res.status).toBe(400);
    });

    it("the attacker's EC key (ES256), the IdP having only an RSA key", async () => {
      const jwk = await exportJWK(attackerEc.publicKey);
      await t.refusedGrant(await forged({ jwk }, attackerEc), INVALID_GRANT('no_usable_key'));
    });

    it('a symmetric oct jwk with HS256', async () => {
      const payload = Buffer.from(JSON.stringify(goodClaims())).toString('base64url');
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } })).toString('base64url');
      const mac = createHmac('sha256', 'secret').update(`${header}.${payload}`).digest('base64url');
      await t.refusedGrant(`${header}.${payload}.${mac}`, INVALID_GRANT('alg_not_allowed'));
    });
  });

  describe('RFC 7515 §4.1.2, §4.1.5, RFC 8725 §3.10, §2.9: jku and x5u are never fetched nor used', () => {
    it.each([
      ['jku (http, loopback)', () => ({ jku: tripwire.url('/jwks.json') })],
      ['jku (https, loopback)', () => ({ jku: tripwire.url('/jwks.json', 'https') })],
      ['jku with the IdP kid', () => ({ jku: tripwire.url('/jwks.json'), kid: fx.key.kid })],
      ['x5u (http, loopback)', () => ({ x5u: tripwire.url('/cert.pem') })],
      ['x5u (https, loopback)', () => ({ x5u: tripwire.url('/cert.pem', 'https') })],
      ['jku and x5u together', () => ({ jku: tripwire.url('/jwks.json'), x5u: tripwire.url('/cert.pem') })],
      ['jku of the IdP-like host name', () => ({ jku: 'https://as.example.test/.well-known/jwks.json' })],
      ['jku as a file: URL', () => ({ jku: 'file:///etc/passwd' })],
      ['jku that is not a URL', () => ({ jku: 'not a url' })],
    ] as const)('%s', async (_name, header) => {
      await t.refusedGrant(await forged(header()), INVALID_GRANT('signature_invalid'));
      // Give any background fetch time to connect before afterEach counts.
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
  });

  describe('RFC 7515 §4.1.6, RFC 8725 §3.10: x5c is never used', () => {
    it.each([
      ["the attacker's certificate", () => ({ x5c: [derOf(attacker.certificatePem)] })],
      [
        "the attacker's certificate chained under the IdP's",
        () => ({ x5c: [derOf(attacker.certificatePem), derOf(fx.key.certificatePem)] }),
      ],
      ["the IdP's own certificate (signed by the attacker)", () => ({ x5c: [derOf(fx.key.certificatePem)] })],
      ["the attacker's certificate and the IdP kid", () => ({ x5c: [derOf(attacker.certificatePem)], kid: fx.key.kid })],
      ['x5c that is not base64', () => ({ x5c: ['%%%'] })],
      ['x5c that is a string, not an array', () => ({ x5c: derOf(attacker.certificatePem) })],
    ] as const)('%s', async (_name, header) => {
      await t.refusedGrant(await forged(header()), INVALID_GRANT('signature_invalid'));
    });
  });

  describe('RFC 7515 §4.1.7, §4.1.8: thumbprint hints select only among the IdP keys', () => {
    it("x5t#S256 of the attacker's certificate", async () => {
      await t.refusedGrant(await forged({ 'x5t#S256': attacker.thumbprint }), INVALID_GRANT('key_not_found'));
    });
    it("x5t of the attacker's certificate", async () => {
      await t.refusedGrant(await forged({ x5t: attacker.x5t }), INVALID_GRANT('key_not_found'));
    });
    it("x5t#S256 of the IdP's certificate, signed by the attacker", async () => {
      await t.refusedGrant(await forged({ 'x5t#S256': fx.key.thumbprint }), INVALID_GRANT('signature_invalid'));
    });
    it("the IdP's kid with the attacker's x5t#S256 (hints disagree)", async () => {
      await t.refusedGrant(await forged({ kid: fx.key.kid, 'x5t#S256': attacker.thumbprint }), INVALID_GRANT('key_not_found'));
    });
    it("the IdP's x5t#S256 in upper case", async () => {
      await t.refusedGrant(
        await signAssertion(fx.key, goodClaims(), { 'x5t#S256': fx.key.thumbprint.toUpperCase() }),
        INVALID_GRANT('key_not_found'),
      );
    });
    it('the IdP thumbprint in standard base64 with padding', async () => {
      const std = Buffer.from(fx.key.thumbprint, 'base64url').toString('base64');
      await t.refusedGrant(await signAssertion(fx.key, goodClaims(), { 'x5t#S256': std }), INVALID_GRANT('key_not_found'));
    });
  });

  it('control: the IdP itself, with every such header present and hostile, still gets a token (they are ignored, not fatal)', async () => {
    const assertion = await signAssertion(fx.key, goodClaims(), {
      jwk: attackerJwk,
      jku: tripwire.url('/jwks.json'),
      x5u: tripwire.url('/cert.pem'),
      x5c: [derOf(attacker.certificatePem)],
    });
    expect((await t.grant(assertion)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
});

describe('the loopback tripwire', () => {
  it('saw no connection at all, and would have counted one', async () => {
    expect(tripwire.connections).toBe(0);
    expect(tripwire.requests).toBe(0);
    // Prove the counter works: one real fetch of it counts.
    const res = await fetch(tripwire.url('/jwks.json'));
    expect(res.status).toBe(200);
    expect(tripwire.requests).toBe(1);
    expect(tripwire.connections).toBeGreaterThanOrEqual(1);
  });
});
