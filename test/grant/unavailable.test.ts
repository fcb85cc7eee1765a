/** docs/http.md: database unreachable → 503 temporarily_unavailable, promptly, no token. */
import { createServer } from 'node:net';
import { openDatabase } from '../../lib/db/connect';
import { KnexGrantStore } from '../../lib/store/knex-store';
import { buildHostApp, HOSTS } from '../helpers/host-app';
import { expectRefused, grantForm, postToken } from '../helpers/grant-fixture';
import { assertionClaims, makeSigningKey, signAssertion } from '../helpers/keys';

/** A port on loopback where nothing listens. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(HOSTS)('database unreachable on $name', (hut) => {
  it('answers 503 temporarily_unavailable within a few seconds and issues nothing', async () => {
    const knex = await openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${await deadPort()}/test` });
    try {
      const { app, outcomes } = buildHostApp(hut, { store: new KnexGrantStore(knex) });
      const key = await makeSigningKey('RS256');
      const started = Date.now();
      const res = await postToken(app, grantForm(await signAssertion(key, assertionClaims({ iss: 'jwtIDP', aud: 'x', sub: 'a' }))));
      expect(Date.now() - started).toBeLessThan(10_000);
      expectRefused(res, 503, 'temporarily_unavailable');
      expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
      expect(outcomes.at(-1)).toMatchObject({ outcome: 'refused', error: 'temporarily_unavailable' });
    } finally {
      await knex.destroy();
    }
  });
});
