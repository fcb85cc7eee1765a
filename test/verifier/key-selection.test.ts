/**
 * docs/validation.md steps 2 and 4, the key: only the IdP's stored certificates ever verify (never `jwk`, `jku`,
 * `x5u`, `x5c` from the token: RFC 8725 §3.10); `kid`, `x5t`, `x5t#S256` select among them and a hint
 * naming no key is refused outright; certificates outside their window are skipped, never fatal.
 */
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { JwtBearerError, StoreUnavailableError } from '../../lib/errors';
import { createCertificateKeySource, type KeySource, type VerificationKey } from '../../lib/keys';
import { createAssertionVerifier } from '../../lib/verifier';
import { makeSigningKey, reissueCertificate, sharedSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { certRecord, claims, idpRecord, NOW, reasonOf, refusal, verify } from './support';

const DAY = 86400_000;
const pemBody = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');

let ours: TestSigningKey;
let attacker: TestSigningKey;

beforeAll(async () => {
  [ours, attacker] = await Promise.all([sharedSigningKey('ES256'), makeSigningKey('ES256', { kid: 'attacker-kid' })]);
});

describe('hints select among the IdP keys', () => {
  let second: TestSigningKey;
  beforeAll(async () => {
    second = await makeSigningKey('ES256', { kid: 'second' });
  });
  const idp = () => idpRecord([certRecord(ours, 'ours-kid'), certRecord(second, 'second')]);

  it.each([
    ['kid = the stored kid', () => ({ kid: 'second' })],
    ['kid = the thumbprint', () => ({ kid: second.thumbprint })],
    ['x5t#S256', () => ({ 'x5t#S256': second.thumbprint })],
    ['x5t (SHA-1)', () => ({ x5t: second.x5t })],
    ['all three, agreeing', () => ({ kid: 'second', x5t: second.x5t, 'x5t#S256': second.thumbprint })],
  ])('%s', async (_name, header) => {
    expect((await verify(await signAssertion(second, claims(), header()), idp())).keyId).toBe(`cert:${second.thumbprint}`);
  });

  it('a kid is compared exactly (case matters)', async () => {
    expect(await reasonOf(verify(await signAssertion(second, claims(), { kid: 'SECOND' }), idp()))).toBe('key_not_found');
  });

  it('a kid that names no known key is key_not_found, and the other keys are not tried', async () => {
    // Signed by a key the IdP has: trying "the others" would succeed, so this proves they are not tried.
    expect(await reasonOf(verify(await signAssertion(second, claims(), { kid: 'rotated-away' }), idp()))).toBe('key_not_found');
  });

  it.each([
    ['x5t#S256 of an unknown certificate', () => ({ 'x5t#S256': attacker.thumbprint })],
    ['x5t of an unknown certificate', () => ({ x5t: attacker.x5t })],
    ['x5t given the SHA-256 value', () => ({ x5t: second.thumbprint })],
    ['hints that disagree (kid of one key, x5t#S256 of the other)', () => ({ kid: 'second', 'x5t#S256': ours.thumbprint })],
    ['a kid that is a number', () => ({ kid: 1 })],
    ['an empty kid', () => ({ kid: '' })],
    ['an x5t#S256 that is an array', () => ({ 'x5t#S256': [second.thumbprint] })],
  ])('%s → key_not_found', async (_name, header) => {
    expect(await reasonOf(verify(await signAssertion(second, claims(), header()), idp()))).toBe('key_not_found');
  });

  it("a kid stored on another IdP's certificate does not name a key here", async () => {
    const other = idpRecord([certRecord(attacker, 'shared-looking')], { name: 'other-idp' });
    const ourIdp = idpRecord([certRecord(ours, 'ours-kid')]);
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { kid: 'shared-looking' }), [ourIdp, other]))).toBe(
      'key_not_found',
    );
  });
});

