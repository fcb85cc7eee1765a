/** The test key helpers themselves: what other suites build on. */
import { importX509, jwtVerify, decodeProtectedHeader } from 'jose';
import { parseCertificate } from '../../lib/certificates';
import {
  assertionClaims,
  makeSigningKey,
  rawJws,
  reissueCertificate,
  sharedSigningKey,
  signAssertion,
  TEST_ALGORITHMS,
} from '../helpers/keys';

describe('test/helpers/keys', () => {
  it.each(TEST_ALGORITHMS)('%s: a key, a certificate the store accepts, and a JWS that verifies with it', async (alg) => {
    const key = await sharedSigningKey(alg);
    const parsed = parseCertificate(key.certificatePem);
    expect(parsed.thumbprint).toBe(key.thumbprint);
    expect(parsed.notBefore).toEqual(key.notBefore);
    const jws = await signAssertion(key, assertionClaims({ sub: 'bob' }), { kid: key.kid });
    const { payload, protectedHeader } = await jwtVerify(jws, await importX509(key.certificatePem, alg));
    expect(protectedHeader).toEqual({ alg, typ: 'JWT', kid: key.kid });
    expect(payload.sub).toBe('bob');
  });

  it('makes a new key pair on every call, and reissues certificates over one', async () => {
    const [a, b] = await Promise.all([makeSigningKey('ES256'), makeSigningKey('ES256', { kid: 'k' })]);
    expect(a.thumbprint).not.toBe(b.thumbprint);
    expect(a.kid).toBe(a.thumbprint);
    expect(b.kid).toBe('k');
    const old = await reissueCertificate(a, { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2020-02-01T00:00:00Z') });
    expect(old.publicKey).toBe(a.publicKey);
    expect(parseCertificate(old.certificatePem).notAfter.toISOString()).toBe('2020-02-01T00:00:00.000Z');
  });

  it('builds claims with overrides and deletions', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const claims = assertionClaims({ jti: undefined, aud: ['a', 'b'] }, now);
    expect(claims).toEqual({ iss: expect.any(String), sub: 'alice', aud: ['a', 'b'], iat: 1893456000, exp: 1893456300 });
  });

  it('hand-builds hostile JWS', () => {
    expect(rawJws({ alg: 'none' }, { a: 1 }, '')).toBe('eyJhbGciOiJub25lIn0.eyJhIjoxfQ.');
    expect(decodeProtectedHeader(rawJws({ alg: 'HS256' }, '{not json'))).toEqual({ alg: 'HS256' });
    expect(rawJws('{x', 'y', Buffer.from([1, 2])).split('.')).toEqual(['e3g', 'eQ', 'AQI']);
  });
});
