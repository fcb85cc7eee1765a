/**
 * docs/validation.md step 2, the algorithm: every default algorithm works with a real key and certificate; `none`,
 * HMAC (keyed with the IdP's public material: RFC 8725 §2.1 algorithm confusion) and unknown algorithms
 * are refused before any IdP lookup; each key verifies only its own algorithms (RFC 8725 §3.1).
 */
import { constants, createHmac, createPublicKey, generateKeyPairSync, sign, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { algorithmsForKey } from '../../lib/keys';
import { SUPPORTED_ALGORITHMS } from '../../lib/verifier';
import { DEFAULT_ALGORITHMS } from '../../lib/types';
import { rawJws, reissueCertificate, sharedSigningKey, signAssertion, TEST_ALGORITHMS, type TestSigningKey } from '../helpers/keys';
import { claims, directory, idpRecord, reasonOf, refusal, verify } from './support';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('each default algorithm with a real key and certificate', () => {
  it('supports exactly the default list', () => {
    expect([...SUPPORTED_ALGORITHMS].sort()).toEqual([...DEFAULT_ALGORITHMS].sort());
    expect([...TEST_ALGORITHMS].sort()).toEqual([...DEFAULT_ALGORITHMS].sort());
  });

  it.each(TEST_ALGORITHMS)('%s verifies, with and without a kid', async (alg) => {
    const key = await sharedSigningKey(alg);
    const idp = idpRecord([key]);
    const withKid = await verify(await signAssertion(key, claims({ sub: `sub-${alg}` }), { kid: key.kid }), idp);
    expect(withKid.claims.sub).toBe(`sub-${alg}`);
    expect(withKid.header.alg).toBe(alg);
    expect(withKid.keyId).toBe(`cert:${key.thumbprint}`);
    expect((await verify(await signAssertion(key, claims()), idp)).keyId).toBe(`cert:${key.thumbprint}`);
  });

  it.each(TEST_ALGORITHMS)('%s: a flipped signature bit is signature_invalid', async (alg) => {
    const key = await sharedSigningKey(alg);
    const [h, p, s] = (await signAssertion(key, claims())).split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[sig.length >> 1]! ^= 0x01;
    expect(await reasonOf(verify(`${h}.${p}.${sig.toString('base64url')}`, idpRecord([key])))).toBe('signature_invalid');
  });
});

describe('alg none and HMAC are refused before the issuer is looked up', () => {
  it.each(['none', 'None', 'NONE', 'nOnE', 'none '])('alg %j', async (alg) => {
    const key = await sharedSigningKey('RS256');
    const find = directory(idpRecord([key]));
    for (const signature of ['', 'AAAA']) {
      const error = await refusal(verify(rawJws({ alg, typ: 'JWT' }, claims(), signature), [], { findIdentityProvider: find }));
      expect(error.reason).toBe('alg_not_allowed');
    }
    expect(find.calls).toEqual([]);
  });

  it('even where the IdP allow-list (wrongly) contains none and HS256', async () => {
    const key = await sharedSigningKey('RS256');
    const idp = idpRecord([key], { algorithms: ['none', 'HS256', 'RS256'] });
    expect(await reasonOf(verify(rawJws({ alg: 'none' }, claims(), ''), idp))).toBe('alg_not_allowed');
    const header = b64({ alg: 'HS256' });
    const payload = b64(claims());
    const mac = createHmac('sha256', key.certificatePem).update(`${header}.${payload}`).digest('base64url');
    expect(await reasonOf(verify(`${header}.${payload}.${mac}`, idp))).toBe('alg_not_allowed');
  });

  describe.each(['HS256', 'HS384', 'HS512'])('%s keyed with the IdP public material (algorithm confusion)', (alg) => {
    const secrets: Array<[string, (pem: string) => Buffer | string]> = [
      ['the certificate PEM', (pem) => pem],
      ['the certificate DER', (pem) => new X509Certificate(pem).raw],
      ['the SPKI PEM', (pem) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' })],
      ['the SPKI DER', (pem) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })],
      ['the public JWK', (pem) => JSON.stringify(new X509Certificate(pem).publicKey.export({ format: 'jwk' }))],
    ];
    it.each(secrets)('secret = %s', async (_name, secretOf) => {
      const key = await sharedSigningKey('RS256');
      const find = directory(idpRecord([key]));
      const header = b64({ alg, typ: 'JWT', kid: key.kid });
      const payload = b64(claims());
      const mac = createHmac(`sha${alg.slice(2)}`, secretOf(key.certificatePem))
        .update(`${header}.${payload}`)
        .digest('base64url');
      expect(await reasonOf(verify(`${header}.${payload}.${mac}`, [], { findIdentityProvider: find }))).toBe('alg_not_allowed');
      expect(find.calls).toEqual([]);
    });
  });

  it.each([
    ['lower-case rs256', 'rs256'],
    ['Ed25519 (not in the default list)', 'Ed25519'],
    ['ES256K', 'ES256K'],
    ['a JWE algorithm', 'RSA-OAEP'],
    ['dir', 'dir'],
    ['an empty string', ''],
  ])('%s', async (_name, alg) => {
    const find = directory(idpRecord([await sharedSigningKey('RS256')]));
    expect(await reasonOf(verify(rawJws({ alg }, claims()), [], { findIdentityProvider: find }))).toBe('alg_not_allowed');
    expect(find.calls).toEqual([]);
  });

  it.each([
    ['missing', {}],
    ['a number', { alg: 256 }],
    ['an array', { alg: ['RS256'] }],
    ['null', { alg: null }],
  ])('alg %s', async (_name, header) => {
    expect(await reasonOf(verify(rawJws(header, claims()), idpRecord([])))).toBe('alg_not_allowed');
  });
});

