/**
 * Threat: claims of the wrong JSON type or out-of-range values that slip past loose comparisons: an `exp`
 * string compared as text, `1e400` turning into Infinity (never expires), a negative or fractional time,
 * an `aud` object whose keys look like an array, an `iss` array that stringifies to the IdP name.
 *
 * RFC 7519 §2 (NumericDate: a JSON number, fractions allowed), §4.1.1–§4.1.7 (iss, sub, aud: a string or
 * an array of strings, exp, nbf, iat, jti); RFC 7523 §3 items 1–7; RFC 8725 §3.8 (validate issuer and
 * subject), §3.9 (use and validate audience); RFC 8259 §6 (numbers beyond the implementation's range);
 * docs/validation.md steps 3 and 5.
 *
 * Every assertion is signed by the IdP over exactly the bytes shown (raw JSON where JSON.stringify could
 * not write it, e.g. `1e400`): only the claim checks stand between it and a token.
 */
import {
  attackTarget,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  ISSUER,
  TOKEN_URL,
  type AttackTarget,
} from '../helpers/attack-kit';
import type { GrantFixture } from '../helpers/grant-fixture';
import { signRawJws } from '../helpers/keys';

const now = () => Math.floor(Date.now() / 1000);

let fx: GrantFixture;
beforeAll(async () => {
  fx = await createAttackFixture();
  await fx.addIdp({
    name: 'freshIDP',
    certificates: [{ pem: fx.key.certificatePem, kid: 'fresh' }],
    aliases: [TOKEN_URL],
    iatMaxAgeSeconds: 300,
  });
});
afterAll(() => fx?.close());

/**
 * The JSON text of valid claims for `iss` with some members replaced by raw JSON text (`undefined`
 * deletes one). Member order: the valid ones first, so a replaced member keeps its place.
 */
function rawClaims(raw: Record<string, string | undefined>, iss = ISSUER): string {
  const claims = goodClaims({ iss });
  const members = Object.entries(claims).map(([name, value]) => (name in raw ? [name, raw[name]] : [name, JSON.stringify(value)]));
  for (const [name, text] of Object.entries(raw)) if (!(name in claims)) members.push([name, text]);
  return `{${members
    .filter(([, text]) => text !== undefined)
    .map(([name, text]) => `${JSON.stringify(name)}:${text}`)
    .join(',')}}`;
}

/** [case name, raw claim text (made at run time, so times are current), expected reason]. */
type Case = [string, Record<string, () => string | undefined>, string];

const EXP: Case[] = [
  ['exp as a numeric string', { exp: () => JSON.stringify(String(now() + 300)) }, 'exp_missing'],
  ['exp as "NaN"', { exp: () => '"NaN"' }, 'exp_missing'],
  ['exp as "Infinity"', { exp: () => '"Infinity"' }, 'exp_missing'],
  ['exp as "1e400"', { exp: () => '"1e400"' }, 'exp_missing'],
  ['exp 1e400 (a JSON number that is Infinity in JavaScript)', { exp: () => '1e400' }, 'exp_missing'],
  ['exp -1e400', { exp: () => '-1e400' }, 'exp_missing'],
  ['exp 1e-400 (underflows to 0)', { exp: () => '1e-400' }, 'assertion_expired'],
  ['exp 1e20', { exp: () => '1e20' }, 'exp_too_far'],
  ['exp 2^53 + 1', { exp: () => '9007199254740993' }, 'exp_too_far'],
  ['exp 0', { exp: () => '0' }, 'assertion_expired'],
  ['exp -0', { exp: () => '-0' }, 'assertion_expired'],
  ['exp negative', { exp: () => '-1' }, 'assertion_expired'],
  ['exp a fraction past the skew', { exp: () => String(now() - 61.5) }, 'assertion_expired'],
  ['exp null', { exp: () => 'null' }, 'exp_missing'],
  ['exp true', { exp: () => 'true' }, 'exp_missing'],
  ['exp an array', { exp: () => `[${now() + 300}]` }, 'exp_missing'],
  ['exp an object', { exp: () => `{"value":${now() + 300}}` }, 'exp_missing'],
  ['exp missing', { exp: () => undefined }, 'exp_missing'],
];

