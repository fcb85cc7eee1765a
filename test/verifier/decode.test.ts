/** docs/validation.md step 1, format and size: decodeAssertion, and the same refusals through verify(). */
import { createAssertionVerifier, decodeAssertion, VERIFIER_DEFAULTS } from '../../lib/verifier';
import { rawJws, sharedSigningKey, signAssertion } from '../helpers/keys';
import { claims, directory, idpRecord, reasonOf, refusal, verify } from './support';

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');
const HEADER = b64('{"alg":"ES256"}');
const PAYLOAD = b64('{"iss":"x"}');
const SIG = b64('sig');

const decodeReason = (assertion: unknown, maxAssertionBytes?: number) =>
  reasonOf(Promise.resolve().then(() => decodeAssertion(assertion as string, { maxAssertionBytes })));

describe('decodeAssertion', () => {
  it('takes a compact JWS apart', () => {
    const decoded = decodeAssertion(`${HEADER}.${PAYLOAD}.${SIG}`);
    expect(decoded).toEqual({
      header: { alg: 'ES256' },
      payload: { iss: 'x' },
      segments: { header: HEADER, payload: PAYLOAD, signature: SIG },
      signingInput: `${HEADER}.${PAYLOAD}`,
      signature: Buffer.from(SIG, 'base64url'),
    });
  });

  it('accepts JSON whitespace and Unicode (UTF-8) values', () => {
    expect(decodeAssertion(`${b64(' { "alg" : "ES256" }\n')}.${b64('{"sub":"Zoë ✓ 😀"}')}.`).payload).toEqual({ sub: 'Zoë ✓ 😀' });
  });

  describe('size', () => {
    it(`defaults to ${VERIFIER_DEFAULTS.maxAssertionBytes} bytes, inclusive`, async () => {
      /** A well-formed assertion of exactly `length` bytes (the signature segment fills the rest). */
      const ofLength = (length: number) => {
        for (let pad = 0; ; pad++) {
          const payload = b64(`{"iss":"x"${' '.repeat(pad)}}`);
          const k = length - HEADER.length - payload.length - 2;
          if (k % 4 !== 1) return `${HEADER}.${payload}.${'A'.repeat(k)}`; // 'A's are canonical unless k ≡ 1 (mod 4)
        }
      };
      expect(ofLength(VERIFIER_DEFAULTS.maxAssertionBytes)).toHaveLength(VERIFIER_DEFAULTS.maxAssertionBytes);
      expect(decodeAssertion(ofLength(VERIFIER_DEFAULTS.maxAssertionBytes)).payload).toEqual({ iss: 'x' });
      expect(await decodeReason(ofLength(VERIFIER_DEFAULTS.maxAssertionBytes + 1))).toBe('assertion_too_large');
    });
    it('counts bytes, not characters', async () => {
      expect(await decodeReason('é'.repeat(600), 1000)).toBe('assertion_too_large');
      expect(await decodeReason('é'.repeat(400), 1000)).toBe('assertion_malformed');
    });
    it('is configurable, and too large wins over malformed', async () => {
      expect(await decodeReason('x'.repeat(101), 100)).toBe('assertion_too_large');
      expect(await decodeReason('x'.repeat(100), 100)).toBe('assertion_malformed');
    });
  });

  describe('refuses as assertion_malformed', () => {
    it.each([
      ['a non-string', 42],
      ['an empty string', ''],
      ['two segments', `${HEADER}.${PAYLOAD}`],
      ['four segments', `${HEADER}.${PAYLOAD}.${SIG}.${SIG}`],
      ['five segments (a JWE)', `${HEADER}.${PAYLOAD}.${SIG}.${SIG}.${SIG}`],
      ['an empty header', `.${PAYLOAD}.${SIG}`],
      ['an empty payload', `${HEADER}..${SIG}`],
      ['standard base64 characters', `${HEADER}.${Buffer.from('{"iss":"x>>?"}').toString('base64')}.${SIG}`],
      ['padding', `${Buffer.from('{"alg":"ES256" }').toString('base64')}.${PAYLOAD}.${SIG}`],
      ['padding on the signature', `${HEADER}.${PAYLOAD}.c2lnbg==`],
      ['whitespace inside a segment', `${HEADER}.${PAYLOAD.slice(0, 4)} ${PAYLOAD.slice(4)}.${SIG}`],
      ['a length that is 1 mod 4', `${HEADER}.${PAYLOAD}.${SIG}A`.replace(SIG + 'A', 'AAAAA')],
      ['non-canonical trailing bits in the signature', `${HEADER}.${PAYLOAD}.AB`],
      ['a header that is not JSON', rawJws('{not json', { iss: 'x' })],
      ['a header that is a JSON array', rawJws(['alg', 'ES256'], { iss: 'x' })],
      ['a header that is a JSON string', rawJws(JSON.stringify('ES256'), { iss: 'x' })],
      ['a payload that is null', rawJws({ alg: 'ES256' }, 'null')],
      ['a payload that is a number', rawJws({ alg: 'ES256' }, '1700000000')],
      ['a payload that is not JSON (a nested JWT)', rawJws({ alg: 'ES256', cty: 'JWT' }, `${HEADER}.${PAYLOAD}.${SIG}`)],
      [
        'a header with a byte-order mark',
        rawJws(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"alg":"ES256"}')]), { iss: 'x' }),
      ],
      ['a payload that is not UTF-8 (Latin-1)', rawJws({ alg: 'ES256' }, Buffer.from('{"sub":"Zo\xeb"}', 'latin1'))],
      ['a payload with an overlong UTF-8 form', rawJws({ alg: 'ES256' }, Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]))],
      [
        'a payload with a UTF-8-encoded surrogate',
        rawJws({ alg: 'ES256' }, Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])),
      ],
      ['a duplicate header member', rawJws('{"alg":"ES256","alg":"none"}', { iss: 'x' })],
      ['a duplicate claim', rawJws({ alg: 'ES256' }, '{"sub":"alice","iss":"x","sub":"admin"}')],
      ['a duplicate claim spelled with an escape', rawJws({ alg: 'ES256' }, '{"sub":"alice","\\u0073ub":"admin"}')],
      ['a duplicate member in a nested object', rawJws({ alg: 'ES256' }, '{"iss":"x","cnf":{"jkt":"a","jkt":"b"}}')],
      ['a __proto__ member', rawJws({ alg: 'ES256' }, '{"iss":"x","__proto__":{"admin":true}}')],
    ])('%s', async (_name, assertion) => {
      expect(await decodeReason(assertion)).toBe('assertion_malformed');
    });
  });

  it('refuses non-canonical base64url: the same bytes spelled another way', () => {
    // PAYLOAD has 15 characters: its last one carries 2 unused bits, which must be zero.
    expect(PAYLOAD.endsWith('0')).toBe(true);
    const respelled = `${PAYLOAD.slice(0, -1)}1`;
    expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(PAYLOAD, 'base64url'));
    expect(() => decodeAssertion(`${HEADER}.${respelled}.${SIG}`)).toThrow(
      expect.objectContaining({ reason: 'assertion_malformed', detail: 'payload: not canonical base64url' }),
    );
    expect(() => decodeAssertion(`${HEADER}.${PAYLOAD}.AB`)).toThrow(
      expect.objectContaining({ detail: 'signature: not canonical base64url' }),
    );
  });

  it('tells member names from string values, escapes and nesting apart', () => {
    const tricky = '{"a":"b","b":"a","c":{"a":1,"d":[{"a":2},{"a":3}]},"e":"\\"a\\":1,","f":["a","a"],"g\\"":1,"g":{}}';
    expect(decodeAssertion(rawJws({ alg: 'ES256' }, tricky)).payload).toEqual(JSON.parse(tricky));
  });

  it('allows an empty signature segment (step 2 then refuses alg none with its own reason)', () => {
    expect(decodeAssertion(rawJws({ alg: 'none' }, { iss: 'x' }, '')).segments.signature).toBe('');
  });
});

