/**
 * IdPs whose keys are named by an OpenID Provider configuration document (OpenID Connect Discovery 1.0
 * §4; docs/validation.md step 2), through real HTTP on both host lines, with a real database and a loopback
 * server made here that serves the documents and the JWKS: a token on first use of a key published after
 * the first use; the document's issuer differing from the IdP name → 400 `discovery_issuer_mismatch`; a
 * `jwks_uri` that is neither https nor loopback, or an oversized document → 503 `key_source_unavailable`;
 * never a token, an audit row or a replay record for a refused request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenOutcome } from '../../lib/http/token-endpoint';
import { createGrantFixture, expectRefused, grantForm, postToken, TOKEN_URL, type GrantFixture } from '../helpers/grant-fixture';
import { buildHostApp, HOSTS } from '../helpers/host-app';
import { makeSigningKey, type TestSigningKey } from '../helpers/keys';
import { publicJwk, startJwksServer, type JwksServer } from '../keys/jwks-server';

const CONFIG = '/.well-known/openid-configuration';

let fx: GrantFixture;
let server: JwksServer;
let first: TestSigningKey;
let rotated: TestSigningKey;
let firstJwk: Record<string, unknown>;
let rotatedJwk: Record<string, unknown>;
/** What the server answers per path; a path not listed is 404. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {};

const json =
  (body: unknown) =>
  (_req: IncomingMessage, res: ServerResponse): void =>
    void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
/** The IdP name of a scenario: the loopback server's origin and a path of its own (what an issuer URL looks like). */
const issuer = (scenario: string) => server.url(`/${scenario}`);
/** Serves `/<scenario>/.well-known/openid-configuration` with `members` over issuer = the IdP name and its own /jwks. */
function serveDocument(scenario: string, members: Record<string, unknown> = {}) {
  routes[`/${scenario}${CONFIG}`] = json({
    issuer: issuer(scenario),
    jwks_uri: server.url(`/${scenario}/jwks`),
    response_types_supported: ['code'],
    ...members,
  });
}
const serveKeys = (scenario: string, keys: unknown[]) => (routes[`/${scenario}/jwks`] = json({ keys }));

beforeAll(async () => {
  [fx, first, rotated] = await Promise.all([
    createGrantFixture(HOSTS[0]),
    makeSigningKey('ES256', { kid: 'disco-1' }),
    makeSigningKey('RS256', { kid: 'disco-2' }),
  ]);
  [firstJwk, rotatedJwk] = await Promise.all([publicJwk(first), publicJwk(rotated)]);
  server = await startJwksServer();
  server.respond((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0]!];
    if (route) route(req, res);
    else res.writeHead(404).end();
  });

  serveDocument('good');
  serveKeys('good', [firstJwk]);
  serveDocument('mismatch', { issuer: 'https://someone-else.example.test' });
  serveKeys('mismatch', [firstJwk]);
  serveDocument('plain-http', { jwks_uri: 'http://example.com/jwks' });
  routes[`/oversized${CONFIG}`] = json({
    issuer: issuer('oversized'),
    jwks_uri: server.url('/good/jwks'),
    padding: 'x'.repeat(100 * 1024),
  });

  for (const scenario of ['good', 'mismatch', 'plain-http', 'oversized']) {
    await fx.addIdp({ name: issuer(scenario), discoveryUrl: `${issuer(scenario)}${CONFIG}`, aliases: [TOKEN_URL] });
  }
});
afterAll(async () => {
  await server?.close();
  await fx?.close();
});

describe.each(HOSTS)('discovery on $name', (hut) => {
  let app: ReturnType<typeof buildHostApp>['app'];
  let outcomes: TokenOutcome[];
  beforeAll(() => {
    ({ app, outcomes } = buildHostApp(hut, { store: fx.store }));
  });

  const assertion = (scenario: string, key: TestSigningKey) => fx.assertion({ iss: issuer(scenario) }, { kid: key.kid }, key);

  async function refused(scenario: string, status: number, error: string, reason: string) {
    const [issued, replays] = [await fx.issuedCount(), await fx.replayCount()];
    const res = await postToken(app, grantForm(await assertion(scenario, first)));
    expectRefused(res, status, error);
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'refused', status, error, reason });
    expect([await fx.issuedCount(), await fx.replayCount()]).toEqual([issued, replays]);
  }

  it('issues a token for an assertion signed by a key at the jwks_uri the document names', async () => {
    const issued = await fx.issuedCount();
    const res = await postToken(app, grantForm(await assertion('good', first)));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer' });
    expect(await fx.issuedCount()).toBe(issued + 1);
  });

  it('a key published after the first use is accepted on its first use', async () => {
    serveKeys('good', [firstJwk]);
    expect((await postToken(app, grantForm(await assertion('good', first)))).status).toBe(200);
    serveKeys('good', [firstJwk, rotatedJwk]);
    const res = await postToken(app, grantForm(await assertion('good', rotated)));
    expect({ status: res.status, reason: outcomes.at(-1)?.reason }).toEqual({ status: 200, reason: undefined });
    expect(res.body.access_token).toEqual(expect.any(String));
  });

  it("the document's issuer differs from the IdP name: 400 invalid_grant (discovery_issuer_mismatch), its keys never fetched", async () => {
    const fetched = server.hits('/mismatch/jwks');
    await refused('mismatch', 400, 'invalid_grant', 'discovery_issuer_mismatch');
    expect(server.hits('/mismatch/jwks')).toBe(fetched);
  });

  it('the document names a jwks_uri that is neither https nor loopback: 503 temporarily_unavailable (key_source_unavailable)', async () => {
    await refused('plain-http', 503, 'temporarily_unavailable', 'key_source_unavailable');
  });

  it('an oversized document (100 KiB, over the 64 KiB bound): 503 temporarily_unavailable (key_source_unavailable)', async () => {
    await refused('oversized', 503, 'temporarily_unavailable', 'key_source_unavailable');
  });
});
