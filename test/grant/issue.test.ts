import request from 'supertest';
import { sha256 } from '../../lib/hash';
import { HOSTS } from '../helpers/host-app';
import { createGrantFixture, expectRefused, grantForm, postToken, TOKEN_URL, type GrantFixture } from '../helpers/grant-fixture';
import { makeSigningKey, signAssertion, assertionClaims } from '../helpers/keys';

describe.each(HOSTS)('issuing tokens on $name', (hut) => {
  let fx: GrantFixture;
  beforeAll(async () => {
    fx = await createGrantFixture(hut);
  });
  afterAll(() => fx.close());

  it.each(['RS256', 'PS256', 'ES256', 'EdDSA'])('exchanges an assertion signed with %s for tokens', async (alg) => {
    const key = await makeSigningKey(alg, { kid: `k-${alg}` });
    await fx.addIdp({ name: `idp-${alg}`, certificates: [{ pem: key.certificatePem, kid: key.kid }], aliases: [TOKEN_URL] });
    const { app } = fx.app();
    const assertion = await signAssertion(key, assertionClaims({ iss: `idp-${alg}`, aud: TOKEN_URL, sub: 'alice' }));

    const res = await postToken(app, grantForm(assertion));

    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['pragma']).toBe('no-cache');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
    });
    expect(res.body.expires_in).toBeGreaterThanOrEqual(3599);
    expect(res.body.expires_in).toBeLessThanOrEqual(3600);
  });

  it('writes one audit row with hashes only, and the refresh token works with the host refresh_token grant', async () => {
    const { app, outcomes } = fx.app();
    const assertion = await fx.assertion({ sub: 'bob', jti: 'audit-1' });
    const res = await postToken(app, grantForm(assertion));
    expect(res.status).toBe(200);

    const rows = await fx.db.knex('jwt_bearer_issued_tokens').where({ jti: 'audit-1' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      idp_name: 'jwtIDP',
      client_id: 'client-1',
      subject: 'bob',
      access_token_sha256: sha256(res.body.access_token),
      refresh_token_sha256: sha256(res.body.refresh_token),
      revoked_at: null,
    });
    expect(JSON.stringify(rows[0])).not.toContain(res.body.access_token);
    expect(outcomes.at(-1)).toMatchObject({
      outcome: 'issued',
      status: 200,
      issuer: 'jwtIDP',
      clientId: 'client-1',
      tenant: 'carbon.super',
    });

    const refreshed = await postToken(app, { grant_type: 'refresh_token', refresh_token: res.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).toEqual(expect.any(String));
    expect(refreshed.body.access_token).not.toBe(res.body.access_token);
    const child = await fx.db
      .knex('jwt_bearer_issued_tokens')
      .where({ access_token_sha256: sha256(refreshed.body.access_token) })
      .first();
    expect(child).toMatchObject({ parent_id: rows[0].id, subject: 'bob', idp_name: 'jwtIDP' });
  });

  it('returns the granted scope when one is requested', async () => {
    const { app } = fx.app();
    const res = await postToken(app, grantForm(await fx.assertion(), { scope: 'read write' }));
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('read write');
  });

  it('issues no refresh token when the IdP does not allow it or the client lacks the refresh_token grant', async () => {
    const key = await makeSigningKey('ES256');
    await fx.addIdp({ name: 'no-refresh', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL], issueRefreshToken: false });
    const { app } = fx.app();
    const res = await postToken(app, grantForm(await signAssertion(key, assertionClaims({ iss: 'no-refresh', aud: TOKEN_URL, sub: 'x' }))));
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toBeUndefined();

    const { app: app2 } = fx.app({
      clients: [{ id: 'c-norefresh', secret: 'pw', tenant: 'carbon.super', grants: ['urn:ietf:params:oauth:grant-type:jwt-bearer'] }],
    });
    const res2 = await postToken(app2, grantForm(await fx.assertion()), { auth: ['c-norefresh', 'pw'] });
    expect(res2.status).toBe(200);
    expect(res2.body.refresh_token).toBeUndefined();
  });

  it('refuses refresh tokens (even rotated ones) once their IdP is disabled, and again after it is deleted', async () => {
    const key = await makeSigningKey('RS256');
    const idpId = await fx.addIdp({ name: 'short-lived', certificates: [{ pem: key.certificatePem }], aliases: [TOKEN_URL] });
    const { app } = fx.app();
    const first = await postToken(
      app,
      grantForm(await signAssertion(key, assertionClaims({ iss: 'short-lived', aud: TOKEN_URL, sub: 'carol' }))),
    );
    expect(first.status).toBe(200);
    const rotated = await postToken(app, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(rotated.status).toBe(200);

    await fx.db.knex('jwt_bearer_identity_providers').where({ id: idpId }).update({ enabled: false });
    const refused = await postToken(app, { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token });
    expectRefused(refused, 400, 'invalid_grant');

    await fx.db.knex('jwt_bearer_identity_providers').where({ id: idpId }).update({ enabled: true });
    const again = await postToken(app, { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token });
    expect(again.status).toBe(200);

    await fx.db.knex('jwt_bearer_identity_providers').where({ id: idpId }).delete();
    const gone = await postToken(app, { grant_type: 'refresh_token', refresh_token: again.body.refresh_token });
    expectRefused(gone, 400, 'invalid_grant');
  });

  it('gives the jti back when the host model fails to save the token', async () => {
    let fail = true;
    const { app } = fx.app({ failSaveToken: () => fail });
    const assertion = await fx.assertion({ jti: 'save-fails' });
    const before = await fx.issuedCount();

    const res = await postToken(app, grantForm(assertion));
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.body.access_token).toBeUndefined();
    expect(res.text).not.toContain('connection to host database lost');
    expect(await fx.issuedCount()).toBe(before);

    fail = false;
    const retry = await postToken(app, grantForm(assertion));
    expect(retry.status).toBe(200);
  });

  it('passes the resolved user to the model and refuses when resolveUser finds none', async () => {
    const { app, model } = fx.app({
      grant: { resolveUser: ({ claims }) => (claims.sub === 'ghost' ? null : { id: `user:${claims.sub}` }) },
    });
    const ok = await postToken(app, grantForm(await fx.assertion({ sub: 'dave' })));
    expect(ok.status).toBe(200);
    expect(model.tokens.get(ok.body.access_token).user).toEqual({ id: 'user:dave' });

    const refused = await postToken(app, grantForm(await fx.assertion({ sub: 'ghost' })));
    expectRefused(refused, 400, 'invalid_grant');
  });

  it('accepts client credentials in the body as well as in Basic', async () => {
    const { app } = fx.app();
    const res = await request(app)
      .post('/oauth2/token')
      .type('form')
      .send(new URLSearchParams({ ...grantForm(await fx.assertion()), client_id: 'client-1', client_secret: 's3cret' }).toString());
    expect(res.status).toBe(200);
  });
});
