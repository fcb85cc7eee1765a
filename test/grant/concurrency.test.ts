/** docs/validation.md step 9: exactly one of many concurrent uses of one assertion succeeds. */
import { HOSTS } from '../helpers/host-app';
import { createGrantFixture, grantForm, postToken, type GrantFixture } from '../helpers/grant-fixture';

describe('one assertion, twenty concurrent requests', () => {
  let fx: GrantFixture;
  beforeAll(async () => {
    fx = await createGrantFixture(HOSTS[0]);
  });
  afterAll(() => fx.close());

  it('issues exactly one token', async () => {
    const { app } = fx.app();
    const assertion = await fx.assertion({ jti: 'race' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => postToken(app, grantForm(assertion))));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(19);
    expect(answers.filter((r) => r.body.access_token)).toHaveLength(1);
    expect(await fx.issuedCount()).toBe(1);
    expect(await fx.replayCount()).toBe(1);
  });
});
