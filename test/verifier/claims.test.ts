/**
 * docs/validation.md step 5 (claims, RFC 7523 §3) and step 6 (subject and client lists), on correctly signed
 * assertions, with the clock frozen at NOW.
 */
import { sharedSigningKey, signAssertion, signRawJws, type TestSigningKey } from '../helpers/keys';
import type { IdentityProviderRecord } from '../../lib/types';
import { AUDIENCE, claims, CLIENT_ID, idpRecord, ISSUER, NOW_S, reasonOf, refusal, verify } from './support';

let key: TestSigningKey;
beforeAll(async () => {
  key = await sharedSigningKey('ES256');
});

/** Signs `overrides` over the standard claims and verifies against an IdP with `idp` overrides. */
async function check(overrides: Record<string, unknown>, idp: Partial<IdentityProviderRecord> = {}, tokenEndpointUrl?: string) {
  return verify(await signAssertion(key, claims(overrides)), idpRecord([key], idp), { tokenEndpointUrl });
}
const reason = (overrides: Record<string, unknown>, idp: Partial<IdentityProviderRecord> = {}, tokenEndpointUrl?: string) =>
  reasonOf(check(overrides, idp, tokenEndpointUrl));

it('a valid assertion: the claims, the IdP and the jti as replay key', async () => {
  const result = await check({ jti: 'jti-1', extra: { nested: true } });
  expect(result.claims).toEqual({
    iss: ISSUER,
    sub: 'alice',
    aud: AUDIENCE,
    iat: NOW_S,
    exp: NOW_S + 300,
    jti: 'jti-1',
    extra: { nested: true },
  });
  expect(result.idp.name).toBe(ISSUER);
  expect(result.replayKey).toBe('jti-1');
});

describe('one test per reason', () => {
  it('issuer_mismatch: the IdP found is not named exactly iss (e.g. a store that folds case)', async () => {
    const assertion = await signAssertion(key, claims({ iss: ISSUER.toUpperCase() }));
    const idp = idpRecord([key]);
    expect(await reasonOf(verify(assertion, [], { findIdentityProvider: async () => idp }))).toBe('issuer_mismatch');
  });
  it('subject_invalid', async () => expect(await reason({ sub: '' })).toBe('subject_invalid'));
  it('audience_mismatch', async () => expect(await reason({ aud: 'https://someone-else.example/token' })).toBe('audience_mismatch'));
  it('exp_missing', async () => expect(await reason({ exp: undefined })).toBe('exp_missing'));
  it('assertion_expired', async () => expect(await reason({ exp: NOW_S - 3600 })).toBe('assertion_expired'));
  it('exp_too_far', async () => expect(await reason({ exp: NOW_S + 2 * 86400 })).toBe('exp_too_far'));
  it('assertion_not_yet_valid', async () => expect(await reason({ nbf: NOW_S + 3600 })).toBe('assertion_not_yet_valid'));
  it('iat_in_future', async () => expect(await reason({ iat: NOW_S + 3600 })).toBe('iat_in_future'));
  it('iat_too_old', async () => expect(await reason({ iat: NOW_S - 3600 }, { iatMaxAgeSeconds: 600 })).toBe('iat_too_old'));
  it('jti_missing', async () => expect(await reason({ jti: undefined })).toBe('jti_missing'));
  it('jti_invalid', async () => expect(await reason({ jti: 'x'.repeat(257) })).toBe('jti_invalid'));
  it('confirmation_unsupported', async () =>
    expect(await reason({ cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } })).toBe('confirmation_unsupported'));
  it('subject_not_allowed', async () =>
    expect(await reason({ sub: 'mallory' }, { allowedSubjects: ['alice', 'bob'] })).toBe('subject_not_allowed'));
  it('client_not_allowed', async () => expect(await reason({}, { allowedClients: ['another-client'] })).toBe('client_not_allowed'));
});