describe('keys the token brings are never used', () => {
  let fetchSpy: jest.SpyInstance;
  beforeEach(() => {
    fetchSpy = jest.spyOn(globalThis, 'fetch').mockRejectedValue(new Error('no network in this test'));
  });
  afterEach(() => fetchSpy.mockRestore());

  it("a jwk header carrying the attacker's own key", async () => {
    const jwk = await exportJWK(attacker.publicKey);
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { jwk }), idpRecord([ours])))).toBe('signature_invalid');
    // ...with its thumbprint as kid, as RFC 7638-minded signers do: still not a key of ours.
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { jwk, kid: attacker.thumbprint }), idpRecord([ours])))).toBe(
      'key_not_found',
    );
  });

  it('a jwk header carrying our own public key, signed by the attacker', async () => {
    const jwk = await exportJWK(ours.publicKey);
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { jwk }), idpRecord([ours])))).toBe('signature_invalid');
  });

  it.each([
    ['jku', { jku: 'https://attacker.example/jwks.json' }],
    ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
  ])('a %s URL is not fetched', async (_name, header) => {
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), header), idpRecord([ours])))).toBe('signature_invalid');
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { ...header, kid: 'attacker-kid' }), idpRecord([ours])))).toBe(
      'key_not_found',
    );
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("an x5c chain with the attacker's certificate", async () => {
    const x5c = [pemBody(attacker.certificatePem)];
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { x5c }), idpRecord([ours])))).toBe('signature_invalid');
    expect(
      await reasonOf(verify(await signAssertion(attacker, claims(), { x5c, 'x5t#S256': attacker.thumbprint }), idpRecord([ours]))),
    ).toBe('key_not_found');
  });

  it('an x5c chain naming our certificate, signed by the attacker', async () => {
    const x5c = [pemBody(ours.certificatePem)];
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { x5c, 'x5t#S256': ours.thumbprint }), idpRecord([ours])))).toBe(
      'signature_invalid',
    );
  });

  it("another IdP's key signing our issuer", async () => {
    const ourIdp = idpRecord([ours]);
    const otherIdp = idpRecord([attacker], { name: 'https://other-idp.example' });
    expect(await reasonOf(verify(await signAssertion(attacker, claims()), [ourIdp, otherIdp]))).toBe('signature_invalid');
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { kid: attacker.kid }), [ourIdp, otherIdp]))).toBe(
      'key_not_found',
    );
    // The same key is good for its own issuer.
    await expect(verify(await signAssertion(attacker, claims({ iss: otherIdp.name })), [ourIdp, otherIdp])).resolves.toBeDefined();
  });
});

