/** lib/admin/README.md: an IdP's certificates and aliases as sub-resources. */
import { reissueCertificate, sharedSigningKey, type TestSigningKey } from '../helpers/keys';
import { createAdminFixture, inTenant, UNKNOWN_UUID, type AdminFixture } from './support';

let fx: AdminFixture;
let key: TestSigningKey;
let idp: { id: string; updatedAt: string; certificates: Array<{ id: string; thumbprint: string }> };
let names = 0;

beforeAll(async () => {
  fx = await createAdminFixture();
  key = await sharedSigningKey('ES256');
  await fx.admin('post', '/tenants').send({ domain: 'example.com' });
});
afterAll(() => fx?.close());
afterEach(() => expect(fx.errors).toEqual([]));

beforeEach(async () => {
  const res = await fx
    .admin('post', '/identity-providers')
    .send({ name: `idp-${++names}`, certificates: [key.certificatePem], aliases: ['https://localhost:9443/oauth2/token'] });
  expect(res.status).toBe(201);
  idp = res.body;
});

const get = async () => (await fx.admin('get', `/identity-providers/${idp.id}`)).body;

describe('POST /identity-providers/:id/certificates', () => {
  it('adds a certificate (201) with its window and kid, and bumps the IdP’s updatedAt', async () => {
    const next = await reissueCertificate(key, {
      notBefore: new Date(Date.now() + 7 * 86400_000),
      notAfter: new Date(Date.now() + 400 * 86400_000),
    });
    const res = await fx.admin('post', `/identity-providers/${idp.id}/certificates`).send({ pem: next.certificatePem, kid: 'next-key' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      thumbprint: next.thumbprint,
      subject: expect.any(String),
      notBefore: next.notBefore.toISOString(),
      notAfter: next.notAfter.toISOString(),
      kid: 'next-key',
      currentlyValid: false, // pre-loaded successor: stored, not used yet
    });
    const after = await get();
    expect(after.certificates.map((c: { thumbprint: string }) => c.thumbprint)).toEqual([key.thumbprint, next.thumbprint]);
    expect(after.certificates[1].pem).toContain('-----BEGIN CERTIFICATE-----');
    expect(Date.parse(after.updatedAt)).toBeGreaterThan(Date.parse(idp.updatedAt));
  });

  it('stores an expired certificate too, marked not currently valid', async () => {
    const old = await reissueCertificate(key, { notBefore: new Date('2019-01-01T00:00:00Z'), notAfter: new Date('2020-01-01T00:00:00Z') });
    const res = await fx.admin('post', `/identity-providers/${idp.id}/certificates`).send({ pem: old.certificatePem });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ notAfter: '2020-01-01T00:00:00.000Z', currentlyValid: false, kid: null });
  });

  it('takes the bare base64 of the DER too (what `base64 wso2.crt` prints for keytool’s default output)', async () => {
    const next = await reissueCertificate(key);
    const der = next.certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    const res = await fx.admin('post', `/identity-providers/${idp.id}/certificates`).send({ pem: der });
    expect(res.status).toBe(201);
    expect(res.body.thumbprint).toBe(next.thumbprint);
  });

  it('answers 409 for a certificate the IdP already has (same thumbprint, however the PEM is wrapped)', async () => {
    const rewrapped = key.certificatePem.replace(/\n/g, '\r\n');
    const res = await fx.admin('post', `/identity-providers/${idp.id}/certificates`).send({ pem: rewrapped });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'conflict' });
    expect(res.body.error_description).toContain(key.thumbprint);
    expect((await get()).certificates).toHaveLength(1);
  });

  it('lets two IdPs hold the same certificate', async () => {
    const other = await fx.admin('post', '/identity-providers').send({ name: `other-${names}`, certificates: [key.certificatePem] });
    expect(other.status).toBe(201);
  });

  it.each([
    [{ pem: 'garbage' }, 'pem', /pem is not a valid X\.509 certificate/],
    [{ pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }, 'pem', /could not be parsed as X\.509/],
    [{}, 'pem', /pem must be a string/],
    [{ pem: 42 }, 'pem', /pem must be a string/],
    [{ pem: 'x', kid: '' }, 'kid', /kid must not be empty/],
    [{ pem: 'x', thumbprint: 'y' }, 'thumbprint', /Unknown field "thumbprint"/],
  ])('refuses %j with 400 naming the field', async (body, field, message) => {
    const res = await fx.admin('post', `/identity-providers/${idp.id}/certificates`).send(body);
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.error_description).toMatch(message);
  });

  it('answers 404 for an unknown IdP', async () => {
    for (const id of [UNKNOWN_UUID, 'xyz']) {
      const res = await fx.admin('post', `/identity-providers/${id}/certificates`).send({ pem: key.certificatePem });
      expect(res.status).toBe(404);
    }
  });
});

