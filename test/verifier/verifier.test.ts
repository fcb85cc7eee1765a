/**
 * createAssertionVerifier as a whole: the order of docs/validation.md steps 1–6 (first failure wins), the issuer
 * lookup, `crit`, the replay key, and the options.
 */
import { createHash } from 'node:crypto';
import { ConfigurationError } from '../../lib/errors';
import { createAssertionVerifier, decodeAssertion, replayKeyOf } from '../../lib/verifier';
import { makeSigningKey, rawJws, sharedSigningKey, signAssertion, signRawJws, type TestSigningKey } from '../helpers/keys';
import { claims, CLIENT_ID, directory, idpRecord, ISSUER, NOW_S, reasonOf, refusal, TENANT, verify } from './support';

let es: TestSigningKey;
let ed: TestSigningKey;
beforeAll(async () => {
  [es, ed] = await Promise.all([sharedSigningKey('ES256'), sharedSigningKey('EdDSA')]);
});

describe('step 3: the issuer', () => {
  it('unknown, disabled and other-tenant IdPs get the identical refusal, with no detail', async () => {
    const assertion = await signAssertion(es, claims());
    const outcomes = await Promise.all([
      refusal(verify(assertion, [])),
      refusal(verify(assertion, idpRecord([es], { enabled: false }))),
      refusal(verify(assertion, idpRecord([es], { tenantId: 'another-tenant' }))),
    ]);
    for (const error of outcomes) {
      expect({
        reason: error.reason,
        error: error.error,
        status: error.status,
        message: error.message,
        detail: error.detail,
        cause: error.cause,
      }).toEqual({
        reason: 'issuer_unknown',
        error: 'invalid_grant',
        status: 400,
        message: 'The assertion issuer is not a trusted identity provider.',
        detail: undefined,
        cause: undefined,
      });
    }
  });

  it('looks the issuer up exactly once, by the unverified iss', async () => {
    const find = directory(idpRecord([es]));
    await verify(await signAssertion(es, claims()), [], { findIdentityProvider: find });
    expect(find.calls).toEqual([ISSUER]);
  });

  it('a missing, empty, non-string or unstorable iss is never looked up', async () => {
    const find = directory(idpRecord([es]));
    // A NUL reaching Postgres would be a database error: a 503 anyone could trigger without a key.
    for (const iss of [undefined, '', 42, ['a'], `${ISSUER}\u0000`, `${ISSUER}\ud800`]) {
      expect(await reasonOf(verify(rawJws({ alg: 'ES256' }, claims({ iss })), [], { findIdentityProvider: find }))).toBe('issuer_unknown');
    }
    expect(find.calls).toEqual([]);
  });
});

describe('step 2: crit', () => {
  it.each([
    ['an unknown extension', { crit: ['exp'], exp: 1 }],
    ['b64 (RFC 7797), which we do not implement either', { crit: ['b64'], b64: false }],
    ['an empty array', { crit: [] }],
    ['a string', { crit: 'exp' }],
    ['an array with a non-string', { crit: [1] }],
    ['null', { crit: null }],
  ])('%s → crit_unsupported, before the issuer lookup', async (_name, header) => {
    const find = directory(idpRecord([es]));
    const assertion = await signRawJws(es, { alg: 'ES256', ...header }, claims());
    expect(await reasonOf(verify(assertion, [], { findIdentityProvider: find }))).toBe('crit_unsupported');
    expect(find.calls).toEqual([]);
  });

  it('other unknown header parameters without crit are ignored (RFC 7515 §4)', async () => {
    await expect(
      verify(await signAssertion(es, claims(), { typ: 'example+jwt', cty: 'x', 'urn:example:ext': { a: 1 } }), idpRecord([es])),
    ).resolves.toBeDefined();
  });
});

describe('step 2: typ (RFC 8725 §3.11, RFC 9068 §2.1)', () => {
  it.each([
    'at+jwt',
    'AT+JWT',
    'application/at+jwt',
    'Application/At+JWT',
    'wit+jwt',
    'WIT+jwt',
    'application/wit+jwt',
    'APPLICATION/WIT+JWT',
  ])('typ %s → token_type_not_allowed, before the issuer lookup, for an IdP-signed token', async (typ) => {
    const find = directory(idpRecord([es]));
    const error = await refusal(verify(await signAssertion(es, claims(), { typ }), [], { findIdentityProvider: find }));
    expect({ reason: error.reason, error: error.error, status: error.status }).toEqual({
      reason: 'token_type_not_allowed',
      error: 'invalid_grant',
      status: 400,
    });
    expect(find.calls).toEqual([]);
  });

  it.each(['JWT', 'jwt', 'application/jwt', 'at+jwt+x', 'xat+jwt', 'application/at+jwt; x=1', 'text/at+jwt', 'secevent+jwt', ''])(
    'typ %j is not a refused type',
    async (typ) => {
      await expect(verify(await signAssertion(es, claims(), { typ }), idpRecord([es]))).resolves.toBeDefined();
    },
  );

  it('a typ that is not a string is ignored, as before', async () => {
    await expect(verify(await signRawJws(es, { alg: 'ES256', typ: ['at+jwt'] }, claims()), idpRecord([es]))).resolves.toBeDefined();
  });
});

