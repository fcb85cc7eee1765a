/**
 * Threat: one token, several readings. Duplicate JSON members (first-wins in one parser, last-wins in
 * another), bytes that are not UTF-8 (replaced silently by a lenient decoder), and non-canonical
 * base64url (padding, the standard alphabet, whitespace, non-zero trailing bits) that decode to the same
 * bytes under a lenient decoder — each lets one signed token look like another, or a used one look new.
 *
 * RFC 8725 §2.6 (multiplicity of JSON encodings), §3.7 (use UTF-8); RFC 7515 §2 (base64url without
 * padding, no line breaks or whitespace), §5.2 steps 2–4 and 8 (decoding and parsing), Appendix C; RFC
 * 4648 §3.5 (canonical encoding: pad bits zero); RFC 7519 §4 ("The Claim Names within a JWT Claims Set
 * MUST be unique; JWT parsers MUST either reject JWTs with duplicate Claim Names or …"); RFC 3629 §3, §10
 * (overlong forms and surrogates are not UTF-8); docs/validation.md step 1.
 *
 * Every case is signed by the IdP over exactly the bytes sent (for the base64url cases, over the
 * altered segment text): a lenient decoder would have accepted it.
 */
import {
  attackTarget,
  b64,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  ISSUER,
  signInput,
  type AttackTarget,
} from '../helpers/attack-kit';
import type { GrantFixture } from '../helpers/grant-fixture';
import { signRawJws } from '../helpers/keys';

let fx: GrantFixture;
beforeAll(async () => {
  fx = await createAttackFixture();
});
afterAll(() => fx?.close());

const MALFORMED = INVALID_GRANT('assertion_malformed');
const headerText = () => JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: fx.key.kid });
/** Claims JSON text with `extra` raw members inserted before the last brace. */
const claimsWith = (extra: string, claims = goodClaims()) => `${JSON.stringify(claims).slice(0, -1)},${extra}}`;

