/**
 * IdPs with a JWKS URI through the verifier every caller gets by default (`createAssertionVerifier()`,
 * as the grant and the admin dry run build it): RS256, ES256 and EdDSA keys from a real loopback JWKS
 * server; header `jku`/`x5u`/`jwk`/`x5c` never used; an IdP with both certificates and a JWKS URI.
 */
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { JwtBearerError } from '../../lib/errors';
import { combineKeySources } from '../../lib/keys/combine';
import type { KeySource, VerificationKey } from '../../lib/keys/types';
import { createAssertionVerifier } from '../../lib/verifier';
import { makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { publicJwk, startJwksServer, type JwksServer } from '../keys/jwks-server';
import { claims, idpRecord, reasonOf, refusal, verify } from './support';

let rsa: TestSigningKey;
let ec: TestSigningKey;
let ed: TestSigningKey;
let certKey: TestSigningKey;
let attacker: TestSigningKey;
let idpServer: JwksServer;
let tripwire: JwksServer;

beforeAll(async () => {
  [rsa, ec, ed, certKey, attacker] = await Promise.all([
    makeSigningKey('RS256', { kid: 'rsa-1' }),
    makeSigningKey('ES256', { kid: 'ec-1' }),
    makeSigningKey('EdDSA', { kid: 'ed-1' }),
    makeSigningKey('RS256', { kid: 'cert-1' }),
    makeSigningKey('RS256', { kid: 'attacker-1' }),
  ]);
  idpServer = await startJwksServer([await publicJwk(rsa), await publicJwk(ec), await publicJwk(ed, { alg: undefined })]);
  // Serves the attacker's key under every path, and under the IdP's own kids too.
  tripwire = await startJwksServer([await publicJwk(attacker), await publicJwk(attacker, { kid: rsa.kid })]);
});
afterAll(async () => {
  await idpServer?.close();
  await tripwire?.close();
});
afterEach(() => {
  expect(tripwire.requests).toBe(0);
});

const jwksIdp = (overrides = {}) => idpRecord([], { jwksUri: idpServer.url(), ...overrides });

describe('an IdP with a JWKS URI, through the default verifier', () => {
  it.each(['RS256', 'ES256', 'EdDSA'])('accepts a valid %s assertion, with and without a kid', async (alg) => {
    const key = { RS256: () => rsa, ES256: () => ec, EdDSA: () => ed }[alg]!();
    const verifier = createAssertionVerifier();
    const idp = jwksIdp();
    const withKid = await verify(await signAssertion(key, claims(), { kid: key.kid }), idp, { verifier });
    expect(withKid.keyId).toMatch(/^jwks:[A-Za-z0-9_-]{43}$/);
    expect(withKid.claims.sub).toBe('alice');
    const withoutKid = await verify(await signAssertion(key, claims(), {}), idp, { verifier });
    expect(withoutKid.keyId).toBe(withKid.keyId);
  });

  it('refuses what the JWKS does not vouch for: another key, another alg, a kid of another key', async () => {
    const verifier = createAssertionVerifier();
    const idp = jwksIdp();
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), {}), idp, { verifier }))).toBe('signature_invalid');
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { kid: rsa.kid }), idp, { verifier }))).toBe('signature_invalid');
    expect(await reasonOf(verify(await signAssertion(ec, claims(), { kid: rsa.kid }), idp, { verifier }))).toBe('no_usable_key');
    expect(
      await reasonOf(verify(await signAssertion(rsa, claims(), { kid: rsa.kid }), jwksIdp({ algorithms: ['ES256'] }), { verifier })),
    ).toBe('alg_not_allowed');
  });

  it('an unknown issuer never causes a JWKS request', async () => {
    const verifier = createAssertionVerifier();
    const before = idpServer.requests;
    expect(
      await reasonOf(
        verify(await signAssertion(rsa, claims({ iss: 'https://nobody.example' }), { kid: 'ghost' }), jwksIdp(), { verifier }),
      ),
    ).toBe('issuer_unknown');
    expect(idpServer.requests).toBe(before);
  });
});

describe('keys the header carries or points at are never used (RFC 8725 §3.10)', () => {
  it.each<[string, () => Promise<Record<string, unknown>>]>([
    ['jku', async () => ({ jku: tripwire.url('/jwks') })],
    ['jku with the IdP kid', async () => ({ jku: tripwire.url('/jwks'), kid: rsa.kid })],
    ['jku with the attacker kid', async () => ({ jku: tripwire.url('/jwks'), kid: attacker.kid })],
    ['x5u', async () => ({ x5u: tripwire.url('/cert.pem') })],
    ['jwk', async () => ({ jwk: await exportJWK(attacker.publicKey) })],
    ['jwk with the IdP kid', async () => ({ jwk: { ...(await exportJWK(attacker.publicKey)), kid: rsa.kid }, kid: rsa.kid })],
    ['x5c', async () => ({ x5c: [attacker.certificatePem.replace(/-----[^-]+-----|\s/g, '')] })],
  ])('%s: an assertion by the attacker is refused, and the pointed-at server sees no request', async (_label, header) => {
    const verifier = createAssertionVerifier();
    const reason = await reasonOf(verify(await signAssertion(attacker, claims(), await header()), jwksIdp(), { verifier }));
    expect(['signature_invalid', 'key_not_found']).toContain(reason);
  });

  it('a genuine assertion that also carries jku/x5u verifies with the configured JWKS, and the jku server sees no request', async () => {
    const verifier = createAssertionVerifier();
    const header = { kid: rsa.kid, jku: tripwire.url('/jwks'), x5u: tripwire.url('/x5u') };
    expect((await verify(await signAssertion(rsa, claims(), header), jwksIdp(), { verifier })).keyId).toMatch(/^jwks:/);
  });
});