describe('the order of the steps: the first failure wins', () => {
  const unknownIdp: never[] = [];
  it.each<[string, () => Promise<string>, () => unknown, string]>([
    ['too large before malformed', async () => 'x'.repeat(20000), () => [], 'assertion_too_large'],
    [
      'malformed before alg none',
      async () => rawJws('{"alg":"none","alg":"none"}', claims(), ''),
      () => idpRecord([es]),
      'assertion_malformed',
    ],
    ['alg none before an unknown issuer', async () => rawJws({ alg: 'none' }, claims(), ''), () => unknownIdp, 'alg_not_allowed'],
    ['HS256 before an unknown issuer', async () => rawJws({ alg: 'HS256' }, claims()), () => unknownIdp, 'alg_not_allowed'],
    ['alg before crit', async () => rawJws({ alg: 'none', crit: ['x'] }, claims(), ''), () => idpRecord([es]), 'alg_not_allowed'],
    ['alg before typ', async () => rawJws({ alg: 'none', typ: 'at+jwt' }, claims(), ''), () => idpRecord([es]), 'alg_not_allowed'],
    [
      'typ before crit',
      async () => signRawJws(es, { alg: 'ES256', typ: 'at+jwt', crit: ['x'] }, claims()),
      () => idpRecord([es]),
      'token_type_not_allowed',
    ],
    [
      'typ before an unknown issuer',
      async () => signAssertion(es, claims(), { typ: 'wit+jwt' }),
      () => unknownIdp,
      'token_type_not_allowed',
    ],
    [
      'crit before an unknown issuer',
      async () => signRawJws(es, { alg: 'ES256', crit: ['x'] }, claims()),
      () => unknownIdp,
      'crit_unsupported',
    ],
    [
      'crit before a non-string kid',
      async () => signRawJws(es, { alg: 'ES256', crit: ['x'], kid: 5 }, claims()),
      () => idpRecord([es]),
      'crit_unsupported',
    ],
    ['a non-string kid before an unknown issuer', async () => signAssertion(es, claims(), { kid: 5 }), () => unknownIdp, 'key_not_found'],
    [
      'an unknown issuer before the allow-list (which needs the IdP)',
      async () => signAssertion(es, claims()),
      () => unknownIdp,
      'issuer_unknown',
    ],
    [
      'the allow-list before the key',
      async () => signAssertion(es, claims(), { kid: 'nope' }),
      () => idpRecord([es], { algorithms: ['RS256'] }),
      'alg_not_allowed',
    ],
    [
      'an unknown kid before the signature',
      async () => rawJws({ alg: 'ES256', kid: 'nope' }, claims()),
      () => idpRecord([es]),
      'key_not_found',
    ],
    [
      'the signature before the claims',
      async () => rawJws({ alg: 'ES256' }, claims({ exp: NOW_S - 3600, sub: '' })),
      () => idpRecord([es]),
      'signature_invalid',
    ],
    [
      'no usable key before the claims',
      async () => signAssertion(ed, claims({ exp: NOW_S - 3600 })),
      () => idpRecord([es]),
      'no_usable_key',
    ],
    [
      'the claims before the lists',
      async () => signAssertion(es, claims({ exp: NOW_S - 3600 })),
      () => idpRecord([es], { allowedClients: [] }),
      'assertion_expired',
    ],
  ])('%s', async (_name, make, idps, expected) => {
    expect(await reasonOf(verify(await make(), idps() as never))).toBe(expected);
  });

  it('a duplicate claim is refused even when correctly signed (no last-one-wins)', async () => {
    const payload = JSON.stringify(claims({ sub: 'alice' })).replace(/^\{/, '{"sub":"admin",');
    expect(await reasonOf(verify(await signRawJws(es, { alg: 'ES256' }, payload), idpRecord([es])))).toBe('assertion_malformed');
  });
});

describe('the replay key', () => {
  const noJti = { requireJti: false };

  it('is the jti where there is one', async () => {
    expect((await verify(await signAssertion(es, claims({ jti: 'abc' })), idpRecord([es]))).replayKey).toBe('abc');
  });

  it('is the base64url SHA-256 of header.payload where there is none', async () => {
    const assertion = await signAssertion(es, claims({ jti: undefined }));
    const [h, p] = assertion.split('.');
    const expected = createHash('sha256').update(`${h}.${p}`).digest('base64url');
    expect((await verify(assertion, idpRecord([es], noJti))).replayKey).toBe(expected);
    expect(replayKeyOf({}, decodeAssertion(assertion).signingInput)).toBe(expected);
  });

  it('is stable across signatures of the same header.payload (ECDSA signs randomly)', async () => {
    const body = claims({ jti: undefined });
    const [a, b] = await Promise.all([signAssertion(es, body), signAssertion(es, body)]);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    const idp = idpRecord([es], noJti);
    expect((await verify(a, idp)).replayKey).toBe((await verify(b, idp)).replayKey);
  });

  it('is stable across a re-encoded ECDSA signature: (r, s) and (r, n − s) both verify, one key', async () => {
    // P-256 group order: (r, n - s) is the "other" valid signature of the same message.
    const n = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
    const assertion = await signAssertion(es, claims({ jti: undefined }));
    const [h, p, s64] = assertion.split('.') as [string, string, string];
    const sig = Buffer.from(s64, 'base64url');
    const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
    const flipped = Buffer.concat([sig.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    const reencoded = `${h}.${p}.${flipped.toString('base64url')}`;
    expect(reencoded).not.toBe(assertion);
    const idp = idpRecord([es], noJti);
    const [first, second] = [await verify(assertion, idp), await verify(reencoded, idp)];
    expect(second.replayKey).toBe(first.replayKey);
  });

  it('a DER-encoded ECDSA signature is not a JWS signature (RFC 7518 §3.4)', async () => {
    const assertion = await signAssertion(es, claims());
    const [h, p, s64] = assertion.split('.') as [string, string, string];
    const raw = Buffer.from(s64, 'base64url');
    const int = (bytes: Buffer) => {
      let i = 0;
      while (i < bytes.length - 1 && bytes[i] === 0) i++;
      const v = bytes.subarray(i);
      return v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v;
    };
    const r = int(raw.subarray(0, 32));
    const s = int(raw.subarray(32));
    const der = Buffer.concat([Buffer.from([0x30, r.length + s.length + 4, 0x02, r.length]), r, Buffer.from([0x02, s.length]), s]);
    expect(await reasonOf(verify(`${h}.${p}.${der.toString('base64url')}`, idpRecord([es])))).toBe('signature_invalid');
  });
});

describe('the result', () => {
  it('holds the IdP, the header, the claims, the replay key and the verifying key', async () => {
    const idp = idpRecord([es]);
    const result = await verify(await signAssertion(es, claims({ jti: 'j-1' }), { kid: es.kid }), idp);
    expect(result).toEqual({
      idp,
      header: { alg: 'ES256', typ: 'JWT', kid: es.kid },
      claims: expect.objectContaining({ iss: ISSUER, sub: 'alice', jti: 'j-1' }),
      replayKey: 'j-1',
      subject: 'alice',
      rule: null,
      keyId: `cert:${es.thumbprint}`,
    });
  });

  it('uses the real clock where no now is given', async () => {
    const verifier = createAssertionVerifier();
    const idp = idpRecord([es]);
    const ctx = { tenantId: TENANT, clientId: CLIENT_ID, findIdentityProvider: directory(idp) };
    await expect(verifier.verify(await signAssertion(es, claims()), ctx)).resolves.toBeDefined();
    const stale = await signAssertion(es, claims({ iat: NOW_S - 7200, exp: NOW_S - 3600 }));
    expect(await reasonOf(verifier.verify(stale, ctx))).toBe('assertion_expired');
  });

  it('verifies concurrently with one shared verifier', async () => {
    const keys = await Promise.all([makeSigningKey('ES256'), makeSigningKey('EdDSA'), makeSigningKey('ES384')]);
    const idp = idpRecord(keys);
    const assertions = await Promise.all(Array.from({ length: 30 }, (_, i) => signAssertion(keys[i % 3]!, claims({ jti: `c-${i}` }))));
    const results = await Promise.all(assertions.map((a) => verify(a, idp)));
    expect(results.map((r) => r.replayKey)).toEqual(assertions.map((_, i) => `c-${i}`));
  });
});

describe('options', () => {
  it.each([0, -1, 1.5, Number.NaN, '16384', Infinity])('maxAssertionBytes %p is a configuration error', (value) => {
    expect(() => createAssertionVerifier({ maxAssertionBytes: value as number })).toThrow(ConfigurationError);
  });
  it('undefined maxAssertionBytes means the default', () => {
    expect(() => createAssertionVerifier({ maxAssertionBytes: undefined })).not.toThrow();
  });
  it.each([[[]], [[{}]], ['x']])('keySources %p is a configuration error', (value) => {
    expect(() => createAssertionVerifier({ keySources: value as never })).toThrow(ConfigurationError);
  });
});
