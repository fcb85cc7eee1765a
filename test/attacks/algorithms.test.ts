/**
 * Threat: choosing the algorithm. The JOSE header names the algorithm, and an attacker writes the
 * header: `none` (no signature at all), HMAC keyed with the IdP's public key or certificate (anyone has
 * those), or another asymmetric algorithm than the key's own.
 *
 * RFC 8725 §2.1 (weak signatures and insufficient validation), §3.1 (perform algorithm verification:
 * each key with exactly one algorithm), §3.2 (use appropriate algorithms); RFC 7518 §3.6 (`none`),
 * §3.2 (HMAC), §3.3 (RSA keys of at least 2048 bits); RFC 7515 §4.1.1 (`alg` is case-sensitive);
 * RFC 7523 §3 item 9 (the JWT MUST be digitally signed); docs/validation.md step 2.
 */
import 'reflect-metadata';
import { constants, createHmac, createPublicKey, KeyObject, randomBytes, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { exportJWK } from 'jose';
import {
  attackTarget,
  b64json,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  signInput,
  TOKEN_URL,
  type AttackTarget,
} from '../helpers/attack-kit';
import type { GrantFixture } from '../helpers/grant-fixture';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';

/** Every spelling of `none` that differs only in case: 16 of them. */
const NONE_CASINGS = Array.from({ length: 16 }, (_, mask) => [...'none'].map((c, i) => (mask & (1 << i) ? c.toUpperCase() : c)).join(''));

let fx: GrantFixture;
let ecKey: TestSigningKey;
let attackerEc: TestSigningKey;
let weakKeyIdp: { name: string; privateKey: KeyObject };
let dualIdp: { name: string; privateKey: KeyObject };

beforeAll(async () => {
  fx = await createAttackFixture();
  ecKey = await makeSigningKey('ES256', { kid: 'ec-1' });
  attackerEc = await makeSigningKey('ES256', { kid: 'attacker-ec' });
  await fx.addIdp({ name: 'ecIDP', certificates: [{ pem: ecKey.certificatePem, kid: ecKey.kid }], aliases: [TOKEN_URL] });
  weakKeyIdp = await addRsaIdp(fx, 'weakIDP', 1024);
  dualIdp = await addRsaIdp(fx, 'rsaIDP', 2048);
});
afterAll(() => fx?.close());

/**
 * An IdP whose only certificate holds an RSA key of `bits`, with the private key as a KeyObject (so
 * one key can sign both PKCS#1 v1.5 and PSS, which a WebCrypto key bound to one algorithm cannot).
 */
async function addRsaIdp(fixture: GrantFixture, name: string, bits: number): Promise<{ name: string; privateKey: KeyObject }> {
  x509.cryptoProvider.set(webcrypto as never);
  const keys = (await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
    keys,
  });
  await fixture.addIdp({ name, certificates: [{ pem: cert.toString('pem') }], aliases: [TOKEN_URL] });
  return { name, privateKey: KeyObject.from(keys.privateKey) };
}

/** `header.payload.signature` with a node:crypto RSA signature (PKCS#1 v1.5 or PSS) over SHA-256. */
function rsaSigned(privateKey: KeyObject, header: unknown, payload: unknown, padding: 'pkcs1' | 'pss'): string {
  const input = `${b64json(header)}.${b64json(payload)}`;
  const sig = sign('sha256', Buffer.from(input), {
    key: privateKey,
    padding: padding === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
    saltLength: 32,
  });
  return `${input}.${sig.toString('base64url')}`;
}