describe('DELETE /identity-providers/:id/certificates/:certId', () => {
  it('removes the certificate (204), then 404', async () => {
    const certId = idp.certificates[0]!.id;
    const res = await fx.admin('delete', `/identity-providers/${idp.id}/certificates/${certId}`);
    expect(res.status).toBe(204);
    expect((await get()).certificates).toEqual([]);
    const again = await fx.admin('delete', `/identity-providers/${idp.id}/certificates/${certId}`);
    expect(again.status).toBe(404);
    expect(again.body.error_description).toMatch(/no certificate with this id/);
  });

  it('answers 404 for a certificate of another IdP, an unknown or a malformed id', async () => {
    const other = await fx.admin('post', '/identity-providers').send({ name: `other-${names}`, certificates: [key.certificatePem] });
    for (const path of [
      `/identity-providers/${idp.id}/certificates/${other.body.certificates[0].id}`,
      `/identity-providers/${idp.id}/certificates/${UNKNOWN_UUID}`,
      `/identity-providers/${idp.id}/certificates/not-a-uuid`,
      `/identity-providers/${UNKNOWN_UUID}/certificates/${idp.certificates[0]!.id}`,
    ]) {
      expect((await fx.admin('delete', path)).status).toBe(404);
    }
    expect((await get()).certificates).toHaveLength(1);
    expect((await fx.admin('get', `/identity-providers/${other.body.id}`)).body.certificates).toHaveLength(1);
  });
});

describe('aliases', () => {
  it('adds an alias (201), lists it in order, and 409s a second time', async () => {
    const res = await fx.admin('post', `/identity-providers/${idp.id}/aliases`).send({ alias: 'wso2-IS' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ alias: 'wso2-IS', createdAt: expect.any(String) });
    expect((await get()).aliases).toEqual(['https://localhost:9443/oauth2/token', 'wso2-IS']);
    const again = await fx.admin('post', `/identity-providers/${idp.id}/aliases`).send({ alias: 'wso2-IS' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'conflict', field: 'alias' });
  });

  it('compares aliases exactly: another case or a trailing slash is another alias', async () => {
    for (const alias of ['https://localhost:9443/oauth2/token/', 'HTTPS://localhost:9443/oauth2/token']) {
      expect((await fx.admin('post', `/identity-providers/${idp.id}/aliases`).send({ alias })).status).toBe(201);
    }
  });

  it('lets another IdP use the same alias', async () => {
    const other = await fx.admin('post', '/identity-providers').send({ name: `other-${names}`, certificates: [key.certificatePem] });
    expect(
      (await fx.admin('post', `/identity-providers/${other.body.id}/aliases`).send({ alias: 'https://localhost:9443/oauth2/token' }))
        .status,
    ).toBe(201);
  });

  it.each([
    [{}, /alias must be a string/],
    [{ alias: '' }, /must not be empty/],
    [{ alias: ['a'] }, /alias must be a string/],
    [{ alias: 'a\tb' }, /control characters/],
    [{ alias: 'a', extra: 1 }, /Unknown field "extra"/],
  ])('refuses %j', async (body, message) => {
    const res = await fx.admin('post', `/identity-providers/${idp.id}/aliases`).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(message);
  });

  it('removes a URL-encoded alias (204), then 404', async () => {
    const path = `/identity-providers/${idp.id}/aliases/${encodeURIComponent('https://localhost:9443/oauth2/token')}`;
    const res = await fx.admin('delete', path);
    expect(res.status).toBe(204);
    expect((await get()).aliases).toEqual([]);
    expect((await fx.admin('delete', path)).status).toBe(404);
  });

  it('removes aliases with spaces, percent signs and non-ASCII', async () => {
    for (const alias of ['my token endpoint', '100%', 'jeton-été', 'a/b?c#d']) {
      expect((await fx.admin('post', `/identity-providers/${idp.id}/aliases`).send({ alias })).status).toBe(201);
      expect((await fx.admin('delete', `/identity-providers/${idp.id}/aliases/${encodeURIComponent(alias)}`)).status).toBe(204);
    }
  });

  it('answers 400 for an alias path that is not valid percent-encoding, 404 for an unknown IdP', async () => {
    const bad = await fx.admin('delete', `/identity-providers/${idp.id}/aliases/%E0%A4%A`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_request');
    expect((await fx.admin('delete', `/identity-providers/${UNKNOWN_UUID}/aliases/x`)).status).toBe(404);
    expect((await fx.admin('post', `/identity-providers/${UNKNOWN_UUID}/aliases`).send({ alias: 'x' })).status).toBe(404);
    expect((await fx.admin('delete', `/identity-providers/${idp.id}/aliases/%00`)).status).toBe(404);
  });

  it('keeps another tenant’s IdP out of reach', async () => {
    const theirs = await fx
      .admin('post', inTenant('/identity-providers', 'example.com'))
      .send({ name: `t-${names}`, certificates: [key.certificatePem], aliases: ['aud'] });
    expect((await fx.admin('post', `/identity-providers/${theirs.body.id}/aliases`).send({ alias: 'x' })).status).toBe(404);
    expect(
      (await fx.admin('post', inTenant(`/identity-providers/${theirs.body.id}/aliases`, 'example.com')).send({ alias: 'x' })).status,
    ).toBe(201);
    expect((await fx.admin('delete', `/identity-providers/${theirs.body.id}/aliases/aud`)).status).toBe(404);
    expect((await fx.admin('delete', inTenant(`/identity-providers/${theirs.body.id}/aliases/aud`, 'example.com'))).status).toBe(204);
  });
});
