/**
 * Threat: something that is not a compact JWS, or a JWT meant for something else. A JWE (five
 * segments), a nested JWT (`cty: JWT`), the JSON serialisations, or a token of another kind signed by the
 * same IdP (an ID token, an access token) must not be read as a JWT bearer assertion.
 *
 * RFC 7515 §7.1 (compact serialisation: three segments), §7.2 (JSON serialisation), §9 (telling JWS
 * from JWE: five segments are a JWE), §4.1.10 (`cty`); RFC 7516 §7.1 (JWE compact: five segments);
 * RFC 7519 §7.2 step 1 and step 8 (nested JWTs), §5.2 (`cty: JWT`); RFC 7523 §3 item 9 (the assertion is
 * a signed JWT; RFC 7523 allows encryption but this server accepts only JWS, docs/validation.md step 1);
 * RFC 8725 §2.8, §3.9, §3.11, §3.12 (cross-JWT confusion: audience and explicit typing keep kinds apart);
 * RFC 9068 §2.1 (`typ: at+jwt` access tokens) and the WIMSE workload identity tokens (`wit+jwt`) are
 * refused by their type for every IdP; RFC 7800 §3.1 (`cnf`: a key-bound token, whose proof of possession
 * this endpoint does not check).
 */
import { randomBytes } from 'node:crypto';
import {
  attackTarget,
  b64,
  b64json,
  CLIENT,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  INVALID_REQUEST,
  sha256b64,
  signInput,
  type AttackTarget,
} from '../helpers/attack-kit';
import type { GrantFixture } from '../helpers/grant-fixture';
import { signAssertion } from '../helpers/keys';

let fx: GrantFixture;
beforeAll(async () => {
  fx = await createAttackFixture();
});
afterAll(() => fx?.close());

const rnd = (n: number) => randomBytes(n).toString('base64url');