describe('wrong JSON types fail with the reason of their claim', () => {
  it.each([
    ['sub a number', { sub: 42 }, 'subject_invalid'],
    ['sub an array', { sub: ['alice'] }, 'subject_invalid'],
    ['sub null', { sub: null }, 'subject_invalid'],
    ['sub missing', { sub: undefined }, 'subject_invalid'],
    ['sub with a NUL (no database can store it)', { sub: 'ali\u0000ce' }, 'subject_invalid'],
    ['sub with a lone surrogate', { sub: 'ali\ud800ce' }, 'subject_invalid'],
    ['aud missing', { aud: undefined }, 'audience_mismatch'],
    ['aud an object', { aud: { 0: AUDIENCE } }, 'audience_mismatch'],
    ['aud an empty array', { aud: [] }, 'audience_mismatch'],
    ['aud an array with a non-string beside ours', { aud: [AUDIENCE, 7] }, 'audience_mismatch'],
    ['aud a nested array', { aud: [[AUDIENCE]] }, 'audience_mismatch'],
    ['exp a numeric string', { exp: String(NOW_S + 300) }, 'exp_missing'],
    ['exp null', { exp: null }, 'exp_missing'],
    ['exp a boolean', { exp: true }, 'exp_missing'],
    ['nbf a numeric string', { nbf: String(NOW_S - 10) }, 'assertion_not_yet_valid'],
    ['nbf null', { nbf: null }, 'assertion_not_yet_valid'],
    ['iat a numeric string', { iat: String(NOW_S) }, 'iat_in_future'],
    ['iat an array', { iat: [NOW_S] }, 'iat_in_future'],
    ['jti a number', { jti: 12345 }, 'jti_invalid'],
    ['jti null (present, not a string)', { jti: null }, 'jti_invalid'],
    ['jti empty', { jti: '' }, 'jti_invalid'],
    ['jti with a NUL', { jti: 'a\u0000b' }, 'jti_invalid'],
  ])('%s', async (_name, overrides, expected) => {
    expect(await reason(overrides)).toBe(expected);
  });

  it('iss that is not a string finds no IdP (issuer_unknown)', async () => {
    expect(await reason({ iss: [ISSUER] })).toBe('issuer_unknown');
    expect(await reason({ iss: undefined })).toBe('issuer_unknown');
  });

  it('exp beyond what JSON numbers can hold (1e400 → Infinity) is not a date', async () => {
    const payload = JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e400');
    expect(await reasonOf(verify(await signRawJws(key, { alg: 'ES256' }, payload), idpRecord([key])))).toBe('exp_missing');
  });

  it('a numeric string as exp, correctly signed, is still not a date', async () => {
    const payload = JSON.stringify(claims()).replace(/"exp":(\d+)/, '"exp":"$1"');
    expect(await reasonOf(verify(await signRawJws(key, { alg: 'ES256' }, payload), idpRecord([key])))).toBe('exp_missing');
  });
});

describe('audience', () => {
  it('an array with extra values beside one alias is accepted', async () => {
    await expect(check({ aud: ['https://api.example', AUDIENCE, 'urn:other'] })).resolves.toBeDefined();
  });
  it('any one of several aliases is accepted', async () => {
    await expect(check({ aud: 'wso2-IS' }, { aliases: [AUDIENCE, 'wso2-IS'] })).resolves.toBeDefined();
  });
  it.each([
    ['a trailing slash', `${AUDIENCE}/`],
    ['a different case', AUDIENCE.toUpperCase()],
    ['a default port spelled out', AUDIENCE.replace('.test/', '.test:443/')],
    ['surrounding whitespace', ` ${AUDIENCE}`],
    ['a query string', `${AUDIENCE}?tenantDomain=carbon.super`],
  ])('%s is not the same audience (exact string compare)', async (_name, aud) => {
    expect(await reason({ aud })).toBe('audience_mismatch');
    expect(await reason({ aud: [aud] })).toBe('audience_mismatch');
  });
  it('without aliases, the token endpoint URL is the audience', async () => {
    const url = 'https://as.example.test/oauth2/token';
    await expect(check({ aud: url }, { aliases: [] }, url)).resolves.toBeDefined();
    expect(await reason({ aud: `${url}/` }, { aliases: [] }, url)).toBe('audience_mismatch');
  });
  it('with aliases, the token endpoint URL alone is not enough', async () => {
    expect(
      await reason({ aud: 'https://as.example.test/oauth2/token' }, { aliases: ['wso2-IS'] }, 'https://as.example.test/oauth2/token'),
    ).toBe('audience_mismatch');
  });
  it('without aliases or a token endpoint URL, nothing matches', async () => {
    expect(await reason({ aud: AUDIENCE }, { aliases: [] })).toBe('audience_mismatch');
  });
});