describe("the IdP's allow-list", () => {
  it('refuses a supported algorithm the IdP does not allow (after the lookup)', async () => {
    const key = await sharedSigningKey('PS256');
    const idp = idpRecord([key], { algorithms: ['RS256'] });
    const find = directory(idp);
    const error = await refusal(verify(await signAssertion(key, claims()), [], { findIdentityProvider: find }));
    expect(error.reason).toBe('alg_not_allowed');
    expect(find.calls).toHaveLength(1);
  });

  it('accepts what it allows', async () => {
    const key = await sharedSigningKey('PS256');
    await expect(verify(await signAssertion(key, claims()), idpRecord([key], { algorithms: ['PS256'] }))).resolves.toBeDefined();
  });

  it('an empty allow-list allows nothing', async () => {
    const key = await sharedSigningKey('ES256');
    expect(await reasonOf(verify(await signAssertion(key, claims()), idpRecord([key], { algorithms: [] })))).toBe('alg_not_allowed');
  });
});

describe('each key only with the algorithms of its own type', () => {
  it('an RSA certificate with an ES256 header (signed by an EC key) is no_usable_key', async () => {
    const rsa = await sharedSigningKey('RS256');
    const ec = await sharedSigningKey('ES256');
    expect(await reasonOf(verify(await signAssertion(ec, claims()), idpRecord([rsa])))).toBe('no_usable_key');
    expect(await reasonOf(verify(await signAssertion(ec, claims(), { kid: rsa.kid }), idpRecord([rsa])))).toBe('no_usable_key');
  });

  it('an EC certificate of another curve is not tried', async () => {
    const p384 = await sharedSigningKey('ES384');
    const p256 = await sharedSigningKey('ES256');
    expect(await reasonOf(verify(await signAssertion(p256, claims()), idpRecord([p384])))).toBe('no_usable_key');
  });

  it('an Ed25519 certificate does not verify ES256, nor an EC one EdDSA', async () => {
    const ed = await sharedSigningKey('EdDSA');
    const ec = await sharedSigningKey('ES256');
    expect(await reasonOf(verify(await signAssertion(ec, claims()), idpRecord([ed])))).toBe('no_usable_key');
    expect(await reasonOf(verify(await signAssertion(ed, claims()), idpRecord([ec])))).toBe('no_usable_key');
  });

  it('an IdP with keys of several types picks the one that fits', async () => {
    const keys = await Promise.all(['RS256', 'ES384', 'EdDSA', 'ES256'].map(sharedSigningKey));
    const idp = idpRecord(keys);
    for (const key of keys) expect((await verify(await signAssertion(key, claims()), idp)).keyId).toBe(`cert:${key.thumbprint}`);
  });

  it('one RSA certificate verifies RS* and PS* signatures of its key', async () => {
    // An IdP moving from PKCS#1 v1.5 to PSS keeps its certificate: the key type is RSA either way.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    const rs256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const certified = await reissueCertificate({
      alg: 'RS256',
      privateKey: await webcrypto.subtle.importKey('pkcs8', pkcs8, rs256, false, ['sign']),
      publicKey: await webcrypto.subtle.importKey('spki', spki, rs256, true, ['verify']),
    } as TestSigningKey);
    const idp = idpRecord([certified]);
    const signed = (alg: string, padding: number) => {
      const input = `${b64({ alg })}.${b64(claims())}`;
      const signature = sign(`sha${alg.slice(2)}`, Buffer.from(input), { key: privateKey, padding, saltLength: Number(alg.slice(2)) / 8 });
      return `${input}.${signature.toString('base64url')}`;
    };
    for (const alg of ['RS256', 'RS384', 'RS512'])
      expect((await verify(signed(alg, constants.RSA_PKCS1_PADDING), idp)).header.alg).toBe(alg);
    for (const alg of ['PS256', 'PS384', 'PS512'])
      expect((await verify(signed(alg, constants.RSA_PKCS1_PSS_PADDING), idp)).header.alg).toBe(alg);
    // ...but a PSS signature under an RS header is not a PKCS#1 v1.5 signature.
    const [h, p, sig] = signed('PS256', constants.RSA_PKCS1_PSS_PADDING).split('.');
    expect(await reasonOf(verify(`${b64({ alg: 'RS256' })}.${p}.${sig}`, idp))).toBe('signature_invalid');
    expect(h).toBeDefined();
  });

  describe('algorithmsForKey', () => {
    const pub = (type: string, options: object): KeyObject =>
      (generateKeyPairSync as (t: string, o: object) => { publicKey: KeyObject })(type, options).publicKey;
    it.each([
      ['RSA 2048', () => pub('rsa', { modulusLength: 2048 }), ['PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512']],
      ['RSA 1024 (too small, RFC 7518 §3.3)', () => pub('rsa', { modulusLength: 1024 }), []],
      ['RSA-PSS 2048', () => pub('rsa-pss', { modulusLength: 2048 }), ['PS256', 'PS384', 'PS512']],
      [
        'RSA-PSS 2048 pinned to SHA-384',
        () => pub('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha384', mgf1HashAlgorithm: 'sha384', saltLength: 48 }),
        ['PS384'],
      ],
      ['EC P-256', () => pub('ec', { namedCurve: 'P-256' }), ['ES256']],
      ['EC P-384', () => pub('ec', { namedCurve: 'P-384' }), ['ES384']],
      ['EC P-521', () => pub('ec', { namedCurve: 'P-521' }), ['ES512']],
      ['EC secp256k1', () => pub('ec', { namedCurve: 'secp256k1' }), []],
      ['Ed25519', () => pub('ed25519', {}), ['EdDSA']],
      ['Ed448', () => pub('ed448', {}), []],
      ['X25519', () => pub('x25519', {}), []],
      ['DSA', () => pub('dsa', { modulusLength: 2048, divisorLength: 256 }), []],
    ])('%s', (_name, make, expected) => {
      expect([...algorithmsForKey(make())].sort()).toEqual(expected);
    });
  });
});