describe.each(HOSTS)('algorithm attacks on $name', (hut) => {
  let t: AttackTarget;
  beforeAll(() => {
    t = attackTarget(fx, hut);
  });

  describe('RFC 8725 §2.1, §3.1; RFC 7518 §3.6; RFC 7515 §4.1.1: alg none in every casing is refused', () => {
    it.each(NONE_CASINGS)('alg %j with an empty signature', async (alg) => {
      const input = `${b64json({ alg, typ: 'JWT' })}.${b64json(goodClaims())}`;
      await t.refusedGrant(`${input}.`, INVALID_GRANT('alg_not_allowed'));
    });

    it.each(NONE_CASINGS)('alg %j carrying a genuine RS256 signature of the IdP', async (alg) => {
      // Only the alg check stands between this and a token: the signature is the IdP's own.
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg, typ: 'JWT', kid: fx.key.kid })}.${b64json(goodClaims())}`),
        INVALID_GRANT('alg_not_allowed'),
      );
    });

    it.each([
      ['"none " (trailing space)', 'none '],
      ['" none" (leading space)', ' none'],
      ['"none\\u0000RS256" (NUL)', 'none\u0000RS256'],
      ['"RS256\\u0000" (NUL after a good name)', 'RS256\u0000'],
      ['"" (empty)', ''],
      ['null', null],
      ['["none"] (array)', ['none']],
      ['["RS256"] (array of a good name)', ['RS256']],
      ['{} (object)', {}],
      ['0 (number)', 0],
      ['true', true],
    ])('alg %s', async (_name, alg) => {
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg, typ: 'JWT' })}.${b64json(goodClaims())}`),
        INVALID_GRANT('alg_not_allowed'),
      );
    });

    it('no alg at all', async () => {
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ typ: 'JWT' })}.${b64json(goodClaims())}`),
        INVALID_GRANT('alg_not_allowed'),
      );
    });
  });

  describe('RFC 8725 §2.1, §3.1; RFC 7518 §3.2: HMAC keyed with the IdP public key material is refused', () => {
    const secrets: Array<[string, (key: TestSigningKey) => Promise<Buffer | string>]> = [
      ['the certificate PEM', async (k) => k.certificatePem],
      ['the certificate PEM with CRLF line ends', async (k) => k.certificatePem.replace(/\n/g, '\r\n')],
      ['the certificate DER', async (k) => Buffer.from(k.certificatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64')],
      ['the SPKI public key PEM', async (k) => createPublicKey(k.certificatePem).export({ type: 'spki', format: 'pem' }).toString()],
      ['the SPKI public key DER', async (k) => createPublicKey(k.certificatePem).export({ type: 'spki', format: 'der' })],
      ['the PKCS#1 public key PEM', async (k) => createPublicKey(k.certificatePem).export({ type: 'pkcs1', format: 'pem' }).toString()],
      ['the public JWK (JSON text)', async (k) => JSON.stringify(await exportJWK(k.publicKey))],
      ['the JWK modulus n (bytes)', async (k) => Buffer.from((await exportJWK(k.publicKey)).n!, 'base64url')],
      ['the x5t#S256 thumbprint', async (k) => k.thumbprint],
      ['an empty key', async () => ''],
    ];
    const table = ['HS256', 'HS384', 'HS512'].flatMap((alg) => secrets.map(([name, secret]) => [alg, name, secret] as const));

    it.each(table)('%s keyed with %s', async (alg, _name, secretOf) => {
      const input = `${b64json({ alg, typ: 'JWT', kid: fx.key.kid })}.${b64json(goodClaims())}`;
      const mac = createHmac(`sha${alg.slice(2)}`, await secretOf(fx.key))
        .update(input)
        .digest('base64url');
      await t.refusedGrant(`${input}.${mac}`, INVALID_GRANT('alg_not_allowed'));
    });

    it.each(['hs256', 'Hs256', 'HS256 ', 'HS1', 'HS'])('HMAC spelled %j keyed with the certificate PEM', async (alg) => {
      const input = `${b64json({ alg, typ: 'JWT' })}.${b64json(goodClaims())}`;
      const mac = createHmac('sha256', fx.key.certificatePem).update(input).digest('base64url');
      await t.refusedGrant(`${input}.${mac}`, INVALID_GRANT('alg_not_allowed'));
    });

    it('HS256 keyed with the EC IdP certificate PEM', async () => {
      const input = `${b64json({ alg: 'HS256', kid: ecKey.kid })}.${b64json(goodClaims({ iss: 'ecIDP' }))}`;
      const mac = createHmac('sha256', ecKey.certificatePem).update(input).digest('base64url');
      await t.refusedGrant(`${input}.${mac}`, INVALID_GRANT('alg_not_allowed'));
    });
  });

  describe('RFC 8725 §3.1, §3.2: algorithms that are never for signatures, or not ours, are refused', () => {
    it.each([
      'ES256K',
      'Ed448',
      'Ed25519',
      'eddsa',
      'EDDSA',
      'rs256',
      'Rs256',
      'RSA-OAEP',
      'RSA-OAEP-256',
      'RSA1_5',
      'dir',
      'A256KW',
      'ECDH-ES',
      'PBES2-HS256+A128KW',
      'RS1',
      'RS128',
      'ES',
      'PS',
    ])('alg %j', async (alg) => {
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg, kid: fx.key.kid })}.${b64json(goodClaims())}`),
        INVALID_GRANT('alg_not_allowed'),
      );
    });
  });

  describe('RFC 8725 §3.1: a key verifies only with its own algorithm (key-type confusion)', () => {
    const rsaClaims = () => assertionClaims({ iss: dualIdp.name, aud: TOKEN_URL, sub: 'a' });

    it('control: the same RSA key signs a valid RS256 and a valid PS256 assertion', async () => {
      expect((await t.grant(rsaSigned(dualIdp.privateKey, { alg: 'RS256' }, rsaClaims(), 'pkcs1'))).status).toBe(200);
      expect((await t.grant(rsaSigned(dualIdp.privateKey, { alg: 'PS256' }, rsaClaims(), 'pss'))).status).toBe(200);
    });

    it('RS256 header over a PSS signature by the IdP key', async () => {
      await t.refusedGrant(rsaSigned(dualIdp.privateKey, { alg: 'RS256' }, rsaClaims(), 'pss'), INVALID_GRANT('signature_invalid'));
    });

    it('PS256 header over a PKCS#1 v1.5 signature by the IdP key', async () => {
      await t.refusedGrant(rsaSigned(dualIdp.privateKey, { alg: 'PS256' }, rsaClaims(), 'pkcs1'), INVALID_GRANT('signature_invalid'));
    });

    it.each(['RS384', 'RS512', 'PS384', 'PS512'])('%s header over an RS256 signature by the IdP key (hash swap)', async (alg) => {
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg, kid: fx.key.kid })}.${b64json(goodClaims())}`),
        INVALID_GRANT('signature_invalid'),
      );
    });

    it.each(['ES256', 'ES384', 'ES512', 'EdDSA'])('%s header naming the IdP RSA key by kid', async (alg) => {
      const signer = alg === 'ES256' ? attackerEc : await makeSigningKey(alg);
      await t.refusedGrant(await signAssertion(signer, goodClaims(), { kid: fx.key.kid }), INVALID_GRANT('no_usable_key'));
    });

    it.each(['RS256', 'PS256', 'ES384', 'EdDSA'])('%s header against an IdP whose only key is P-256', async (alg) => {
      const input = `${b64json({ alg, kid: ecKey.kid })}.${b64json(goodClaims({ iss: 'ecIDP' }))}`;
      await t.refusedGrant(`${input}.${randomBytes(alg.startsWith('E') ? 96 : 256).toString('base64url')}`, INVALID_GRANT('no_usable_key'));
    });

    it('an RS256 assertion correctly signed by an RSA-1024 IdP key (RFC 7518 §3.3)', async () => {
      const assertion = rsaSigned(
        weakKeyIdp.privateKey,
        { alg: 'RS256', typ: 'JWT' },
        assertionClaims({ iss: weakKeyIdp.name, aud: TOKEN_URL, sub: 'a' }),
        'pkcs1',
      );
      await t.refusedGrant(assertion, INVALID_GRANT('no_usable_key'));
    });
  });
});