const NBF_IAT: Case[] = [
  ['nbf as a string', { nbf: () => JSON.stringify(String(now() - 10)) }, 'assertion_not_yet_valid'],
  ['nbf 1e400', { nbf: () => '1e400' }, 'assertion_not_yet_valid'],
  ['nbf -1e400', { nbf: () => '-1e400' }, 'assertion_not_yet_valid'],
  ['nbf null', { nbf: () => 'null' }, 'assertion_not_yet_valid'],
  ['nbf a fraction in the future past the skew', { nbf: () => String(now() + 61.5) }, 'assertion_not_yet_valid'],
  ['iat as a string', { iat: () => JSON.stringify(String(now())) }, 'iat_in_future'],
  ['iat 1e400', { iat: () => '1e400' }, 'iat_in_future'],
  ['iat -1e400', { iat: () => '-1e400' }, 'iat_in_future'],
  ['iat "NaN"', { iat: () => '"NaN"' }, 'iat_in_future'],
  ['iat null', { iat: () => 'null' }, 'iat_in_future'],
  ['iat a fraction in the future past the skew', { iat: () => String(now() + 61.5) }, 'iat_in_future'],
];

const IAT_AGE: Case[] = [
  ['iat negative, where the IdP bounds its age', { iat: () => '-1' }, 'iat_too_old'],
  ['iat 0, where the IdP bounds its age', { iat: () => '0' }, 'iat_too_old'],
  ['iat -0.5, where the IdP bounds its age', { iat: () => '-0.5' }, 'iat_too_old'],
];

const AUD: Case[] = [
  ['aud a number', { aud: () => '1' }, 'audience_mismatch'],
  ['aud null', { aud: () => 'null' }, 'audience_mismatch'],
  ['aud true', { aud: () => 'true' }, 'audience_mismatch'],
  ['aud an empty string', { aud: () => '""' }, 'audience_mismatch'],
  ['aud an empty array', { aud: () => '[]' }, 'audience_mismatch'],
  ['aud an object with the alias as key', { aud: () => `{${JSON.stringify(TOKEN_URL)}:true}` }, 'audience_mismatch'],
  ['aud an array-like object', { aud: () => `{"0":${JSON.stringify(TOKEN_URL)},"length":1}` }, 'audience_mismatch'],
  ['aud a nested array', { aud: () => `[[${JSON.stringify(TOKEN_URL)}]]` }, 'audience_mismatch'],
  ['aud the alias beside a number', { aud: () => `[${JSON.stringify(TOKEN_URL)},1]` }, 'audience_mismatch'],
  ['aud the alias beside null', { aud: () => `[${JSON.stringify(TOKEN_URL)},null]` }, 'audience_mismatch'],
  ['aud the alias in upper case', { aud: () => JSON.stringify(TOKEN_URL.toUpperCase()) }, 'audience_mismatch'],
  ['aud the alias with a NUL', { aud: () => JSON.stringify(`${TOKEN_URL}\u0000`) }, 'audience_mismatch'],
  ['aud the alias with a leading space', { aud: () => JSON.stringify(` ${TOKEN_URL}`) }, 'audience_mismatch'],
  ['aud the alias percent-encoded', { aud: () => JSON.stringify(TOKEN_URL.replace('/oauth2', '/%6Fauth2')) }, 'audience_mismatch'],
  ['aud the alias with a default port', { aud: () => JSON.stringify(TOKEN_URL.replace('.test/', '.test:443/')) }, 'audience_mismatch'],
  ['aud the alias with a query', { aud: () => JSON.stringify(`${TOKEN_URL}?x=1`) }, 'audience_mismatch'],
  ['aud a comma-joined list holding the alias', { aud: () => JSON.stringify(`${TOKEN_URL},other`) }, 'audience_mismatch'],
  ['aud a space-joined list holding the alias', { aud: () => JSON.stringify(`${TOKEN_URL} other`) }, 'audience_mismatch'],
  ['aud missing', { aud: () => undefined }, 'audience_mismatch'],
];