describe('an IdP with both certificates and a JWKS URI: the union, certificates first', () => {
  it('verifies with either: a certificate key and a JWKS key', async () => {
    const verifier = createAssertionVerifier();
    const idp = idpRecord([certKey], { jwksUri: idpServer.url() });
    expect((await verify(await signAssertion(certKey, claims(), { kid: certKey.kid }), idp, { verifier })).keyId).toBe(
      `cert:${certKey.thumbprint}`,
    );
    expect((await verify(await signAssertion(certKey, claims(), {}), idp, { verifier })).keyId).toBe(`cert:${certKey.thumbprint}`);
    expect((await verify(await signAssertion(ec, claims(), { kid: ec.kid }), idp, { verifier })).keyId).toMatch(/^jwks:/);
    expect((await verify(await signAssertion(rsa, claims(), {}), idp, { verifier })).keyId).toMatch(/^jwks:/);
    expect(await reasonOf(verify(await signAssertion(rsa, claims(), { kid: 'ghost' }), idp, { verifier }))).toBe('key_not_found');
  });

  describe('while the JWKS endpoint hangs (and nothing is cached)', () => {
    let down: JwksServer;
    beforeAll(async () => {
      down = await startJwksServer();
      down.hang();
    });
    afterAll(() => down.close());

    it('a hint naming a stored certificate verifies at once, without asking the JWKS', async () => {
      const verifier = createAssertionVerifier();
      const idp = idpRecord([certKey], { jwksUri: down.url() });
      const started = performance.now();
      expect((await verify(await signAssertion(certKey, claims(), { kid: certKey.kid }), idp, { verifier })).keyId).toBe(
        `cert:${certKey.thumbprint}`,
      );
      expect((await verify(await signAssertion(certKey, claims(), { 'x5t#S256': certKey.thumbprint }), idp, { verifier })).keyId).toBe(
        `cert:${certKey.thumbprint}`,
      );
      expect(performance.now() - started).toBeLessThan(1000); // a wait for the JWKS would be 2000 ms
      expect(down.requests).toBe(0);
    });

    it('no hint, or a hint no certificate has: key_source_unavailable (the key may be in the JWKS), within the bound', async () => {
      const verifier = createAssertionVerifier();
      const idp = idpRecord([certKey], { jwksUri: down.url() });
      const started = performance.now();
      const [noHint, otherKid] = await Promise.all([
        refusal(verify(await signAssertion(certKey, claims(), {}), idp, { verifier })),
        refusal(verify(await signAssertion(ec, claims(), { kid: ec.kid }), idp, { verifier })),
      ]);
      expect([noHint.reason, otherKid.reason]).toEqual(['key_source_unavailable', 'key_source_unavailable']);
      expect(noHint.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(3000);
    });
  });
});

/** A key these source tests never verify with. */
const UNUSED_KEY = generateKeyPairSync('ed25519').publicKey;

describe('combineKeySources', () => {
  const key = (id: string): VerificationKey => ({ id, supports: () => true, publicKey: UNUSED_KEY });
  const fixed = (...keys: VerificationKey[]): KeySource & { calls: number } => {
    const source = { calls: 0, getKeys: async () => (source.calls++, keys) };
    return source;
  };
  const failing = (error: unknown): KeySource & { calls: number } => {
    const source = {
      calls: 0,
      getKeys: async () => {
        source.calls++;
        throw error;
      },
    };
    return source;
  };
  const idp = idpRecord([]);
  const ids = async (source: KeySource, hint = {}) => (await source.getKeys(idp, hint)).map((k) => k.id);

  it('without a hint: the union of all, in order; with a hint: the first source that has a match, later ones not asked', async () => {
    const a = fixed(key('a'));
    const b = fixed(key('b'));
    expect(await ids(combineKeySources([a, b]))).toEqual(['a', 'b']);
    expect(await ids(combineKeySources([a, b]), { kid: 'k' })).toEqual(['a']);
    expect(b.calls).toBe(1);
    expect(await ids(combineKeySources([fixed(), b]), { kid: 'k' })).toEqual(['b']);
    expect(await ids(combineKeySources([fixed(), fixed()]), { kid: 'k' })).toEqual([]);
  });

  it('an unavailable source: passed over for a hint another source matches; otherwise its error is the answer', async () => {
    const down = failing(new JwtBearerError('key_source_unavailable'));
    expect(await ids(combineKeySources([down, fixed(key('b'))]), { kid: 'k' })).toEqual(['b']);
    expect(await reasonOf(ids(combineKeySources([fixed(), down]), { kid: 'k' }))).toBe('key_source_unavailable');
    expect(await reasonOf(ids(combineKeySources([fixed(key('a')), down])))).toBe('key_source_unavailable');
  });

  it('any other error is thrown as is', async () => {
    const bug = new TypeError('bug');
    await expect(ids(combineKeySources([failing(bug), fixed(key('b'))]), { kid: 'k' })).rejects.toBe(bug);
    await expect(ids(combineKeySources([fixed(key('a')), failing(bug)]))).rejects.toBe(bug);
  });
});
