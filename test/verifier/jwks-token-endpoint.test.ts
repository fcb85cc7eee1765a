/**
 * End to end: an IdP with a JWKS URI (and no certificate), through the token endpoint of
 * `@node-oauth/oauth2-server` 5 + Express 5 with a real database, and through the admin API (created
 * there with its jwksUri, then the dry run). The JWKS is served by a real loopback HTTP server.
 */
import express from 'express';
import request from 'supertest';
import { bearerTokenAuthorizer, createAdminRouter } from '../../lib/admin';
import { createGrantFixture, expectRefused, grantForm, postToken, TOKEN_URL, type GrantFixture } from '../helpers/grant-fixture';
import { HOSTS } from '../helpers/host-app';
import { makeSigningKey, type TestSigningKey } from '../helpers/keys';
import { publicJwk, startJwksServer, type JwksServer } from '../keys/jwks-server';

const ADMIN_TOKEN = 'jwks-e2e-admin-token';

let fx: GrantFixture;
let ec: TestSigningKey;
let jwks: JwksServer;
let hanging: JwksServer;

beforeAll(async () => {
  [fx, ec] = await Promise.all([createGrantFixture(HOSTS[0]), makeSigningKey('ES256', { kid: 'jwks-ec-1' })]);
  jwks = await startJwksServer([await publicJwk(ec)]);
  hanging = await startJwksServer();
  hanging.hang();
  await fx.addIdp({ name: 'jwksIDP', jwksUri: jwks.url(), aliases: [TOKEN_URL] });
  await fx.addIdp({ name: 'hangingIDP', jwksUri: hanging.url(), aliases: [TOKEN_URL] });
  await fx.addIdp({ name: 'plainHttpIDP', jwksUri: 'http://example.com/jwks', aliases: [TOKEN_URL] }); // as a bad row could hold
});
afterAll(async () => {
  await jwks?.close();
  await hanging?.close();
  await fx?.close();
});

describe(`token endpoint, ${HOSTS[0].name}`, () => {
  it('issues a token for an assertion signed by a key of the IdP JWKS; the JWKS is downloaded once', async () => {
    const { app } = fx.app();
    const issued = await fx.issuedCount();
    for (let i = 0; i < 3; i++) {
      const res = await postToken(app, grantForm(await fx.assertion({ iss: 'jwksIDP' }, { kid: ec.kid }, ec)));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer' });
      expect(res.headers['cache-control']).toBe('no-store');
    }
    expect(await fx.issuedCount()).toBe(issued + 3);
    expect(jwks.requests).toBe(1);
  });

  it('a kid the JWKS does not have: 400 invalid_grant (key_not_found)', async () => {
    const { app, outcomes } = fx.app();
    const res = await postToken(app, grantForm(await fx.assertion({ iss: 'jwksIDP' }, { kid: 'not-published' }, ec)));
    expectRefused(res, 400, 'invalid_grant');
    expect(outcomes.at(-1)).toMatchObject({ reason: 'key_not_found' });
  });

  it('a JWKS endpoint that hangs: 503 temporarily_unavailable within the bound, nothing issued, the jti not burned', async () => {
    const { app, outcomes } = fx.app();
    const [issued, replays] = [await fx.issuedCount(), await fx.replayCount()];
    const assertion = await fx.assertion({ iss: 'hangingIDP' }, { kid: ec.kid }, ec);
    const started = performance.now();
    const res = await postToken(app, grantForm(assertion));
    const ms = performance.now() - started;
    expectRefused(res, 503, 'temporarily_unavailable');
    expect(outcomes.at(-1)).toMatchObject({ reason: 'key_source_unavailable' });
    expect(ms).toBeLessThan(3000);
    console.info(`token endpoint, hanging JWKS → 503 after ${ms.toFixed(0)} ms (JWKS bound 2000 ms)`);
    expect([await fx.issuedCount(), await fx.replayCount()]).toEqual([issued, replays]);

    // Within the retry pause the next request is answered at once.
    const again = performance.now();
    expectRefused(await postToken(app, grantForm(assertion)), 503, 'temporarily_unavailable');
    expect(performance.now() - again).toBeLessThan(1000);
    expect(hanging.requests).toBe(1);
  });

  it('a stored http: URI on a public host is never fetched: 503, key_source_unavailable', async () => {
    const { app, outcomes } = fx.app();
    const res = await postToken(app, grantForm(await fx.assertion({ iss: 'plainHttpIDP' }, { kid: ec.kid }, ec)));
    expectRefused(res, 503, 'temporarily_unavailable');
    expect(outcomes.at(-1)).toMatchObject({ reason: 'key_source_unavailable' });
  });
});

describe('admin API: an IdP created with a jwksUri, and the dry run', () => {
  it('creates the IdP with only a jwksUri and the dry run verifies an assertion with its JWKS', async () => {
    const app = express();
    app.use('/admin', createAdminRouter({ knex: fx.db.knex, authorize: bearerTokenAuthorizer(ADMIN_TOKEN), tokenEndpointUrl: TOKEN_URL }));
    const created = await request(app)
      .post('/admin/identity-providers')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ name: 'adminJwksIDP', jwksUri: jwks.url('/admin-jwks'), aliases: [TOKEN_URL] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ jwksUri: jwks.url('/admin-jwks'), certificates: [] });

    const valid = await request(app)
      .post('/admin/assertions/validate')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ assertion: await fx.assertion({ iss: 'adminJwksIDP' }, { kid: ec.kid }, ec) });
    expect(valid.status).toBe(200);
    expect(valid.body).toMatchObject({ valid: true, idp: { name: 'adminJwksIDP' }, keyId: expect.stringMatching(/^jwks:/) });
    expect(jwks.hits('/admin-jwks')).toBe(1);

    const unknownKid = await request(app)
      .post('/admin/assertions/validate')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ assertion: await fx.assertion({ iss: 'adminJwksIDP' }, { kid: 'rotated-away' }, ec) });
    expect(unknownKid.body).toMatchObject({ valid: false, reason: 'key_not_found' });
  });
});
