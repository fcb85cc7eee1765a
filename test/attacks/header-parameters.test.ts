/**
 * Threat: hostile header parameters that steer key lookup or processing. `kid` is attacker text that a
 * naive verifier hands to a file system, a SQL query or an LDAP filter; `crit` names extensions that
 * change how a token must be read, and one a verifier does not implement must make it refuse.
 *
 * RFC 8725 §3.10 ("kid" … "should ensure that this does not create SQL or LDAP injection
 * vulnerabilities"); RFC 7515 §4.1.4 (`kid`), §4.1.11 (`crit`: "If any of the listed extension Header
 * Parameters are not understood and supported by the recipient, then the JWS is invalid"); RFC 7797 §6
 * (`b64` must be in `crit`); docs/validation.md step 2 ("a hint that names no known key is a failure").
 *
 * Every assertion below carries a GENUINE signature of the IdP: only the header check refuses it.
 */
import {
  attackTarget,
  b64json,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  signInput,
  type AttackTarget,
} from '../helpers/attack-kit';
import type { GrantFixture } from '../helpers/grant-fixture';

let fx: GrantFixture;
beforeAll(async () => {
  fx = await createAttackFixture();
});
afterAll(() => fx?.close());

/** The IdP's own RS256 signature over `header` (as given, plus alg) and valid claims. */
const idpSigned = (header: Record<string, unknown>) =>
  signInput(fx.key, `${b64json({ alg: 'RS256', typ: 'JWT', ...header })}.${b64json(goodClaims())}`);

const HOSTILE_KIDS: Array<[string, () => unknown]> = [
  ['path traversal to /etc/passwd', () => '../../../../../../etc/passwd'],
  ['path traversal, Windows style', () => '..\\..\\..\\windows\\win.ini'],
  ['/dev/null (the classic empty-HMAC-key trick)', () => '/dev/null'],
  ['a file: URL', () => 'file:///etc/passwd'],
  ['a URL (key fetch by kid)', () => 'http://127.0.0.1:9/key.pem'],
  ["SQL: ' OR '1'='1", () => "' OR '1'='1"],
  ['SQL: stacked DROP TABLE', () => "x'; DROP TABLE jwt_bearer_idp_certificates; --"],
  ['SQL: UNION SELECT', () => "' UNION SELECT pem FROM jwt_bearer_idp_certificates --"],
  ['SQL: comment', () => "jwt-idp-1'--"],
  ['LDAP filter', () => '*)(uid=*))(|(uid=*'],
  ['a NUL after the real kid', () => `${fx.key.kid}\u0000`],
  ['the real kid, NUL, then more', () => `${fx.key.kid}\u0000evil`],
  ['a lone surrogate', () => `${fx.key.kid}\ud800`],
  ['the real kid with a trailing space', () => `${fx.key.kid} `],
  ['the real kid in upper case', () => fx.key.kid.toUpperCase()],
  [
    'the real kid in full-width letters',
    () => [...fx.key.kid].map((c) => (/[a-z0-9]/i.test(c) ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c)).join(''),
  ],
  ['the real kid, percent-encoded', () => encodeURIComponent(fx.key.kid).replace(/-/g, '%2D')],
  ['a wildcard', () => '*'],
  ['a 4 KiB string', () => 'k'.repeat(4096)],
  ['a 10 KiB string', () => 'k'.repeat(10 * 1024)],
  ['a template/format string', () => '%s%s%s%n${jndi:ldap://127.0.0.1/x}'],
  ['"__proto__"', () => '__proto__'],
  ['"constructor"', () => 'constructor'],
  ['an empty string', () => ''],
  ['a number', () => 1],
  ['null', () => null],
  ['true', () => true],
  ['an array holding the real kid', () => [fx.key.kid]],
  ['an object', () => ({ kid: fx.key.kid })],
];

const HOSTILE_CRITS: Array<[string, Record<string, unknown>]> = [
  ['an unknown extension that is present', { crit: ['urn:example:unknown'], 'urn:example:unknown': true }],
  ['an unknown extension that is absent', { crit: ['urn:example:absent'] }],
  ['b64 (RFC 7797) with b64: false', { crit: ['b64'], b64: false }],
  ['b64 with b64: true', { crit: ['b64'], b64: true }],
  ['a registered name (exp)', { crit: ['exp'], exp: 1 }],
  ['a registered header name (alg)', { crit: ['alg'] }],
  ['an empty list', { crit: [] }],
  ['a string, not a list', { crit: 'urn:example:unknown' }],
  ['a list with an empty name', { crit: [''] }],
  ['a list with a number', { crit: [1] }],
  ['a list with a repeated name', { crit: ['x', 'x'], x: 1 }],
  ['null', { crit: null }],
  ['an object', { crit: { 'urn:example:unknown': true } }],
];

describe.each(HOSTS)('hostile header parameters on $name', (hut) => {
  let t: AttackTarget;
  beforeAll(() => {
    t = attackTarget(fx, hut);
  });

  describe('RFC 8725 §3.10, RFC 7515 §4.1.4: a kid that names no key of the IdP is refused, never looked up elsewhere', () => {
    it.each(HOSTILE_KIDS)('kid: %s', async (_name, kid) => {
      await t.refusedGrant(await idpSigned({ kid: kid() }), INVALID_GRANT('key_not_found'));
    });

    it.each([
      ['x5t: path traversal', { x5t: '../../etc/passwd' }],
      ['x5t#S256: SQL', { 'x5t#S256': "' OR '1'='1" }],
      ['x5t#S256: NUL after the real thumbprint', { 'x5t#S256': `${'A'.repeat(43)}\u0000` }],
      ['x5t: a number', { x5t: 7 }],
      ['x5t#S256: empty', { 'x5t#S256': '' }],
    ] as Array<[string, Record<string, unknown>]>)('%s', async (_name, header) => {
      await t.refusedGrant(await idpSigned(header), INVALID_GRANT('key_not_found'));
    });

    it('a kid over the assertion size limit is refused for size', async () => {
      await t.refusedGrant(await idpSigned({ kid: 'k'.repeat(20 * 1024) }), INVALID_GRANT('assertion_too_large'));
    });

    it('left the key tables as they were, and the IdP still works', async () => {
      const certificates = await fx.db.knex('jwt_bearer_idp_certificates').count({ n: '*' });
      expect(Number(certificates[0]!.n)).toBeGreaterThanOrEqual(1);
      const res = await t.grant(await idpSigned({ kid: fx.key.kid }));
      expect(res.status).toBe(200);
    });
  });

  describe('RFC 7515 §4.1.11, RFC 7797 §6: any crit is refused (no extension is implemented)', () => {
    it.each(HOSTILE_CRITS)('crit: %s', async (_name, header) => {
      await t.refusedGrant(await idpSigned(header), INVALID_GRANT('crit_unsupported'));
    });
  });
});