describe('step 1 through verify()', () => {
  it('refuses before any IdP lookup', async () => {
    const key = await sharedSigningKey('ES256');
    const find = directory(idpRecord([key]));
    const good = await signAssertion(key, claims());
    const [h, p, s] = good.split('.');
    const refusalOf = (assertion: string) => verify(assertion, [], { findIdentityProvider: find });
    expect(await reasonOf(refusalOf(`${h}.${p}`))).toBe('assertion_malformed');
    expect(await reasonOf(refusalOf(`${h}.${p}.${s}=`))).toBe('assertion_malformed');
    expect(await reasonOf(refusalOf(`${h}.${p}x.${s}`))).toBe('assertion_malformed');
    const small = createAssertionVerifier({ maxAssertionBytes: good.length - 1 });
    expect(await reasonOf(small.verify(good, { tenantId: 't', clientId: 'c', findIdentityProvider: find }))).toBe('assertion_too_large');
    expect(find.calls).toEqual([]);
  });

  it('gives a fixed description that does not echo the assertion', async () => {
    const error = await refusal(verify(rawJws('{"alg":"ES256","alg":"none"}', { iss: 'secret-looking' }), []));
    expect(error.error).toBe('invalid_grant');
    expect(error.description).toBe('The assertion is not a well-formed signed JWT.');
    expect(`${error.description} ${error.detail}`).not.toMatch(/secret-looking|alg/);
  });
});