const ISS_SUB_JTI: Case[] = [
  ['iss a number', { iss: () => '1' }, 'issuer_unknown'],
  ['iss an array holding the IdP name', { iss: () => `[${JSON.stringify(ISSUER)}]` }, 'issuer_unknown'],
  ['iss an object', { iss: () => `{"name":${JSON.stringify(ISSUER)}}` }, 'issuer_unknown'],
  ['iss null', { iss: () => 'null' }, 'issuer_unknown'],
  ['iss true', { iss: () => 'true' }, 'issuer_unknown'],
  ['iss empty', { iss: () => '""' }, 'issuer_unknown'],
  ['iss with a trailing NUL', { iss: () => JSON.stringify(`${ISSUER}\u0000`) }, 'issuer_unknown'],
  ['iss with a lone surrogate', { iss: () => `"${ISSUER}\\ud800"` }, 'issuer_unknown'],
  ['iss with a trailing space', { iss: () => JSON.stringify(`${ISSUER} `) }, 'issuer_unknown'],
  ['iss in another Unicode form (full-width letters)', { iss: () => JSON.stringify('ｊｗｔＩＤＰ') }, 'issuer_unknown'],
  ['iss a SQL fragment', { iss: () => JSON.stringify("jwtIDP' OR '1'='1") }, 'issuer_unknown'],
  ['iss a LIKE pattern', { iss: () => JSON.stringify('jwt%') }, 'issuer_unknown'],
  ['iss missing', { iss: () => undefined }, 'issuer_unknown'],
  ['sub an array', { sub: () => '["admin"]' }, 'subject_invalid'],
  ['sub an object', { sub: () => '{"id":"admin"}' }, 'subject_invalid'],
  ['sub null', { sub: () => 'null' }, 'subject_invalid'],
  ['sub true', { sub: () => 'true' }, 'subject_invalid'],
  ['sub with a NUL', { sub: () => JSON.stringify('admin\u0000') }, 'subject_invalid'],
  ['sub with a lone surrogate', { sub: () => '"admin\\udfff"' }, 'subject_invalid'],
  ['jti a number', { jti: () => '1' }, 'jti_invalid'],
  ['jti null', { jti: () => 'null' }, 'jti_invalid'],
  ['jti an object', { jti: () => '{}' }, 'jti_invalid'],
  ['jti an array', { jti: () => '["a"]' }, 'jti_invalid'],
  ['jti empty', { jti: () => '""' }, 'jti_invalid'],
  ['jti with a NUL', { jti: () => JSON.stringify('j\u0000') }, 'jti_invalid'],
  ['jti with a lone surrogate', { jti: () => '"j\\ud83d"' }, 'jti_invalid'],
  ['jti 257 astral characters', { jti: () => JSON.stringify('😀'.repeat(257)) }, 'jti_invalid'],
];

/** Turns the case's thunks (evaluated at run time, so times are current) into raw text. */
const textOf = (raw: Record<string, () => string | undefined>) => Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v()]));

describe.each(HOSTS)('claims of the wrong type or range on $name', (hut) => {
  let t: AttackTarget;
  beforeAll(() => {
    t = attackTarget(fx, hut);
  });

  const header = () => ({ alg: 'RS256', typ: 'JWT', kid: fx.key.kid });

  describe('RFC 7519 §2, §4.1.4; RFC 7523 §3 item 4; RFC 8259 §6: exp', () => {
    it.each(EXP)('%s', async (_name, raw, reason) => {
      await t.refusedGrant(await signRawJws(fx.key, header(), rawClaims(textOf(raw))), INVALID_GRANT(reason));
    });
  });

  describe('RFC 7519 §4.1.5, §4.1.6; RFC 7523 §3 items 5, 6: nbf and iat', () => {
    it.each(NBF_IAT)('%s', async (_name, raw, reason) => {
      await t.refusedGrant(await signRawJws(fx.key, header(), rawClaims(textOf(raw))), INVALID_GRANT(reason));
    });
    it.each(IAT_AGE)('%s', async (_name, raw, reason) => {
      await t.refusedGrant(
        await signRawJws(fx.key, { alg: 'RS256', kid: 'fresh' }, rawClaims(textOf(raw), 'freshIDP')),
        INVALID_GRANT(reason),
      );
    });
  });

  describe('RFC 7519 §4.1.3, RFC 7523 §3 item 3, RFC 8725 §3.9: aud', () => {
    it.each(AUD)('%s', async (_name, raw, reason) => {
      await t.refusedGrant(await signRawJws(fx.key, header(), rawClaims(textOf(raw))), INVALID_GRANT(reason));
    });
  });

  describe('RFC 7519 §4.1.1, §4.1.2, §4.1.7; RFC 7523 §3 items 1, 2, 7; RFC 8725 §3.8: iss, sub and jti', () => {
    it.each(ISS_SUB_JTI)('%s', async (_name, raw, reason) => {
      await t.refusedGrant(await signRawJws(fx.key, header(), rawClaims(textOf(raw))), INVALID_GRANT(reason));
    });
  });

  describe('controls: what RFC 7519 §2 allows still works', () => {
    it.each([
      ['a fractional exp in range', { exp: () => String(now() + 300.25) }],
      ['an exponent-notation exp in range', { exp: () => `${(now() + 300) / 1e9}e9` }],
      ['a fractional iat and nbf in the past', { iat: () => String(now() - 0.5), nbf: () => String(now() - 10.75) }],
      ['a negative nbf (long past)', { nbf: () => '-1' }],
    ] as Array<[string, Record<string, () => string>]>)('%s', async (_name, raw) => {
      const res = await t.grant(await signRawJws(fx.key, header(), rawClaims(textOf(raw))));
      expect(res.status).toBe(200);
    });
  });
});