describe('certificate validity windows', () => {
  let expired: TestSigningKey;
  let fresh: TestSigningKey;
  let future: TestSigningKey;
  beforeAll(async () => {
    [expired, fresh] = await Promise.all([
      makeSigningKey('ES256', { kid: 'old', notBefore: new Date(NOW.getTime() - 400 * DAY), notAfter: new Date(NOW.getTime() - DAY) }),
      makeSigningKey('ES256', { kid: 'new' }),
    ]);
    future = await makeSigningKey('ES256', {
      kid: 'next',
      notBefore: new Date(NOW.getTime() + DAY),
      notAfter: new Date(NOW.getTime() + 400 * DAY),
    });
  });

  it('an expired certificate beside a valid one: the valid one works, with or without a kid', async () => {
    const idp = idpRecord([expired, fresh]);
    expect((await verify(await signAssertion(fresh, claims()), idp)).keyId).toBe(`cert:${fresh.thumbprint}`);
    expect((await verify(await signAssertion(fresh, claims(), { kid: 'new' }), idp)).keyId).toBe(`cert:${fresh.thumbprint}`);
    // The old key itself no longer verifies: skipped when trying all, unusable when named.
    expect(await reasonOf(verify(await signAssertion(expired, claims()), idp))).toBe('signature_invalid');
    expect(await reasonOf(verify(await signAssertion(expired, claims(), { kid: 'old' }), idp))).toBe('no_usable_key');
  });

  it('an expired certificate alone: no_usable_key', async () => {
    expect(await reasonOf(verify(await signAssertion(expired, claims()), idpRecord([expired])))).toBe('no_usable_key');
  });

  it('a not-yet-valid certificate (a pre-loaded successor) is not used until its time', async () => {
    const idp = idpRecord([fresh, future]);
    expect(await reasonOf(verify(await signAssertion(future, claims(), { kid: 'next' }), idp))).toBe('no_usable_key');
    expect(await reasonOf(verify(await signAssertion(future, claims()), idp))).toBe('signature_invalid');
    expect(await reasonOf(verify(await signAssertion(future, claims()), idpRecord([future])))).toBe('no_usable_key');
    // Once its time has come, it works.
    const later = new Date(future.notBefore.getTime() + 1000);
    const assertion = await signAssertion(future, { ...claims(), iat: later.getTime() / 1000, exp: later.getTime() / 1000 + 300 });
    expect((await verify(assertion, idp, { now: later })).keyId).toBe(`cert:${future.thumbprint}`);
  });

  it('the window is inclusive at both ends', async () => {
    const assertionAt = (at: Date) =>
      signAssertion(fresh, { ...claims(), iat: Math.floor(at.getTime() / 1000), exp: Math.floor(at.getTime() / 1000) + 300 });
    const idp = idpRecord([fresh]);
    for (const at of [fresh.notBefore, fresh.notAfter])
      await expect(verify(await assertionAt(at), idp, { now: at })).resolves.toBeDefined();
    const after = new Date(fresh.notAfter.getTime() + 1000);
    expect(await reasonOf(verify(await assertionAt(after), idp, { now: after }))).toBe('no_usable_key');
  });

  it('a reissued certificate over the same key: the current one verifies', async () => {
    const lapsed = await reissueCertificate(fresh, {
      kid: 'lapsed',
      notBefore: new Date(NOW.getTime() - 10 * DAY),
      notAfter: new Date(NOW.getTime() - DAY),
    });
    const idp = idpRecord([certRecord(lapsed, 'lapsed'), certRecord(fresh, 'new')]);
    expect((await verify(await signAssertion(fresh, claims()), idp)).keyId).toBe(`cert:${fresh.thumbprint}`);
    expect(await reasonOf(verify(await signAssertion(fresh, claims(), { kid: 'lapsed' }), idp))).toBe('no_usable_key');
  });
});

describe('stored certificates that cannot be used are skipped, never fatal', () => {
  it('an IdP without certificates: no_usable_key', async () => {
    expect(await reasonOf(verify(await signAssertion(ours, claims()), idpRecord([])))).toBe('no_usable_key');
  });

  it('a row whose PEM is not a certificate, or whose thumbprint does not match its DER, beside a good one', async () => {
    const good = certRecord(ours);
    const garbage = { ...certRecord(attacker), pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', kid: 'garbage' };
    const mislabelled = {
      ...certRecord(attacker),
      thumbprint: good.thumbprint.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
      kid: 'mislabelled',
    };
    const idp = idpRecord([garbage, mislabelled, good]);
    expect((await verify(await signAssertion(ours, claims()), idp)).keyId).toBe(`cert:${ours.thumbprint}`);
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { kid: 'garbage' }), idp))).toBe('key_not_found');
    expect(await reasonOf(verify(await signAssertion(attacker, claims(), { kid: 'mislabelled' }), idp))).toBe('key_not_found');
  });
});