describe('time checks: the skew applies symmetrically, in the lenient direction, to each', () => {
  // At the edge the assertion passes; one second further it fails.
  const life = 86400;
  const maxAge = 600;
  describe.each([60, 0, 300])('clock skew %ds', (skew) => {
    const idp = { clockSkewSeconds: skew, maxAssertionLifetimeSeconds: life, iatMaxAgeSeconds: maxAge };
    it.each([
      ['exp (past)', { exp: NOW_S - skew + 1, iat: NOW_S - 100 }, { exp: NOW_S - skew, iat: NOW_S - 100 }, 'assertion_expired'],
      ['exp (too far ahead)', { exp: NOW_S + life + skew }, { exp: NOW_S + life + skew + 1 }, 'exp_too_far'],
      ['nbf (future)', { nbf: NOW_S + skew }, { nbf: NOW_S + skew + 1 }, 'assertion_not_yet_valid'],
      ['iat (future)', { iat: NOW_S + skew }, { iat: NOW_S + skew + 1 }, 'iat_in_future'],
      ['iat (too old)', { iat: NOW_S - maxAge - skew }, { iat: NOW_S - maxAge - skew - 1 }, 'iat_too_old'],
    ])('%s', async (_name, edge, beyond, expected) => {
      await expect(check(edge, idp)).resolves.toBeDefined();
      expect(await reason(beyond, idp)).toBe(expected);
    });
  });

  it('NumericDates may be fractional (RFC 7519 §2)', async () => {
    await expect(check({ exp: NOW_S + 0.5, iat: NOW_S - 0.25, nbf: NOW_S + 59.75 })).resolves.toBeDefined();
    expect(await reason({ nbf: NOW_S + 60.5 })).toBe('assertion_not_yet_valid');
  });

  it('iat and nbf are optional; iat age is unbounded where no max age is set', async () => {
    await expect(check({ iat: undefined, nbf: undefined })).resolves.toBeDefined();
    await expect(check({ iat: NOW_S - 30 * 86400 })).resolves.toBeDefined();
  });

  it('the max lifetime counts from now, not from iat', async () => {
    await expect(check({ iat: NOW_S - 1000, exp: NOW_S + 3600 }, { maxAssertionLifetimeSeconds: 3600 })).resolves.toBeDefined();
  });
});

describe('replay policy reuse: a one-hour cap on the lifetime (docs/workload-identity.md)', () => {
  const reuse = (life: number, skew = 60) =>
    ({ replayPolicy: 'reuse', maxAssertionLifetimeSeconds: life, clockSkewSeconds: skew, requireJti: false }) as const;

  it('exp up to now + min(lifetime, 3600) + skew, one second more is exp_too_far', async () => {
    await expect(check({ iat: undefined, exp: NOW_S + 3600 + 60 }, reuse(3600))).resolves.toBeDefined();
    expect(await reason({ iat: undefined, exp: NOW_S + 3600 + 61 }, reuse(3600))).toBe('exp_too_far');
    await expect(check({ iat: undefined, exp: NOW_S + 600 }, reuse(600, 0))).resolves.toBeDefined();
    expect(await reason({ iat: undefined, exp: NOW_S + 601 }, reuse(600, 0))).toBe('exp_too_far');
  });

  it('caps at one hour even where a record claims a longer lifetime (the database refuses to store one)', async () => {
    expect(await reason({ iat: undefined, exp: NOW_S + 3600 + 61 }, reuse(86400))).toBe('exp_too_far');
    // The same assertion under `once` with that lifetime is fine.
    await expect(check({ iat: undefined, exp: NOW_S + 3600 + 61 }, { maxAssertionLifetimeSeconds: 86400 })).resolves.toBeDefined();
  });

  it('where iat is present, exp − iat at most the cap (no skew): a day-long token in its last hour is refused', async () => {
    await expect(check({ iat: NOW_S - 1000, exp: NOW_S + 2600 }, reuse(3600))).resolves.toBeDefined();
    expect(await reason({ iat: NOW_S - 1000, exp: NOW_S + 2601 }, reuse(3600))).toBe('exp_too_far');
    expect(await reason({ iat: NOW_S - 86400 + 600, exp: NOW_S + 600 }, reuse(3600))).toBe('exp_too_far');
    expect(await reason({ iat: NOW_S, exp: NOW_S + 601 }, reuse(600))).toBe('exp_too_far');
    // Under `once`, the lifetime counts from now only.
    await expect(check({ iat: NOW_S - 86400 + 600, exp: NOW_S + 600 }, { maxAssertionLifetimeSeconds: 3600 })).resolves.toBeDefined();
  });

  it('a non-numeric iat is still iat_in_future, not a lifetime question', async () => {
    expect(await reason({ iat: 'yesterday', exp: NOW_S + 600 }, reuse(3600))).toBe('iat_in_future');
  });

  it('an expired token is assertion_expired before any cap', async () => {
    expect(await reason({ iat: NOW_S - 7200, exp: NOW_S - 61 }, reuse(3600))).toBe('assertion_expired');
  });
});

