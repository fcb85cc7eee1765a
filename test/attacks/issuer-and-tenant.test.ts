/**
 * Threat: confusing one trust domain with another. An assertion naming one IdP but signed by another
 * IdP's key; an IdP of the same name in another tenant; a client or IdP of another tenant; and
 * `tenantDomain` spelt so that one layer reads one tenant and another layer another.
 *
 * RFC 8725 §3.8 ("validate that the cryptographic keys used … belong to the issuer"), §2.7 (substitution
 * attacks), §3.9 (audience); RFC 7523 §3 items 1 and 3 (issuer and audience), item 9 (signed by the
 * issuer); RFC 6749 §2.3 and §5.2 (`invalid_client`); README.md (tenants scope IdPs and clients; no
 * parameter means `carbon.super`), §3 step 3 (another tenant's IdP answers as an unknown one), §4 (unknown
 * `tenantDomain` → 400 `invalid_request`).
 */
import request from 'supertest';
import {
  attackTarget,
  CLIENT,
  createAttackFixture,
  goodClaims,
  HOSTS,
  INVALID_GRANT,
  INVALID_REQUEST,
  ISSUER,
  TOKEN_URL,
  type AttackTarget,
  type Expected,
} from '../helpers/attack-kit';
import { grantForm, JWT_BEARER_GRANT_TYPE, type GrantFixture } from '../helpers/grant-fixture';
import { assertionClaims, makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';

const TENANT = 'example.com';
const TENANT_CLIENT = { id: 'tenant-client', secret: 'tenant-s3cret-value', tenant: TENANT, grants: [JWT_BEARER_GRANT_TYPE] };
const INVALID_CLIENT: Expected = { status: 401, error: 'invalid_client', reason: 'invalid_client' };
const TENANT_UNKNOWN = INVALID_REQUEST('tenant_unknown');

let fx: GrantFixture;
let otherKey: TestSigningKey;
let tenantKey: TestSigningKey;
let orgKey: TestSigningKey;

beforeAll(async () => {
  fx = await createAttackFixture();
  [otherKey, tenantKey, orgKey] = await Promise.all([
    makeSigningKey('ES256', { kid: 'other-1' }),
    makeSigningKey('ES256', { kid: 'tenant-1' }),
    makeSigningKey('ES256', { kid: 'org-1' }),
  ]);
  await fx.addIdp({
    name: 'otherIDP',
    certificates: [{ pem: otherKey.certificatePem, kid: otherKey.kid }],
    aliases: ['https://other.example/token'],
  });
  // The same IdP name as the default tenant's, in another tenant, with its own key.
  await fx.addIdp({
    tenant: TENANT,
    name: ISSUER,
    certificates: [{ pem: tenantKey.certificatePem, kid: tenantKey.kid }],
    aliases: [TOKEN_URL],
  });
  await fx.addIdp({
    tenant: 'example.org',
    name: 'orgIDP',
    certificates: [{ pem: orgKey.certificatePem, kid: orgKey.kid }],
    aliases: [TOKEN_URL],
  });
});
afterAll(() => fx?.close());

describe.each(HOSTS)('issuer and tenant confusion on $name', (hut) => {
  let t: AttackTarget;
  const tenantAuth = (req: request.Test) => req.auth(TENANT_CLIENT.id, TENANT_CLIENT.secret);
  /** A grant request as the tenant's client, with a raw query string. */
  const asTenantClient = (assertion: string, query: string) =>
    tenantAuth(
      request(t.app)
        .post(`/oauth2/token${query}`)
        .type('form')
        .send(new URLSearchParams(grantForm(assertion)).toString()),
    );
  const tenantAssertion = () =>
    signAssertion(tenantKey, assertionClaims({ iss: ISSUER, aud: TOKEN_URL, sub: 'tenant-user' }), { kid: tenantKey.kid });

  beforeAll(() => {
    t = attackTarget(fx, hut, { clients: [CLIENT, TENANT_CLIENT] });
  });

  describe("RFC 8725 §3.8, RFC 7523 §3 item 9: an issuer signed by another IdP's key", () => {
    it("otherIDP's key, no key hint", async () => {
      await t.refusedGrant(await signAssertion(otherKey, goodClaims()), INVALID_GRANT('no_usable_key'));
    });
    it("otherIDP's key named by its kid", async () => {
      await t.refusedGrant(await signAssertion(otherKey, goodClaims(), { kid: otherKey.kid }), INVALID_GRANT('key_not_found'));
    });
    it("otherIDP's key under jwtIDP's kid", async () => {
      await t.refusedGrant(await signAssertion(otherKey, goodClaims(), { kid: fx.key.kid }), INVALID_GRANT('no_usable_key'));
    });
    it("otherIDP's key with x5t#S256 of its own certificate", async () => {
      await t.refusedGrant(
        await signAssertion(otherKey, goodClaims(), { 'x5t#S256': otherKey.thumbprint }),
        INVALID_GRANT('key_not_found'),
      );
    });
    it("a genuine otherIDP assertion addressed to jwtIDP's alias (RFC 8725 §3.9)", async () => {
      await t.refusedGrant(
        await signAssertion(otherKey, assertionClaims({ iss: 'otherIDP', aud: TOKEN_URL, sub: 'a' })),
        INVALID_GRANT('audience_mismatch'),
      );
    });
    it("the same-named IdP of another tenant's key, sent to the default tenant", async () => {
      await t.refusedGrant(await tenantAssertion(), INVALID_GRANT('key_not_found'));
    });
    it("the same-named IdP of another tenant's key without kid, sent to the default tenant", async () => {
      await t.refusedGrant(await signAssertion(tenantKey, goodClaims()), INVALID_GRANT('no_usable_key'));
    });
  });

  describe('README.md, §3 step 3: IdPs and clients of another tenant do not exist here', () => {
    it("the default tenant's assertion, sent to the tenant by the tenant's client", async () => {
      await t.refused(async () => asTenantClient(await fx.assertion(), `?tenantDomain=${TENANT}`), INVALID_GRANT('no_usable_key'));
    });
    it('an IdP of example.org, sent to example.com', async () => {
      const assertion = await signAssertion(orgKey, assertionClaims({ iss: 'orgIDP', aud: TOKEN_URL, sub: 'a' }), { kid: orgKey.kid });
      const res = await t.refused(() => asTenantClient(assertion, `?tenantDomain=${TENANT}`), INVALID_GRANT('issuer_unknown'), [assertion]);
      const unknown = await asTenantClient(
        await signAssertion(orgKey, assertionClaims({ iss: 'nobodyIDP', aud: TOKEN_URL, sub: 'a' })),
        `?tenantDomain=${TENANT}`,
      );
      expect(res.body).toEqual(unknown.body);
    });
    it('an IdP of example.org, sent to the default tenant', async () => {
      await t.refusedGrant(
        await signAssertion(orgKey, assertionClaims({ iss: 'orgIDP', aud: TOKEN_URL, sub: 'a' })),
        INVALID_GRANT('issuer_unknown'),
      );
    });
    it("the default tenant's client, sent to the tenant", async () => {
      await t.refusedGrant(await tenantAssertion(), INVALID_CLIENT, {}, `?tenantDomain=${TENANT}`);
    });
    it("the tenant's client, sent to the default tenant", async () => {
      await t.refused(async () => asTenantClient(await tenantAssertion(), ''), INVALID_CLIENT, [TENANT_CLIENT.secret]);
    });
    it("the tenant's client in the body, sent to the default tenant", async () => {
      const assertion = await tenantAssertion();
      await t.refused(
        () =>
          request(t.app)
            .post('/oauth2/token')
            .type('form')
            .send(
              new URLSearchParams({ ...grantForm(assertion), client_id: TENANT_CLIENT.id, client_secret: TENANT_CLIENT.secret }).toString(),
            ),
        { status: 400, error: 'invalid_client', reason: 'invalid_client' }, // docs/http.md: bad credentials in the body → 400 or 401; both hosts say 400
        [assertion, TENANT_CLIENT.secret],
      );
    });
    it('control: the tenant client, the tenant IdP and ?tenantDomain= together get a token', async () => {
      expect((await asTenantClient(await tenantAssertion(), `?tenantDomain=${TENANT}`)).status).toBe(200);
    });
  });

  describe('docs/http.md: tenantDomain spelt oddly never reaches another tenant', () => {
    const cases: Array<[string, string, Expected]> = [
      ['upper case', '?tenantDomain=EXAMPLE.COM', TENANT_UNKNOWN],
      ['a trailing dot', '?tenantDomain=example.com.', TENANT_UNKNOWN],
      ['a leading space', '?tenantDomain=%20example.com', TENANT_UNKNOWN],
      ['a plus for a space', '?tenantDomain=example.com+', TENANT_UNKNOWN],
      ['a trailing NUL', '?tenantDomain=example.com%00', TENANT_UNKNOWN],
      ['a CRLF and a header', '?tenantDomain=example.com%0d%0aX-Injected:%201', TENANT_UNKNOWN],
      ['a Cyrillic а', '?tenantDomain=ex%D0%B0mple.com', TENANT_UNKNOWN],
      ['full-width letters', `?tenantDomain=${encodeURIComponent('ｅｘａｍｐｌｅ.com')}`, TENANT_UNKNOWN],
      ['an IDNA (punycode) spelling', '?tenantDomain=xn--exmple-cua.com', TENANT_UNKNOWN],
      ['a broken percent-escape', '?tenantDomain=example.com%', TENANT_UNKNOWN],
      ['a lone surrogate, percent-encoded', '?tenantDomain=example.com%ED%A0%80', TENANT_UNKNOWN],
      ['SQL', `?tenantDomain=${encodeURIComponent("example.com' OR '1'='1")}`, TENANT_UNKNOWN],
      ['a LIKE pattern', '?tenantDomain=example.%25', TENANT_UNKNOWN],
      ['a path', '?tenantDomain=../carbon.super', TENANT_UNKNOWN],
      ['an empty value', '?tenantDomain=', TENANT_UNKNOWN],
      ['4 KiB long', `?tenantDomain=${'a'.repeat(4096)}`, TENANT_UNKNOWN],
      ['given twice, the same', `?tenantDomain=${TENANT}&tenantDomain=${TENANT}`, INVALID_REQUEST('parameter_repeated')],
      ['given twice, tenant then default', `?tenantDomain=${TENANT}&tenantDomain=carbon.super`, INVALID_REQUEST('parameter_repeated')],
      // Not `tenantDomain` at all: the default tenant, where the tenant's client does not exist.
      ['spelt TenantDomain', `?TenantDomain=${TENANT}`, INVALID_CLIENT],
      ['spelt tenantdomain', `?tenantdomain=${TENANT}`, INVALID_CLIENT],
      ['after a #fragment', `?#tenantDomain=${TENANT}`, INVALID_CLIENT],
    ];
    it.each(cases)('%s', async (_name, query, expected) => {
      const assertion = await tenantAssertion();
      const res = await t.refused(() => asTenantClient(assertion, query), expected, [assertion, TENANT_CLIENT.secret]);
      expect(res.headers['x-injected']).toBeUndefined();
      expect(t.outcomes.at(-1)?.tenant ?? 'carbon.super').not.toBe(TENANT);
    });

    it('tenantDomain[]=… (an array to qs, an unknown name to the simple parser)', async () => {
      const assertion = await tenantAssertion();
      // Express 4's qs parser makes an array (a repeated parameter); Express 5's simple parser a
      // parameter named "tenantDomain[]" (so the default tenant). Either way: never the tenant.
      const expected = hut.name.includes('Express 4') ? INVALID_REQUEST('parameter_repeated') : INVALID_CLIENT;
      await t.refused(() => asTenantClient(assertion, `?tenantDomain[]=${TENANT}`), expected, [assertion]);
    });

    it('tenantDomain[x]=… (an object to qs)', async () => {
      const assertion = await tenantAssertion();
      const expected = hut.name.includes('Express 4') ? TENANT_UNKNOWN : INVALID_CLIENT;
      await t.refused(() => asTenantClient(assertion, `?tenantDomain[x]=${TENANT}`), expected, [assertion]);
    });

    it('tenantDomain in the form body is not a tenant (only the query is)', async () => {
      const assertion = await tenantAssertion();
      await t.refused(
        () =>
          tenantAuth(
            request(t.app)
              .post('/oauth2/token')
              .type('form')
              .send(new URLSearchParams({ ...grantForm(assertion), tenantDomain: TENANT }).toString()),
          ),
        INVALID_CLIENT,
        [assertion],
      );
    });
  });
});
