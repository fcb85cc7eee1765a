/**
 * Every rule of the grant's check order broken on purpose, through real HTTP on both host lines: the
 * exact status, OAuth error and reason code (the one outcome the endpoint reports for the request), no
 * token in the answer, and no audit row written.
 */
import { createHmac } from 'node:crypto';
import request from 'supertest';
import { exportJWK } from 'jose';
import type { OutcomeReason } from '../../lib/errors';
import type { TokenOutcome } from '../../lib/http/token-endpoint';
import { CLIENT, HOSTS } from '../helpers/host-app';
import {
  createGrantFixture,
  expectRefused,
  grantForm,
  ISSUER,
  postRaw,
  postToken,
  TOKEN_URL,
  type GrantFixture,
} from '../helpers/grant-fixture';
import { assertionClaims, makeSigningKey, rawJws, signAssertion, type TestSigningKey } from '../helpers/keys';

const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(HOSTS)('refusals on $name', (hut) => {
  let fx: GrantFixture;
  let app: ReturnType<GrantFixture['app']>['app'];
  let outcomes: TokenOutcome[];
  let attacker: TestSigningKey;
  let otherIdpKey: TestSigningKey;

  beforeAll(async () => {
    fx = await createGrantFixture(hut);
    ({ app, outcomes } = fx.app());
    attacker = await makeSigningKey('RS256', { kid: 'attacker' });
    otherIdpKey = await makeSigningKey('RS256', { kid: 'other' });
    await fx.addIdp({
      name: 'otherIDP',
      certificates: [{ pem: otherIdpKey.certificatePem, kid: otherIdpKey.kid }],
      aliases: ['https://other.example/token'],
    });
  });
  afterAll(() => fx.close());

  /**
   * Sends a request and checks the refusal: status and OAuth error in the answer, and exactly one
   * outcome reported for it, with the same status and error and the expected reason code.
   */
  async function expectReason(
    send: () => Promise<request.Response>,
    status: number,
    error: string,
    reason: OutcomeReason,
    seen: TokenOutcome[] = outcomes,
  ): Promise<request.Response> {
    const before = seen.length;
    const res = await send();
    expectRefused(res, status, error);
    expect(seen.length - before).toBe(1);
    expect(seen[seen.length - 1]).toMatchObject({ outcome: 'refused', status, error, reason });
    return res;
  }

  /** Posts the form and checks the refusal, with its reason, left no trace. */
  async function refused(form: Record<string, string>, status: number, error: string, reason: OutcomeReason) {
    const before = await fx.issuedCount();
    const res = await expectReason(() => postToken(app, form), status, error, reason);
    expect(await fx.issuedCount()).toBe(before);
    return res;
  }
  /** A grant refused with 400 `invalid_grant` and `reason`. */
  const grantRefused = async (assertion: string, reason: OutcomeReason) => refused(grantForm(assertion), 400, 'invalid_grant', reason);

  describe('step 1: the request', () => {
    it('refuses a missing assertion', () =>
      refused({ grant_type: grantForm('x').grant_type }, 400, 'invalid_request', 'assertion_missing'));
    it('refuses an empty assertion', () => refused(grantForm(''), 400, 'invalid_request', 'assertion_missing'));
    it('refuses a repeated assertion', async () => {
      const a = await fx.assertion();
      await expectReason(
        () => postRaw(app, `grant_type=${encodeURIComponent(grantForm(a).grant_type)}&assertion=${a}&assertion=${a}`),
        400,
        'invalid_request',
        'parameter_repeated',
      );
    });
    it('refuses a repeated grant_type', async () => {
      const a = await fx.assertion();
      const urn = encodeURIComponent(grantForm(a).grant_type);
      await expectReason(
        () => postRaw(app, `grant_type=${urn}&grant_type=${urn}&assertion=${a}`),
        400,
        'invalid_request',
        'parameter_repeated',
      );
    });
    it('refuses an assertion over 16 KiB', async () =>
      grantRefused(await fx.assertion({ padding: 'x'.repeat(17 * 1024) }), 'assertion_too_large'));
    it('refuses what is not three segments', () => grantRefused('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0', 'assertion_malformed'));
    it('refuses a header that is not JSON', () =>
      grantRefused(`${Buffer.from('{not json').toString('base64url')}.${b64url({ iss: ISSUER })}.c2ln`, 'assertion_malformed'));
  });

  describe('the endpoint, before the grant runs', () => {
    const post = () => request(app).post('/oauth2/token').auth(CLIENT.id, CLIENT.secret);
    it('refuses a JSON body', async () => {
      const a = await fx.assertion();
      await expectReason(() => post().type('json').send(grantForm(a)), 400, 'invalid_request', 'content_type_invalid');
    });
    it('refuses a body over 64 KiB', async () => {
      const a = await fx.assertion();
      await expectReason(() => postToken(app, grantForm(a, { pad: 'x'.repeat(65 * 1024) })), 413, 'invalid_request', 'body_too_large');
    });
    it('refuses two client authentication methods', async () => {
      const a = await fx.assertion();
      await expectReason(
        () => postToken(app, grantForm(a, { client_id: CLIENT.id, client_secret: CLIENT.secret })),
        400,
        'invalid_request',
        'client_auth_multiple',
      );
    });
    it('refuses an unknown tenant', async () => {
      const a = await fx.assertion();
      await expectReason(
        () => postToken(app, grantForm(a), { query: '?tenantDomain=nowhere.example' }),
        400,
        'invalid_request',
        'tenant_unknown',
      );
    });
    it('refuses a client over its failure limit', async () => {
      const limited = fx.app({ endpoint: { failureLimit: { perClient: { max: 1, windowSeconds: 60 } } } });
      const bad = await fx.assertion({ iss: 'nobody' });
      await expectReason(() => postToken(limited.app, grantForm(bad)), 400, 'invalid_grant', 'issuer_unknown', limited.outcomes);
      const res = await expectReason(
        () => postToken(limited.app, grantForm(bad)),
        429,
        'temporarily_unavailable',
        'rate_limited',
        limited.outcomes,
      );
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    });
  });

  describe('step 2: the header', () => {
    it('refuses alg none', () =>
      grantRefused(
        rawJws({ alg: 'none', typ: 'JWT' }, assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'admin' }), ''),
        'alg_not_allowed',
      ));
    it('refuses alg nOnE', () =>
      grantRefused(rawJws({ alg: 'nOnE' }, assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'admin' }), ''), 'alg_not_allowed'));
    it('refuses HS256 keyed with the IdP certificate (alg confusion)', async () => {
      const header = b64url({ alg: 'HS256', typ: 'JWT' });
      const payload = b64url(assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'admin' }));
      const mac = createHmac('sha256', fx.key.certificatePem).update(`${header}.${payload}`).digest('base64url');
      await grantRefused(`${header}.${payload}.${mac}`, 'alg_not_allowed');
    });
    it('refuses an alg outside the IdP allow-list', async () => {
      const key = await makeSigningKey('PS256');
      await fx.addIdp({ name: 'rs-only', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL], algorithms: ['RS256'] });
      await grantRefused(await signAssertion(key, assertionClaims({ iss: 'rs-only', aud: TOKEN_URL, sub: 'a' })), 'alg_not_allowed');
    });
    it('never uses a key carried in the jwk header', async () => {
      const jwk = await exportJWK(attacker.publicKey as any);
      await grantRefused(await fx.assertion({}, { jwk }, attacker), 'signature_invalid');
    });
    it('never fetches or uses jku / x5u', async () => {
      await grantRefused(await fx.assertion({}, { jku: 'http://127.0.0.1:9/jwks.json' }, attacker), 'signature_invalid');
      await grantRefused(await fx.assertion({}, { x5u: 'http://127.0.0.1:9/cert.pem' }, attacker), 'signature_invalid');
    });
    it('never uses a certificate carried in x5c', async () => {
      const der = attacker.certificatePem.replace(/-----[^-]+-----|\s/g, '');
      await grantRefused(await fx.assertion({}, { x5c: [der] }, attacker), 'signature_invalid');
    });
    it('refuses a kid that names no key of the IdP', async () => grantRefused(await fx.assertion({}, { kid: 'nope' }), 'key_not_found'));
    it('refuses an unknown crit extension', async () =>
      grantRefused(await fx.assertion({}, { crit: ['urn:example:ext'], 'urn:example:ext': true }), 'crit_unsupported'));
    it('refuses an access token (typ at+jwt, RFC 9068 §2.1) signed by the IdP and addressed to us', async () =>
      grantRefused(await fx.assertion({}, { typ: 'at+jwt' }), 'token_type_not_allowed'));
    it('refuses typ application/AT+JWT (media types compare case-insensitively)', async () =>
      grantRefused(await fx.assertion({}, { typ: 'application/AT+JWT' }), 'token_type_not_allowed'));
    it('refuses a workload identity token (typ wit+jwt)', async () =>
      grantRefused(await fx.assertion({}, { typ: 'application/wit+jwt' }), 'token_type_not_allowed'));
    it('refuses typ at+jwt before looking the issuer up (an unknown issuer gets the same reason)', async () =>
      grantRefused(await fx.assertion({ iss: 'nobody' }, { typ: 'at+jwt' }), 'token_type_not_allowed'));
    it('never verifies ES256 with the RSA key', async () => {
      const ec = await makeSigningKey('ES256');
      await grantRefused(
        await signAssertion(ec, assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'admin' }), { kid: fx.key.kid }),
        'no_usable_key',
      );
    });
  });

  describe('step 3: the issuer', () => {
    it('refuses an unknown issuer', async () => grantRefused(await fx.assertion({ iss: 'nobody' }), 'issuer_unknown'));
    it('refuses an issuer that differs only in case', async () => grantRefused(await fx.assertion({ iss: 'JWTIDP' }), 'issuer_unknown'));
    it('refuses a disabled issuer, with the same answer as an unknown one', async () => {
      const key = await makeSigningKey('RS256');
      await fx.addIdp({ name: 'disabled', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL], enabled: false });
      const res = await grantRefused(
        await signAssertion(key, assertionClaims({ iss: 'disabled', aud: TOKEN_URL, sub: 'a' })),
        'issuer_unknown',
      );
      const unknown = await postToken(app, grantForm(await fx.assertion({ iss: 'nobody' })));
      expect(res.body).toEqual(unknown.body);
    });
    it("refuses another tenant's issuer", async () => {
      const key = await makeSigningKey('RS256');
      await fx.addIdp({ tenant: 'example.com', name: 'tenantIDP', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL] });
      await grantRefused(await signAssertion(key, assertionClaims({ iss: 'tenantIDP', aud: TOKEN_URL, sub: 'a' })), 'issuer_unknown');
    });
  });

  describe('step 4: the signature', () => {
    it("refuses our issuer signed with another IdP's key", async () =>
      grantRefused(await fx.assertion({}, {}, otherIdpKey), 'signature_invalid'));
    it('refuses an altered payload', async () => {
      const [h, , s] = (await fx.assertion()).split('.');
      await grantRefused(`${h}.${b64url(assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'root' }))}.${s}`, 'signature_invalid');
    });
    it('refuses a key whose certificate has expired', async () => {
      const key = await makeSigningKey('RS256', {
        notBefore: new Date(Date.now() - 2 * 86400e3),
        notAfter: new Date(Date.now() - 86400e3),
      });
      await fx.addIdp({ name: 'expired-cert', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL] });
      await grantRefused(await signAssertion(key, assertionClaims({ iss: 'expired-cert', aud: TOKEN_URL, sub: 'a' })), 'no_usable_key');
    });
    it('refuses a key whose certificate is not yet valid', async () => {
      const key = await makeSigningKey('RS256', {
        notBefore: new Date(Date.now() + 86400e3),
        notAfter: new Date(Date.now() + 2 * 86400e3),
      });
      await fx.addIdp({ name: 'future-cert', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL] });
      await grantRefused(await signAssertion(key, assertionClaims({ iss: 'future-cert', aud: TOKEN_URL, sub: 'a' })), 'no_usable_key');
    });
    it('still accepts the new certificate listed beside an expired old one', async () => {
      const old = await makeSigningKey('RS256', {
        notBefore: new Date(Date.now() - 2 * 86400e3),
        notAfter: new Date(Date.now() - 86400e3),
      });
      const fresh = await makeSigningKey('RS256');
      await fx.addIdp({
        name: 'rotated',
        certificates: [{ pem: old.certificatePem }, { pem: fresh.certificatePem }],
        aliases: [TOKEN_URL],
      });
      const res = await postToken(
        app,
        grantForm(await signAssertion(fresh, assertionClaims({ iss: 'rotated', aud: TOKEN_URL, sub: 'a' }))),
      );
      expect(res.status).toBe(200);
    });
  });

  describe('step 5: the claims', () => {
    it('refuses a missing sub', async () => grantRefused(await fx.assertion({ sub: undefined }), 'subject_invalid'));
    it('refuses an empty sub', async () => grantRefused(await fx.assertion({ sub: '' }), 'subject_invalid'));
    it('refuses a numeric sub', async () => grantRefused(await fx.assertion({ sub: 42 }), 'subject_invalid'));
    it('refuses the audience of another IdP', async () =>
      grantRefused(await fx.assertion({ aud: 'https://other.example/token' }), 'audience_mismatch'));
    it('refuses a missing aud', async () => grantRefused(await fx.assertion({ aud: undefined }), 'audience_mismatch'));
    it('refuses an aud that differs by a trailing slash', async () =>
      grantRefused(await fx.assertion({ aud: `${TOKEN_URL}/` }), 'audience_mismatch'));
    it('accepts an aud array with other values beside an alias', async () => {
      const res = await postToken(app, grantForm(await fx.assertion({ aud: ['https://elsewhere', 'wso2-IS'] })));
      expect(res.status).toBe(200);
    });
    it('refuses a missing exp', async () => grantRefused(await fx.assertion({ exp: undefined }), 'exp_missing'));
    it('refuses a string exp', async () => grantRefused(await fx.assertion({ exp: String(now() + 300) }), 'exp_missing'));
    it('refuses an exp past the clock skew', async () =>
      grantRefused(await fx.assertion({ exp: now() - 120, iat: now() - 600 }), 'assertion_expired'));
    it('accepts an exp just past, within the clock skew', async () => {
      const res = await postToken(app, grantForm(await fx.assertion({ exp: now() - 30, iat: now() - 600 })));
      expect(res.status).toBe(200);
    });
    it('refuses an exp beyond the max assertion lifetime', async () =>
      grantRefused(await fx.assertion({ exp: now() + 25 * 3600 }), 'exp_too_far'));
    it('refuses an nbf in the future', async () => grantRefused(await fx.assertion({ nbf: now() + 300 }), 'assertion_not_yet_valid'));
    it('refuses an iat in the future', async () => grantRefused(await fx.assertion({ iat: now() + 300 }), 'iat_in_future'));
    it('refuses an iat older than the IdP iat max age', async () => {
      const key = await makeSigningKey('ES256');
      await fx.addIdp({ name: 'fresh-only', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL], iatMaxAgeSeconds: 300 });
      await grantRefused(
        await signAssertion(key, assertionClaims({ iss: 'fresh-only', aud: TOKEN_URL, sub: 'a', iat: now() - 900 })),
        'iat_too_old',
      );
    });
    it('refuses a missing jti where the IdP requires one', async () => grantRefused(await fx.assertion({ jti: undefined }), 'jti_missing'));
    it('refuses a jti over 256 characters', async () => grantRefused(await fx.assertion({ jti: 'j'.repeat(257) }), 'jti_invalid'));
    it('refuses a key-bound assertion (a cnf claim, RFC 7800 §3.1): proof of possession is not checked here', async () =>
      grantRefused(await fx.assertion({ cnf: { jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' } }), 'confirmation_unsupported'));
    it('refuses a cnf claim only after the signature: signed by someone else it is signature_invalid', async () =>
      grantRefused(await fx.assertion({ cnf: { jkt: 'x' } }, { kid: fx.key.kid }, attacker), 'signature_invalid'));
  });

  describe('step 6: subject and client', () => {
    it('refuses a subject outside the allowed subjects', async () => {
      const key = await makeSigningKey('RS256');
      await fx.addIdp({ name: 'subjects', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL], allowedSubjects: ['alice'] });
      await grantRefused(
        await signAssertion(key, assertionClaims({ iss: 'subjects', aud: TOKEN_URL, sub: 'mallory' })),
        'subject_not_allowed',
      );
    });
    it('refuses a client outside the allowed clients', async () => {
      const key = await makeSigningKey('RS256');
      await fx.addIdp({
        name: 'clients',
        certificates: [{ pem: key.certificatePem }],
        aliases: [TOKEN_URL],
        allowedClients: ['someone-else'],
      });
      await grantRefused(await signAssertion(key, assertionClaims({ iss: 'clients', aud: TOKEN_URL, sub: 'a' })), 'client_not_allowed');
    });
  });

  describe('step 7: scope', () => {
    it('refuses a scope outside the IdP allowed scopes', async () => {
      const key = await makeSigningKey('RS256');
      await fx.addIdp({ name: 'scoped', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL], allowedScopes: ['read'] });
      const assertion = await signAssertion(key, assertionClaims({ iss: 'scoped', aud: TOKEN_URL, sub: 'a' }));
      await refused(grantForm(assertion, { scope: 'read admin' }), 400, 'invalid_scope', 'scope_not_allowed');
    });
    it("refuses a scope outside the client's scopes", async () => {
      const scoped = fx.app({
        clients: [{ id: 'client-1', secret: 's3cret', tenant: 'carbon.super', grants: [grantForm('').grant_type], scopes: ['read'] }],
      });
      const assertion = await fx.assertion();
      await expectReason(
        () => postToken(scoped.app, grantForm(assertion, { scope: 'write' })),
        400,
        'invalid_scope',
        'scope_not_allowed',
        scoped.outcomes,
      );
    });
    it("refuses what the host model's validateScope refuses", async () => {
      // The grant asks the model and names the refusal as its own policy's.
      const strict = fx.app({ validateScope: () => false });
      const assertion = await fx.assertion();
      await expectReason(
        () => postToken(strict.app, grantForm(assertion, { scope: 'read' })),
        400,
        'invalid_scope',
        'scope_not_allowed',
        strict.outcomes,
      );
    });
    it('refuses a malformed scope', async () =>
      refused(grantForm(await fx.assertion(), { scope: 'bad"scope' }), 400, 'invalid_scope', 'scope_invalid'));
  });

  describe('step 9: replay', () => {
    it('refuses a second use of the same assertion', async () => {
      const assertion = await fx.assertion();
      expect((await postToken(app, grantForm(assertion))).status).toBe(200);
      await grantRefused(assertion, 'jti_replayed');
    });
    it('refuses a new assertion reusing a live jti', async () => {
      expect((await postToken(app, grantForm(await fx.assertion({ jti: 'reused' })))).status).toBe(200);
      await grantRefused(await fx.assertion({ jti: 'reused', sub: 'other' }), 'jti_replayed');
    });
    it('keeps jti namespaces per IdP', async () => {
      expect((await postToken(app, grantForm(await fx.assertion({ jti: '1' })))).status).toBe(200);
      const key = await makeSigningKey('RS256');
      await fx.addIdp({ name: 'second', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL] });
      const res = await postToken(
        app,
        grantForm(await signAssertion(key, assertionClaims({ iss: 'second', aud: TOKEN_URL, sub: 'a', jti: '1' }))),
      );
      expect(res.status).toBe(200);
    });
    it('does not let a refused request burn a genuine jti', async () => {
      await grantRefused(await fx.assertion({ jti: 'precious' }, {}, attacker), 'signature_invalid');
      await grantRefused(await fx.assertion({ jti: 'precious', aud: 'https://other.example/token' }), 'audience_mismatch');
      expect(await fx.db.knex('jwt_bearer_used_assertions').where({ jti: 'precious' })).toHaveLength(0);
      const res = await postToken(app, grantForm(await fx.assertion({ jti: 'precious' })));
      expect(res.status).toBe(200);
    });
    it('allows a jti again once the earlier assertion has expired', async () => {
      await fx.db.knex('jwt_bearer_used_assertions').insert({
        tenant_id: (await fx.db.knex('jwt_bearer_identity_providers').where({ id: fx.idpId }).first('tenant_id')).tenant_id,
        idp_name: ISSUER,
        jti: 'old',
        expires_at: new Date(Date.now() - 1000),
      });
      const res = await postToken(app, grantForm(await fx.assertion({ jti: 'old' })));
      expect(res.status).toBe(200);
    });
    it('uses the assertion itself as the replay key where jti is optional and absent', async () => {
      const key = await makeSigningKey('ES256');
      await fx.addIdp({ name: 'no-jti', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL], requireJti: false });
      const assertion = await signAssertion(key, assertionClaims({ iss: 'no-jti', aud: TOKEN_URL, sub: 'a', jti: undefined }));
      expect((await postToken(app, grantForm(assertion))).status).toBe(200);
      await grantRefused(assertion, 'jti_replayed');
    });
  });
});