describe('jti', () => {
  it('256 characters is the limit, counted in characters (code points)', async () => {
    await expect(check({ jti: 'x'.repeat(256) })).resolves.toBeDefined();
    expect(await reason({ jti: 'x'.repeat(257) })).toBe('jti_invalid');
    await expect(check({ jti: '😀'.repeat(256) })).resolves.toBeDefined(); // 512 UTF-16 units
    expect(await reason({ jti: '😀'.repeat(257) })).toBe('jti_invalid');
  });
  it('is optional where the IdP does not require it; then it must still be valid when present', async () => {
    await expect(check({ jti: undefined }, { requireJti: false })).resolves.toBeDefined();
    expect(await reason({ jti: 'x'.repeat(257) }, { requireJti: false })).toBe('jti_invalid');
    expect(await reason({ jti: 5 }, { requireJti: false })).toBe('jti_invalid');
  });
});

describe('step 6: subject and client lists', () => {
  it('a list admits its members only; null admits everyone; an empty list admits no one', async () => {
    await expect(check({ sub: 'bob' }, { allowedSubjects: ['alice', 'bob'] })).resolves.toBeDefined();
    await expect(check({ sub: 'anyone' }, { allowedSubjects: null })).resolves.toBeDefined();
    expect(await reason({ sub: 'alice' }, { allowedSubjects: [] })).toBe('subject_not_allowed');
    expect(await reason({ sub: 'Alice' }, { allowedSubjects: ['alice'] })).toBe('subject_not_allowed');
    await expect(check({}, { allowedClients: ['x', CLIENT_ID] })).resolves.toBeDefined();
    expect(await reason({}, { allowedClients: [] })).toBe('client_not_allowed');
  });
  it('the subject list is checked before the client list', async () => {
    expect(await reason({ sub: 'mallory' }, { allowedSubjects: ['alice'], allowedClients: ['other'] })).toBe('subject_not_allowed');
  });
});

describe('order within step 5: the first failing claim wins', () => {
  it.each([
    ['sub before aud', { sub: '', aud: 'nope' }, 'subject_invalid'],
    ['aud before exp', { aud: 'nope', exp: NOW_S - 3600 }, 'audience_mismatch'],
    ['exp before nbf', { exp: undefined, nbf: NOW_S + 3600 }, 'exp_missing'],
    ['nbf before iat', { nbf: NOW_S + 3600, iat: NOW_S + 3600 }, 'assertion_not_yet_valid'],
    ['iat before jti', { iat: NOW_S + 3600, jti: undefined }, 'iat_in_future'],
    ['jti before cnf', { jti: undefined, cnf: { jkt: 'x' } }, 'jti_missing'],
    ['cnf before the subject list', { cnf: { jkt: 'x' }, sub: 'mallory' }, 'confirmation_unsupported'],
    ['claims before the subject list', { exp: NOW_S - 3600, sub: 'mallory' }, 'assertion_expired'],
  ])('%s', async (_name, overrides, expected) => {
    expect(await reason(overrides, { allowedSubjects: ['alice'] })).toBe(expected);
  });

  it('refusals carry a log detail and a fixed client sentence', async () => {
    const error = await refusal(check({ exp: NOW_S - 3600 }));
    expect(error.description).toBe('The assertion has expired.');
    expect(error.detail).toMatch(/^exp \d+ <= now \d+ - 60s$/);
  });
});