describe('the certificate key source', () => {
  it('parses each certificate once, and shares the parsed key between IdPs', async () => {
    const source = createCertificateKeySource({ maxEntries: 4 });
    const a = idpRecord([certRecord(ours, 'a')]);
    const b = idpRecord([certRecord(ours, 'b')], { name: 'b' });
    const [[k1], [k2]] = await Promise.all([source.getKeys(a, {}), source.getKeys(b, {})]);
    expect(k1!.publicKey).toBe(k2!.publicKey);
    const [k3] = await source.getKeys(a, { kid: 'a' });
    expect(k3!.publicKey).toBe(k1!.publicKey);
    expect([k1!.supports('ES256'), k1!.supports('ES384'), k1!.supports('RS256')]).toEqual([true, false, false]);
    expect(await source.getKeys(a, { kid: 'b' })).toEqual([]);
  });

  it('is bounded: the least recently used certificate is forgotten first', async () => {
    const source = createCertificateKeySource({ maxEntries: 2 });
    const keys = await Promise.all([0, 1, 2].map(() => makeSigningKey('ES256')));
    const idps = keys.map((key) => idpRecord([key]));
    const first = async (i: number) => (await source.getKeys(idps[i]!, {}))[0]!.publicKey;
    const k0 = await first(0);
    await first(1);
    expect(await first(0)).toBe(k0); // 0 is now the most recent
    await first(2); // evicts 1
    expect(await first(0)).toBe(k0);
    const k1 = await first(1);
    expect(await first(1)).toBe(k1);
    await first(2);
    expect(await first(0)).not.toBe(k0); // 0 was the eldest by now, and was parsed again
  });

  it('rejects a bad cache size', () => {
    expect(() => createCertificateKeySource({ maxEntries: 0 })).toThrow(/maxEntries/);
  });
});

describe('custom key sources', () => {
  const sourceOf = (keys: VerificationKey[]): KeySource => ({ getKeys: async () => keys });

  it('uses the union of all sources (e.g. certificates and a JWKS)', async () => {
    const [jwksKey] = await createCertificateKeySource().getKeys(idpRecord([attacker]), {});
    const verifier = createAssertionVerifier({ keySources: [createCertificateKeySource(), sourceOf([jwksKey!])] });
    const idp = idpRecord([ours]);
    expect((await verify(await signAssertion(ours, claims()), idp, { verifier })).keyId).toBe(`cert:${ours.thumbprint}`);
    expect((await verify(await signAssertion(attacker, claims()), idp, { verifier })).keyId).toBe(`cert:${attacker.thumbprint}`);
  });

  it('a source that cannot answer refuses with its own error (e.g. key_source_unavailable)', async () => {
    const down: KeySource = {
      getKeys: async () => {
        throw new JwtBearerError('key_source_unavailable', { detail: 'jwks fetch timed out' });
      },
    };
    const verifier = createAssertionVerifier({ keySources: [down] });
    const error = await refusal(verify(await signAssertion(ours, claims()), idpRecord([ours]), { verifier }));
    expect({ reason: error.reason, error: error.error, status: error.status }).toEqual({
      reason: 'key_source_unavailable',
      error: 'temporarily_unavailable',
      status: 503,
    });
  });

  it('a key that OpenSSL refuses for the alg is unusable, not fatal', async () => {
    // Claims ES256 but is an Ed25519 key: verify throws for it, and the next key is tried.
    const broken: VerificationKey = { id: 'broken', supports: () => true, publicKey: generateKeyPairSync('ed25519').publicKey };
    const [good] = await createCertificateKeySource().getKeys(idpRecord([ours]), {});
    const verifier = createAssertionVerifier({ keySources: [sourceOf([broken, good!])] });
    expect((await verify(await signAssertion(ours, claims()), idpRecord([]), { verifier })).keyId).toBe(`cert:${ours.thumbprint}`);
    const onlyBroken = createAssertionVerifier({ keySources: [sourceOf([broken])] });
    expect(await reasonOf(verify(await signAssertion(ours, claims()), idpRecord([]), { verifier: onlyBroken }))).toBe('no_usable_key');
  });

  it('an error of the IdP lookup passes through unchanged', async () => {
    const down = new StoreUnavailableError(new Error('connect ECONNREFUSED'));
    await expect(
      verify(await signAssertion(ours, claims()), [], {
        findIdentityProvider: async () => {
          throw down;
        },
      }),
    ).rejects.toBe(down);
  });
});