/** Segment text that decodes to the same bytes under a lenient base64 decoder (Node's own, for one). */
const RE_ENCODINGS: Array<[string, (segment: string, bytes: Buffer) => string]> = [
  ['with = padding', (_s, bytes) => bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_')],
  ['in the standard alphabet (+ and /)', (_s, bytes) => bytes.toString('base64').replace(/=+$/, '')],
  ['with a space inside', (s) => `${s.slice(0, 10)} ${s.slice(10)}`],
  ['with a line break inside (MIME style)', (s) => `${s.slice(0, 16)}\r\n${s.slice(16)}`],
  ['with a tab at the end', (s) => `${s}\t`],
  ['with a non-alphabet character skipped by lenient decoders (!)', (s) => `${s.slice(0, 4)}!${s.slice(4)}`],
  ['with a percent-encoded character left in', (s) => `${s.slice(0, 4)}%2D${s.slice(4)}`],
  ['with non-zero unused trailing bits', (s) => nonCanonical(s)],
];

/** The same bytes with the last character's unused low bits set (RFC 4648 §3.5: must be zero). */
function nonCanonical(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const unused = ({ 2: 4, 3: 2 } as Record<number, number>)[segment.length % 4];
  if (!unused) throw new Error('segment has no unused bits; pick another');
  const last = alphabet.indexOf(segment.at(-1)!);
  return segment.slice(0, -1) + alphabet[last | ((1 << unused) - 1)];
}

/**
 * JSON text from `make(pad)` whose base64url both leaves unused bits (its byte length is not a multiple
 * of 3) and holds a `-` or `_` (so that the standard alphabet spells it differently): `?` and `>` bytes
 * encode to `/` and `+`.
 */
function withSpareBits(make: (pad: string) => string): string {
  for (let n = 0; ; n++) {
    const text = make(`???>>>${'x'.repeat(n)}`);
    if (Buffer.byteLength(text) % 3 !== 0 && /[-_]/.test(b64(text))) return text;
  }
}
const claimsWithSpareBits = () => withSpareBits((pad) => JSON.stringify(goodClaims({ pad })));

describe.each(HOSTS)('encoding attacks on $name', (hut) => {
  let t: AttackTarget;
  beforeAll(() => {
    t = attackTarget(fx, hut);
  });

  describe('RFC 7519 §4, RFC 8725 §2.6: duplicate JSON member names are refused (signed by the IdP)', () => {
    it.each([
      [
        'iss twice (evil first)',
        () => `{"iss":"evil","iss":${JSON.stringify(ISSUER)},${JSON.stringify(goodClaims({ iss: undefined })).slice(1)}`,
      ],
      ['iss twice (evil last)', () => claimsWith('"iss":"evil"')],
      ['sub twice', () => claimsWith('"sub":"root"')],
      ['aud twice', () => claimsWith('"aud":"https://other.example"')],
      ['exp twice (second one far)', () => claimsWith('"exp":99999999999')],
      ['jti twice', () => claimsWith('"jti":"other"')],
      ['a name spelt with a \\u escape (\\u0073ub)', () => claimsWith('"\\u0073ub":"root"')],
      ['a name spelt with a \\/ escape', () => claimsWith('"a/b":1,"a\\/b":2')],
      ['a duplicate inside a nested object', () => claimsWith('"ext":{"role":"user","role":"admin"}')],
      ['a duplicate inside an object inside an array', () => claimsWith('"ext":[{"a":1,"a":2}]')],
      ['a __proto__ member', () => claimsWith('"__proto__":{"admin":true}')],
      ['a nested __proto__ member', () => claimsWith('"ext":{"__proto__":{"sub":"root"}}')],
    ] as Array<[string, () => string]>)('payload: %s', async (_name, payload) => {
      await t.refusedGrant(await signRawJws(fx.key, headerText(), payload()), MALFORMED);
    });

    it.each([
      ['alg twice (none, then RS256)', () => `{"alg":"none","alg":"RS256","kid":${JSON.stringify(fx.key.kid)}}`],
      ['alg twice (RS256, then none)', () => `{"alg":"RS256","alg":"none","kid":${JSON.stringify(fx.key.kid)}}`],
      ['kid twice', () => `{"alg":"RS256","kid":"attacker","kid":${JSON.stringify(fx.key.kid)}}`],
      ['crit hidden by a duplicate', () => `{"alg":"RS256","crit":["x"],"x":1,"crit":null}`],
      ['a __proto__ member', () => `{"alg":"RS256","__proto__":{"crit":["x"]}}`],
    ] as Array<[string, () => string]>)('header: %s', async (_name, header) => {
      await t.refusedGrant(await signRawJws(fx.key, header(), JSON.stringify(goodClaims())), MALFORMED);
    });
  });

  describe('RFC 8725 §3.7, RFC 7515 §5.2, RFC 3629 §3, §10: header and payload bytes that are not UTF-8 are refused', () => {
    const claimsBytes = (middle: Buffer) => {
      const [head, tail] = JSON.stringify(goodClaims({ sub: 'SPLIT' })).split('SPLIT') as [string, string];
      return Buffer.concat([Buffer.from(head), middle, Buffer.from(tail)]);
    };
    it.each([
      ['a Latin-1 é (0xE9)', Buffer.from([0xe9])],
      ['a lone continuation byte (0x80)', Buffer.from([0x80])],
      ['0xFF', Buffer.from([0xff])],
      ["an overlong '/' (C0 AF)", Buffer.from([0xc0, 0xaf])],
      ["an overlong 'a' in three bytes (E0 81 A1)", Buffer.from([0xe0, 0x81, 0xa1])],
      ['an encoded surrogate, CESU-8 (ED A0 80)', Buffer.from([0xed, 0xa0, 0x80])],
      ['a truncated sequence (E2 82)', Buffer.from([0xe2, 0x82])],
      ['a code point above U+10FFFF (F4 90 80 80)', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
    ])('in sub: %s', async (_name, bytes) => {
      await t.refusedGrant(await signRawJws(fx.key, headerText(), claimsBytes(bytes)), MALFORMED);
    });

    it('a header in UTF-16LE', async () => {
      await t.refusedGrant(await signRawJws(fx.key, Buffer.from(headerText(), 'utf16le'), JSON.stringify(goodClaims())), MALFORMED);
    });
    it('a payload in UTF-16BE with a BOM', async () => {
      const le = Buffer.from(`\ufeff${JSON.stringify(goodClaims())}`, 'utf16le');
      await t.refusedGrant(await signRawJws(fx.key, headerText(), Buffer.from(le.swap16())), MALFORMED);
    });
    it('a payload with a UTF-8 BOM', async () => {
      await t.refusedGrant(
        await signRawJws(fx.key, headerText(), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(goodClaims()))])),
        MALFORMED,
      );
    });
    it('an overlong encoding of a quote that would end a string early (C0 A2)', async () => {
      await t.refusedGrant(await signRawJws(fx.key, headerText(), claimsBytes(Buffer.from([0xc0, 0xa2]))), MALFORMED);
    });
  });

  describe('RFC 7515 §2, Appendix C; RFC 4648 §3.5: non-canonical base64url is refused', () => {
    it.each(RE_ENCODINGS)('the payload segment %s', async (_name, reencode) => {
      const payload = claimsWithSpareBits();
      const segment = b64(payload);
      const altered = reencode(segment, Buffer.from(payload));
      expect(altered).not.toBe(segment);
      expect(Buffer.from(altered.replace(/%2D/g, ''), 'base64')).toEqual(Buffer.from(payload)); // a lenient decoder reads the same bytes
      const input = `${b64(headerText())}.${altered}`;
      await t.refusedGrant(await signInput(fx.key, input), MALFORMED);
    });

    it.each(RE_ENCODINGS)('the header segment %s', async (_name, reencode) => {
      const header = withSpareBits((pad) => JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: fx.key.kid, pad }));
      const input = `${reencode(b64(header), Buffer.from(header))}.${b64(JSON.stringify(goodClaims()))}`;
      await t.refusedGrant(await signInput(fx.key, input), MALFORMED);
    });

    it.each(RE_ENCODINGS.filter(([name]) => !/unused/.test(name)))(
      'the signature segment %s (RSA-2048 signatures leave unused bits too)',
      async (_name, reencode) => {
        const [h, p, s] = (await fx.assertion()).split('.') as [string, string, string];
        await t.refusedGrant(`${h}.${p}.${reencode(s, Buffer.from(s, 'base64url'))}`, MALFORMED);
      },
    );

    it('the signature segment with non-zero unused trailing bits', async () => {
      const [h, p, s] = (await fx.assertion()).split('.') as [string, string, string];
      await t.refusedGrant(`${h}.${p}.${nonCanonical(s)}`, MALFORMED);
    });

    it('a segment of one character (not a whole byte)', async () => {
      await t.refusedGrant(await signInput(fx.key, `${b64(headerText())}.${b64(JSON.stringify(goodClaims()))}A`), MALFORMED);
    });
  });

  describe('RFC 7515 §7.1: whitespace around the assertion is not trimmed', () => {
    it.each([
      ['a leading space', (a: string) => ` ${a}`],
      ['a trailing newline', (a: string) => `${a}\n`],
      ['a trailing CRLF', (a: string) => `${a}\r\n`],
      ['"Bearer " in front', (a: string) => `Bearer ${a}`],
      ['wrapped in quotes', (a: string) => `"${a}"`],
    ])('%s', async (_name, wrap) => {
      await t.refusedGrant(wrap(await fx.assertion()), MALFORMED);
    });
  });

  it('control: the canonical encoding of the same claims gets a token', async () => {
    expect((await t.grant(await signRawJws(fx.key, headerText(), claimsWithSpareBits()))).status).toBe(200);
  });
});
