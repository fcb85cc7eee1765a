/**
 * The replay policy of an IdP (docs/workload-identity.md, docs/validation.md steps 5 and 9), through real
 * HTTP on both host lines: a Kubernetes projected service account token (no `jti`, valid for an hour,
 * presented again and again by its pod) is accepted on every use under `reuse`, with an audit row each time
 * and no replay record, but held to the one-hour cap (`exp` and `exp − iat`) and to its `exp`; under `once`
 * the same token works once. Switching an IdP between the two never lets a token be used twice under `once`.
 */
import { randomUUID } from 'node:crypto';
import { changeFeedFor } from '../../lib/cache/change-feed';
import type { TokenOutcome } from '../../lib/http/token-endpoint';
import { createGrantFixture, expectRefused, grantForm, postToken, TOKEN_URL, type GrantFixture } from '../helpers/grant-fixture';
import { buildHostApp, HOSTS } from '../helpers/host-app';
import { makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';

const CLUSTER = 'https://kubernetes.default.svc.cluster.local';
const ONCE_CLUSTER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF';
const now = () => Math.floor(Date.now() / 1000);

let fx: GrantFixture;
let key: TestSigningKey;
let clusterId: string;

beforeAll(async () => {
  fx = await createGrantFixture(HOSTS[0]);
  key = await makeSigningKey('RS256', { kid: 'k8s-sa-key-1' });
  const common = {
    certificates: [{ pem: key.certificatePem, kid: key.kid }],
    aliases: [TOKEN_URL],
    requireJti: false,
    maxAssertionLifetimeSeconds: 3600,
  };
  clusterId = await fx.addIdp({ name: CLUSTER, replayPolicy: 'reuse', ...common });
  await fx.addIdp({ name: ONCE_CLUSTER, replayPolicy: 'once', ...common });
});
afterAll(() => fx?.close());

/**
 * A projected service account token as the kubelet mounts it (`serviceAccountToken` volume with
 * `audience` = our token endpoint and `expirationSeconds: 3600`): RS256, a `kid`, no `jti`, and the
 * `kubernetes.io` claim naming namespace, service account and pod.
 */
function projectedToken(overrides: Record<string, unknown> = {}, iss = CLUSTER): Promise<string> {
  const iat = now();
  const claims: Record<string, unknown> = {
    aud: [TOKEN_URL],
    exp: iat + 3600,
    iat,
    nbf: iat,
    iss,
    'kubernetes.io': {
      namespace: 'payments',
      pod: { name: 'ledger-7d9f8c6b5-x2x9q', uid: randomUUID() },
      serviceaccount: { name: 'ledger', uid: randomUUID() },
    },
    sub: 'system:serviceaccount:payments:ledger',
    ...overrides,
  };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete claims[name];
  return signAssertion(key, claims, { kid: key.kid });
}

const auditRows = (idpName: string) =>
  fx.db.knex('jwt_bearer_issued_tokens').where({ idp_name: idpName }).orderBy('issued_at').select('subject', 'jti', 'access_token_sha256');
const replayCount = async (idpName: string) =>
  Number((await fx.db.knex('jwt_bearer_used_assertions').where({ idp_name: idpName }).count({ n: '*' }))[0]!.n);

/** Changes an IdP's replay policy the way any writer would, and makes this process see it at once (as the admin API does). */
async function setPolicy(replayPolicy: 'once' | 'reuse'): Promise<void> {
  await fx.db.knex('jwt_bearer_identity_providers').where({ id: clusterId }).update({ replay_policy: replayPolicy });
  changeFeedFor(fx.db.knex).invalidate();
}

describe.each(HOSTS)('replay policy on $name', (hut) => {
  let app: ReturnType<typeof buildHostApp>['app'];
  let outcomes: TokenOutcome[];
  beforeAll(() => {
    ({ app, outcomes } = buildHostApp(hut, { store: fx.store }));
  });
  afterEach(() => setPolicy('reuse'));

  async function accepted(assertion: string) {
    const res = await postToken(app, grantForm(assertion));
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 200, error: undefined });
    expect(res.body.access_token).toEqual(expect.any(String));
    return res.body.access_token as string;
  }
  async function refused(assertion: string, reason: string) {
    const before = await fx.issuedCount();
    const res = await postToken(app, grantForm(assertion));
    expectRefused(res, 400, 'invalid_grant');
    expect(outcomes[outcomes.length - 1]).toMatchObject({ outcome: 'refused', status: 400, error: 'invalid_grant', reason });
    expect(await fx.issuedCount()).toBe(before);
  }

  it('reuse: the same projected token is accepted twice within its lifetime: two tokens, two audit rows, no replay record', async () => {
    const token = await projectedToken();
    const before = (await auditRows(CLUSTER)).length;
    const recordsBefore = await replayCount(CLUSTER);
    const first = await accepted(token);
    const second = await accepted(token);
    expect(second).not.toBe(first);
    const rows = (await auditRows(CLUSTER)).slice(before);
    expect(rows.map((row) => ({ subject: row.subject, jti: row.jti }))).toEqual([
      { subject: 'system:serviceaccount:payments:ledger', jti: null },
      { subject: 'system:serviceaccount:payments:ledger', jti: null },
    ]);
    expect(await replayCount(CLUSTER)).toBe(recordsBefore);
  });

  it('reuse: a token whose lifetime exceeds the one-hour cap (exp − iat = 7200) is exp_too_far, even in its last hour', async () => {
    await refused(await projectedToken({ iat: now() - 3600, nbf: now() - 3600, exp: now() + 3600 }), 'exp_too_far');
    await refused(await projectedToken({ iat: now(), exp: now() + 7200 }), 'exp_too_far');
  });

  it('reuse: without iat, the cap still counts from now', async () => {
    // 120 s over the cap (60 s of skew allowed): a clock tick between signing and checking changes nothing.
    await refused(await projectedToken({ iat: undefined, exp: now() + 3600 + 120 }), 'exp_too_far');
    await accepted(await projectedToken({ iat: undefined, exp: now() + 3600 }));
  });

  it('reuse: past its exp (and the clock skew) the token is assertion_expired', async () => {
    await refused(await projectedToken({ iat: now() - 3661, nbf: now() - 3661, exp: now() - 61 }), 'assertion_expired');
  });

  it('once: the same shape works once, then jti_replayed (keyed by the hash of the token)', async () => {
    const token = await projectedToken({}, ONCE_CLUSTER);
    const recordsBefore = await replayCount(ONCE_CLUSTER);
    await accepted(token);
    await refused(token, 'jti_replayed');
    expect(await replayCount(ONCE_CLUSTER)).toBe(recordsBefore + 1);
  });

  it('an IdP switched from reuse to once still refuses a second use; switched back, its tokens are reusable again', async () => {
    const token = await projectedToken();
    const recordsBefore = await replayCount(CLUSTER);
    await accepted(token);
    await accepted(token);
    await setPolicy('once');
    await accepted(token); // the first use under once: the record is written now
    await refused(token, 'jti_replayed');
    expect(await replayCount(CLUSTER)).toBe(recordsBefore + 1);

    await setPolicy('reuse');
    await accepted(token); // reuse neither reads nor writes records
    await setPolicy('once');
    await refused(token, 'jti_replayed'); // the record of the first once-use still stands
  });

  it('reuse: when the host fails to save the token, only that audit row goes; a record of an earlier once-use stays', async () => {
    const failing = buildHostApp(hut, { store: fx.store, failSaveToken: () => true });
    const token = await projectedToken();
    await setPolicy('once');
    await accepted(token);
    await setPolicy('reuse');
    const before = await fx.issuedCount();
    const res = await postToken(failing.app, grantForm(token));
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.body.access_token).toBeUndefined();
    expect(await fx.issuedCount()).toBe(before);
    await setPolicy('once');
    await refused(token, 'jti_replayed');
  });
});