describe.each(HOSTS)('token format attacks on $name', (hut) => {
  let t: AttackTarget;
  beforeAll(() => {
    t = attackTarget(fx, hut);
  });

  describe('RFC 7515 §9, RFC 7516 §7.1: a JWE (five segments) is refused', () => {
    it.each([
      ['RSA-OAEP-256 / A256GCM', { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'jwt-idp-1' }],
      ['dir / A128CBC-HS256', { alg: 'dir', enc: 'A128CBC-HS256' }],
      [
        'ECDH-ES with cty JWT (nested)',
        { alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT', epk: { kty: 'EC', crv: 'P-256', x: rnd(32), y: rnd(32) } },
      ],
      ['a JWE header claiming alg RS256', { alg: 'RS256', enc: 'A256GCM' }],
    ])('%s', async (_name, header) => {
      await t.refusedGrant(`${b64json(header)}.${rnd(256)}.${rnd(12)}.${rnd(300)}.${rnd(16)}`, INVALID_GRANT('assertion_malformed'));
    });

    it('a JWE whose "ciphertext" is the IdP-signed claims in the clear', async () => {
      const jws = await fx.assertion();
      const [h, p, s] = jws.split('.');
      await t.refusedGrant(`${h}.${''}.${rnd(12)}.${p}.${s}`, INVALID_GRANT('assertion_malformed'));
    });
  });

  describe('RFC 7515 §7.1, RFC 7519 §7.2 step 1: anything but three segments is refused', () => {
    it.each([
      ['one segment', () => rnd(40)],
      ['two segments (a JWS without its signature part)', async () => (await fx.assertion()).split('.').slice(0, 2).join('.')],
      ['four segments (an extra signature)', async () => `${await fx.assertion()}.${rnd(256)}`],
      ['four segments (an extra, empty)', async () => `${await fx.assertion()}.`],
      ['six segments', () => Array.from({ length: 6 }, () => rnd(8)).join('.')],
      ['dots only', () => '..'],
      ['many dots', () => '.'.repeat(1000)],
      ['a leading dot', async () => `.${await fx.assertion()}`],
      ['an empty header segment', async () => `.${(await fx.assertion()).split('.').slice(1).join('.')}`],
      [
        'an empty payload segment',
        async () => {
          const [h, , s] = (await fx.assertion()).split('.');
          return `${h}..${s}`;
        },
      ],
    ] as Array<[string, () => string | Promise<string>]>)('%s', async (_name, make) => {
      await t.refusedGrant(await make(), INVALID_GRANT('assertion_malformed'));
    });

    it('an empty assertion is a missing one (invalid_request)', async () => {
      await t.refused(() => t.grant(''), INVALID_REQUEST('assertion_missing'));
    });
  });

  describe('RFC 7515 §7.2: the JSON serialisations are not compact JWS', () => {
    it('the flattened JSON serialisation of an IdP-signed assertion', async () => {
      const [h, p, s] = (await fx.assertion()).split('.');
      await t.refusedGrant(JSON.stringify({ protected: h, payload: p, signature: s }), INVALID_GRANT('assertion_malformed'));
    });
    it('the general JSON serialisation of an IdP-signed assertion', async () => {
      const [h, p, s] = (await fx.assertion()).split('.');
      await t.refusedGrant(
        JSON.stringify({ payload: p, signatures: [{ protected: h, signature: s }] }),
        INVALID_GRANT('assertion_malformed'),
      );
    });
    it('the JSON serialisation base64url-encoded as one segment', async () => {
      const [h, p, s] = (await fx.assertion()).split('.');
      await t.refusedGrant(b64json({ protected: h, payload: p, signature: s }), INVALID_GRANT('assertion_malformed'));
    });
  });

  describe('RFC 7519 §7.2 step 8, §5.2: nested JWTs (cty: JWT) are refused', () => {
    it('outer JWS by the IdP around an inner JWT signed by the IdP', async () => {
      const inner = await fx.assertion();
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg: 'RS256', cty: 'JWT', kid: fx.key.kid })}.${b64(inner)}`),
        INVALID_GRANT('assertion_malformed'),
      );
    });
    it('outer JWS by the IdP around an unsigned inner JWT (alg none)', async () => {
      const inner = `${b64json({ alg: 'none' })}.${b64json(goodClaims({ sub: 'root' }))}.`;
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg: 'RS256', cty: 'JWT' })}.${b64(inner)}`),
        INVALID_GRANT('assertion_malformed'),
      );
    });
    it('outer alg none around an inner JWT signed by the IdP', async () => {
      const inner = await fx.assertion();
      // Step 1 (format) comes before step 2 (alg): the payload is not a JSON object.
      await t.refusedGrant(`${b64json({ alg: 'none', cty: 'JWT' })}.${b64(inner)}.`, INVALID_GRANT('assertion_malformed'));
    });
    it('outer JWS by the IdP around an inner JWE', async () => {
      const inner = `${b64json({ alg: 'dir', enc: 'A256GCM' })}..${rnd(12)}.${rnd(200)}.${rnd(16)}`;
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg: 'RS256', cty: 'JWT' })}.${b64(inner)}`),
        INVALID_GRANT('assertion_malformed'),
      );
    });
    // A JWS by the IdP whose header says `cty: JWT` (RFC 7519 §5.2: the payload IS a JWT) over a plain
    // claims object: RFC 7519 §7.2 step 8 makes the payload the JWT to process, which it is not.
    it('an IdP-signed JWS that claims cty JWT over a plain claims object', async () => {
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg: 'RS256', cty: 'JWT', kid: fx.key.kid })}.${b64json(goodClaims())}`),
        INVALID_GRANT('assertion_malformed'),
      );
    });
    it('an inner JWT base64url-encoded twice', async () => {
      const inner = b64(await fx.assertion());
      await t.refusedGrant(
        await signInput(fx.key, `${b64json({ alg: 'RS256', cty: 'JWT' })}.${b64(inner)}`),
        INVALID_GRANT('assertion_malformed'),
      );
    });
  });

  describe('RFC 7515 §5.2 step 2, §4: a header or payload that is not a JSON object is refused', () => {
    it.each([
      ['header null', 'null', null],
      ['header an array', '[{"alg":"RS256"}]', null],
      ['header a string', '"RS256"', null],
      ['header a number', '256', null],
      ['header empty', '', null],
      ['header with a BOM', '\ufeff{"alg":"RS256"}', null],
      ['header with trailing garbage', '{"alg":"RS256"}x', null],
      ['header with a trailing comma', '{"alg":"RS256",}', null],
      ['header with single quotes', "{'alg':'RS256'}", null],
      ['header with a comment', '{"alg":"RS256"/* x */}', null],
      ['payload null', null, 'null'],
      ['payload an array of claims', null, JSON.stringify([goodClaims()])],
      ['payload a JSON string of the claims', null, JSON.stringify(JSON.stringify(goodClaims()))],
      ['payload with NaN', null, '{"iss":"jwtIDP","exp":NaN}'],
      ['payload with Infinity', null, '{"iss":"jwtIDP","exp":Infinity}'],
      ['payload with a hexadecimal number', null, '{"iss":"jwtIDP","exp":0x7fffffff}'],
      ['payload truncated', null, JSON.stringify(goodClaims()).slice(0, -1)],
    ] as Array<[string, string | null, string | null]>)('%s (signed by the IdP)', async (_name, header, payload) => {
      const h = header ?? JSON.stringify({ alg: 'RS256', kid: fx.key.kid });
      const p = payload ?? JSON.stringify(goodClaims());
      await t.refusedGrant(await signInput(fx.key, `${b64(h)}.${b64(p)}`), INVALID_GRANT('assertion_malformed'));
    });
  });

  describe('RFC 8725 §2.8, §3.9, §3.12: tokens of another kind from the same IdP are refused by their audience', () => {
    it('an OpenID Connect ID token (aud = the client id)', async () => {
      const idToken = await signAssertion(
        fx.key,
        goodClaims({ aud: CLIENT.id, nonce: 'n-0S6_WzA2Mj', auth_time: Math.floor(Date.now() / 1000) }),
        { kid: fx.key.kid },
      );
      await t.refusedGrant(idToken, INVALID_GRANT('audience_mismatch'));
    });
    it('an RFC 9068 access token (typ at+jwt, aud = a resource server): its typ refuses it first', async () => {
      const at = await signAssertion(fx.key, goodClaims({ aud: 'https://api.example.test', client_id: CLIENT.id, scope: 'admin' }), {
        typ: 'at+jwt',
        kid: fx.key.kid,
      });
      await t.refusedGrant(at, INVALID_GRANT('token_type_not_allowed'));
    });
    it('an untyped access token (aud = a resource server)', async () => {
      const at = await signAssertion(fx.key, goodClaims({ aud: 'https://api.example.test', client_id: CLIENT.id, scope: 'admin' }), {
        kid: fx.key.kid,
      });
      await t.refusedGrant(at, INVALID_GRANT('audience_mismatch'));
    });
    it('a logout token (RFC 8725 §3.12 example; aud = the client id)', async () => {
      const logout = await signAssertion(
        fx.key,
        goodClaims({ aud: CLIENT.id, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }),
        { typ: 'logout+jwt' },
      );
      await t.refusedGrant(logout, INVALID_GRANT('audience_mismatch'));
    });
  });
  describe('RFC 8725 §3.11, RFC 9068 §2.1: explicitly typed tokens of another kind are refused by their typ, whatever else they carry', () => {
    // Signed by the IdP, addressed to us, otherwise valid: only the typ check stands between them and a token.
    it.each(['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/At+Jwt', 'wit+jwt', 'application/wit+jwt', 'WIT+JWT'])(
      'typ %s, addressed to this token endpoint',
      async (typ) => {
        const token = await signAssertion(fx.key, goodClaims(), { typ, kid: fx.key.kid });
        await t.refusedGrant(token, INVALID_GRANT('token_type_not_allowed'));
      },
    );
    it('typ at+jwt from an issuer that is not even configured: refused before the lookup, with the same reason', async () => {
      const token = await signAssertion(fx.key, goodClaims({ iss: 'https://unknown.example' }), { typ: 'at+jwt' });
      await t.refusedGrant(token, INVALID_GRANT('token_type_not_allowed'));
    });
  });

  describe('RFC 7800 §3.1: a key-bound token (cnf) is refused, since proof of possession is not checked here', () => {
    it.each([
      ['a JWK thumbprint (DPoP, RFC 9449 §6)', { jkt: sha256b64('attacker key') }],
      ['a certificate thumbprint (mTLS, RFC 8705 §3.1)', { 'x5t#S256': sha256b64('client cert') }],
      ['a full JWK', { jwk: { kty: 'OKP', crv: 'Ed25519', x: rnd(32) } }],
      ['an empty object', {}],
      ['null', null],
    ])('cnf holding %s, in an otherwise valid IdP-signed assertion', async (_name, cnf) => {
      const token = await signAssertion(fx.key, goodClaims({ cnf }), { kid: fx.key.kid });
      await t.refusedGrant(token, INVALID_GRANT('confirmation_unsupported'));
    });
    it('a wit+jwt with its cnf is refused by its typ first', async () => {
      const token = await signAssertion(fx.key, goodClaims({ cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: rnd(32) } } }), {
        typ: 'wit+jwt',
        kid: fx.key.kid,
      });
      await t.refusedGrant(token, INVALID_GRANT('token_type_not_allowed'));
    });
  });
});
