/**
 * Threat: malformed signatures. Implementations have accepted ECDSA signatures with r = s = 0
 * (CVE-2022-21449, "psychic signatures"), DER-encoded signatures where JWS wants raw r‖s, truncated or
 * padded signatures, Ed25519 signatures with a non-canonical S, and RSA signature values out of range.
 * Malleable signatures that DO verify (ECDSA (r, n − s)) must not make a used assertion new.
 *
 * RFC 8725 §3.3 (validate all cryptographic operations), §3.4 (validate cryptographic inputs);
 * RFC 7518 §3.4 (ES*: the signature is the 64/96/132-octet R‖S, not DER), §3.3 (RS*); RFC 8032 §5.1.7
 * (Ed25519: reject S ≥ L); RFC 8017 §5.2.2 (RSA: signature representative out of range);
 * RFC 7523 §3 item 9, §3 item 7 and docs/validation.md step 9 (replay: a re-encoded signature is not a new assertion).
 */
import { randomUUID } from 'node:crypto';
import {
  attackTarget,
  b64,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  rawSign,
  TOKEN_URL,
  type AttackTarget,
} from '../helpers/attack-kit';
import type { GrantFixture } from '../helpers/grant-fixture';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';

/** The order n of P-256 (FIPS 186-4 D.1.2.3). */
const P256_N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
/** The order L of the Ed25519 base point (RFC 8032 §5.1). */
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

const toBig = (bytes: Buffer) => BigInt(`0x${bytes.toString('hex') || '0'}`);
const fromBig = (value: bigint, length: number) => Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex');

/** ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`, as OpenSSL and Java produce by default. */
function derSignature(r: Buffer, s: Buffer): Buffer {
  const integer = (v: Buffer) => {
    let bytes = v;
    while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
    if (bytes[0]! >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

let fx: GrantFixture;
let ec: TestSigningKey;
let ecNoJti: TestSigningKey;
let ed: TestSigningKey;

beforeAll(async () => {
  fx = await createAttackFixture();
  ec = await makeSigningKey('ES256', { kid: 'ec-1' });
  ecNoJti = await makeSigningKey('ES256', { kid: 'ec-nojti' });
  ed = await makeSigningKey('EdDSA', { kid: 'ed-1' });
  await fx.addIdp({ name: 'ecIDP', certificates: [{ pem: ec.certificatePem, kid: ec.kid }], aliases: [TOKEN_URL] });
  await fx.addIdp({
    name: 'ecNoJtiIDP',
    certificates: [{ pem: ecNoJti.certificatePem, kid: ecNoJti.kid }],
    aliases: [TOKEN_URL],
    requireJti: false,
  });
  await fx.addIdp({ name: 'edIDP', certificates: [{ pem: ed.certificatePem, kid: ed.kid }], aliases: [TOKEN_URL] });
});
afterAll(() => fx?.close());

/** A valid assertion split into its signing input and signature bytes. */
async function parts(key: TestSigningKey, iss: string, claims: Record<string, unknown> = {}) {
  const jws = await signAssertion(key, assertionClaims({ iss, aud: TOKEN_URL, sub: 'admin', ...claims }), { kid: key.kid });
  const [h, p, s] = jws.split('.') as [string, string, string];
  return { jws, input: `${h}.${p}`, sig: Buffer.from(s, 'base64url') };
}

/** ECDSA P-256 signatures that must never verify, from the valid r‖s of the same input. */
const EC_FORGERIES: Array<[string, (sig: Buffer) => Buffer | string]> = [
  ['r = s = 0 (CVE-2022-21449)', () => Buffer.alloc(64)],
  ['r = 0, s valid', (sig) => Buffer.concat([Buffer.alloc(32), sig.subarray(32)])],
  ['r valid, s = 0', (sig) => Buffer.concat([sig.subarray(0, 32), Buffer.alloc(32)])],
  ['r = s = n (the group order)', () => Buffer.concat([fromBig(P256_N, 32), fromBig(P256_N, 32)])],
  ['r = n, s valid', (sig) => Buffer.concat([fromBig(P256_N, 32), sig.subarray(32)])],
  [
    'r + n, s (r out of range, same value mod n)',
    (sig) => Buffer.concat([fromBig(toBig(sig.subarray(0, 32)) + P256_N, 33).subarray(-32), sig.subarray(32)]),
  ],
  ['r = s = 1', () => Buffer.concat([fromBig(1n, 32), fromBig(1n, 32)])],
  ['all bits set', () => Buffer.alloc(64, 0xff)],
  ['r and s swapped', (sig) => Buffer.concat([sig.subarray(32), sig.subarray(0, 32)])],
  ['truncated to 63 bytes', (sig) => sig.subarray(0, 63)],
  ['truncated to 32 bytes (r only)', (sig) => sig.subarray(0, 32)],
  ['a single byte', (sig) => sig.subarray(0, 1)],
  ['empty', () => ''],
  ['one zero byte appended (65 bytes)', (sig) => Buffer.concat([sig, Buffer.alloc(1)])],
  ['one zero byte prepended (65 bytes)', (sig) => Buffer.concat([Buffer.alloc(1), sig])],
  ['doubled (128 bytes)', (sig) => Buffer.concat([sig, sig])],
  [
    'left-padded to the P-384 size (96 bytes)',
    (sig) => Buffer.concat([Buffer.alloc(16), sig.subarray(0, 32), Buffer.alloc(16), sig.subarray(32)]),
  ],
  ['DER-encoded (RFC 7518 §3.4 wants raw r‖s)', (sig) => derSignature(sig.subarray(0, 32), sig.subarray(32))],
  ['one bit flipped in r', (sig) => Buffer.from(sig.map((b, i) => (i === 5 ? b ^ 1 : b)))],
  ['one bit flipped in s', (sig) => Buffer.from(sig.map((b, i) => (i === 60 ? b ^ 0x80 : b)))],
];

describe.each(HOSTS)('malformed signatures on $name', (hut) => {
  let t: AttackTarget;
  beforeAll(() => {
    t = attackTarget(fx, hut);
  });

  describe('RFC 8725 §3.3, §3.4; RFC 7518 §3.4: forged or malformed ECDSA (ES256) signatures', () => {
    it.each(EC_FORGERIES)('%s', async (_name, forge) => {
      const { input, sig } = await parts(ec, 'ecIDP');
      const forged = forge(sig);
      await t.refusedGrant(`${input}.${typeof forged === 'string' ? forged : b64(forged)}`, INVALID_GRANT('signature_invalid'));
    });

    it('a valid signature of another assertion (signature transplant)', async () => {
      const a = await parts(ec, 'ecIDP');
      const b = await parts(ec, 'ecIDP');
      await t.refusedGrant(`${a.input}.${b64(b.sig)}`, INVALID_GRANT('signature_invalid'));
    });
  });

  describe('RFC 7523 §3 item 7, docs/validation.md step 9: a malleated ECDSA signature (r, n − s) does not make a used assertion new', () => {
    const highS = (sig: Buffer) => Buffer.concat([sig.subarray(0, 32), fromBig(P256_N - toBig(sig.subarray(32)), 32)]);

    it('with a jti: the original, then its (r, n − s) twin', async () => {
      const { jws, input, sig } = await parts(ec, 'ecIDP');
      expect((await t.grant(jws)).status).toBe(200);
      await t.refusedGrant(`${input}.${b64(highS(sig))}`, INVALID_GRANT('jti_replayed'));
    });

    it('with a jti: the (r, n − s) twin first (it verifies), then the original', async () => {
      const { jws, input, sig } = await parts(ec, 'ecIDP');
      expect((await t.grant(`${input}.${b64(highS(sig))}`)).status).toBe(200);
      await t.refusedGrant(jws, INVALID_GRANT('jti_replayed'));
    });

    it('without a jti (replay key = hash of the signing input): the original, then its twin', async () => {
      const { jws, input, sig } = await parts(ecNoJti, 'ecNoJtiIDP', { jti: undefined, nonce: randomUUID() });
      expect((await t.grant(jws)).status).toBe(200);
      await t.refusedGrant(`${input}.${b64(highS(sig))}`, INVALID_GRANT('jti_replayed'));
    });

    it('without a jti: a second, freshly randomised ECDSA signature over the same bytes', async () => {
      const first = await parts(ecNoJti, 'ecNoJtiIDP', { jti: undefined, nonce: randomUUID() });
      expect((await t.grant(first.jws)).status).toBe(200);
      const again = await rawSign(ecNoJti, Buffer.from(first.input));
      expect(again.equals(first.sig)).toBe(false);
      await t.refusedGrant(`${first.input}.${b64(again)}`, INVALID_GRANT('jti_replayed'));
    });
  });

  describe('RFC 8032 §5.1.7, RFC 8725 §3.4: malformed Ed25519 signatures', () => {
    it.each([
      ['all zero', () => Buffer.alloc(64)],
      [
        'S + L (non-canonical S, same value mod L)',
        (sig: Buffer) => {
          const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`) + ED25519_L;
          return Buffer.concat([sig.subarray(0, 32), fromBig(s, 32).reverse()]);
        },
      ],
      ['S = L', (sig: Buffer) => Buffer.concat([sig.subarray(0, 32), fromBig(ED25519_L, 32).reverse()])],
      ['truncated to 63 bytes', (sig: Buffer) => sig.subarray(0, 63)],
      ['65 bytes', (sig: Buffer) => Buffer.concat([sig, Buffer.alloc(1)])],
      ['R and S swapped', (sig: Buffer) => Buffer.concat([sig.subarray(32), sig.subarray(0, 32)])],
    ] as Array<[string, (sig: Buffer) => Buffer]>)('%s', async (_name, forge) => {
      const { input, sig } = await parts(ed, 'edIDP');
      await t.refusedGrant(`${input}.${b64(forge(sig))}`, INVALID_GRANT('signature_invalid'));
    });
  });

  describe('RFC 8017 §5.2.2, RFC 7518 §3.3: malformed RSA (RS256) signatures', () => {
    it.each([
      ['all zero (256 bytes)', () => Buffer.alloc(256)],
      ['the value 1', () => fromBig(1n, 256)],
      ['all bits set (greater than the modulus)', () => Buffer.alloc(256, 0xff)],
      ['truncated to 255 bytes', (sig: Buffer) => sig.subarray(1)],
      ['257 bytes (a zero prepended)', (sig: Buffer) => Buffer.concat([Buffer.alloc(1), sig])],
      ['empty', () => Buffer.alloc(0)],
      ['one bit flipped', (sig: Buffer) => Buffer.from(sig.map((b, i) => (i === 100 ? b ^ 4 : b)))],
      ['the signature of another assertion', (_sig: Buffer, other: Buffer) => other],
    ] as Array<[string, (sig: Buffer, other: Buffer) => Buffer]>)('%s', async (_name, forge) => {
      const { input, sig } = await parts(fx.key, 'jwtIDP');
      const other = (await parts(fx.key, 'jwtIDP')).sig;
      await t.refusedGrant(`${input}.${b64(forge(sig, other))}`, INVALID_GRANT('signature_invalid'));
    });

    it('the right signature under a payload with one claim changed', async () => {
      const { sig } = await parts(fx.key, 'jwtIDP');
      const header = b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: fx.key.kid }));
      await t.refusedGrant(`${header}.${b64(JSON.stringify(goodClaims({ sub: 'root' })))}.${b64(sig)}`, INVALID_GRANT('signature_invalid'));
    });
  });
});
