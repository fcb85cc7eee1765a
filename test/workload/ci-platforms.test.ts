/**
 * docs/workload-identity.md, through the real token endpoint: the three templates, with tokens shaped
 * like the ones GitHub Actions, GitLab CI and Kubernetes hand out. A shared issuer signs for everyone, so
 * what a rule binds decides who gets in: the right owner id and branch do; the same repository name
 * under another owner, another branch, a pull request run do not (400 invalid_grant, reason
 * no_rule_matched, no token, no audit row, no replay record).
 */
import type request from 'supertest';
import { sha256 } from '../../lib/hash';
import { instantiateTemplate } from '../../lib/rules';
import { HOSTS } from '../helpers/host-app';
import { createGrantFixture, expectRefused, grantForm, postToken, TOKEN_URL, type GrantFixture } from '../helpers/grant-fixture';
import { makeSigningKey, signAssertion, type TestSigningKey } from '../helpers/keys';
import { insertRule } from '../helpers/rules';
import {
  GITHUB_ISSUER,
  GITLAB_ISSUER,
  githubClaims,
  githubPullRequestClaims,
  gitlabClaims,
  KUBERNETES_ISSUER,
  kubernetesClaims,
  LEDGER,
  MYGROUP,
  OCTO,
} from '../helpers/workload-claims';

let fx: GrantFixture;
let host: ReturnType<GrantFixture['app']>;
const keys: Record<string, TestSigningKey> = {};

beforeAll(async () => {
  fx = await createGrantFixture(HOSTS[0]);
  host = fx.app();
  for (const [name, issuer, requireJti] of [
    ['github', GITHUB_ISSUER, true],
    ['gitlab', GITLAB_ISSUER, true],
    ['kubernetes', KUBERNETES_ISSUER, false],
  ] as const) {
    keys[name] = await makeSigningKey('RS256', { kid: `${name}-key-1` });
    const idpId = await fx.addIdp({
      name: issuer,
      certificates: [{ pem: keys[name].certificatePem, kid: keys[name].kid }],
      aliases: [TOKEN_URL],
      requireJti,
    });
    const template = { github: 'github-actions', gitlab: 'gitlab-ci', kubernetes: 'kubernetes-service-account' }[name];
    const values: Record<string, string> = {
      github: { OWNER_ID: OCTO.ownerId, REPOSITORY_ID: OCTO.repoId, REF: 'refs/heads/main' },
      gitlab: { NAMESPACE_ID: MYGROUP.namespaceId, PROJECT_ID: MYGROUP.projectId, BRANCH: 'main' },
      kubernetes: { NAMESPACE: LEDGER.namespace, SERVICE_ACCOUNT: LEDGER.name, SERVICE_ACCOUNT_UID: LEDGER.uid },
    }[name];
    await insertRule(fx.db.knex, idpId, instantiateTemplate(template, values));
  }
});
afterAll(() => fx?.close());

const sign = (platform: 'github' | 'gitlab' | 'kubernetes', claims: Record<string, unknown>) =>
  signAssertion(keys[platform]!, claims, { kid: keys[platform]!.kid });

/** The audit row and the host's saved user of an issued token. */
async function issued(res: request.Response) {
  expect(res.status).toBe(200);
  expect(typeof res.body.access_token).toBe('string');
  const saved = host.model.tokens.get(res.body.access_token);
  const audit = await fx.db
    .knex('jwt_bearer_issued_tokens')
    .where({ access_token_sha256: sha256(res.body.access_token) })
    .first();
  return { user: saved.user, audit };
}

/** Refused as no_rule_matched, and nothing written: no token, no audit row, no replay record. */
async function expectNoRuleMatched(assertion: string) {
  const [issuedBefore, replayBefore] = [await fx.issuedCount(), await fx.replayCount()];
  const res = await postToken(host.app, grantForm(assertion));
  expectRefused(res, 400, 'invalid_grant');
  expect(res.body.error_description).toBe('No trust rule of the identity provider admits this assertion.');
  expect(host.outcomes.at(-1)).toMatchObject({ outcome: 'refused', reason: 'no_rule_matched', status: 400 });
  expect(host.outcomes.at(-1)?.rule).toBeUndefined();
  expect([await fx.issuedCount(), await fx.replayCount()]).toEqual([issuedBefore, replayBefore]);
}

describe('GitHub Actions (template github-actions)', () => {
  it('admits a push to main of the repository, by its owner id and repository id', async () => {
    const claims = githubClaims(TOKEN_URL);
    const { user, audit } = await issued(await postToken(host.app, grantForm(await sign('github', claims))));
    const subject = `github:${OCTO.ownerId}/${OCTO.repoId}:refs/heads/main`;
    expect(user).toEqual({ id: subject, sub: subject, idp: GITHUB_ISSUER, tenant: 'carbon.super' });
    expect(audit).toMatchObject({ idp_name: GITHUB_ISSUER, subject, rule_name: 'github-repository-branch', jti: claims.jti });
    expect(host.outcomes.at(-1)).toMatchObject({ outcome: 'issued', issuer: GITHUB_ISSUER, rule: 'github-repository-branch' });
  });

  it('admits the immutable-id subject form too: the rule binds ids, not the subject', async () => {
    const claims = githubClaims(TOKEN_URL, { sub: `repo:${OCTO.owner}@${OCTO.ownerId}/${OCTO.repo}@${OCTO.repoId}:ref:refs/heads/main` });
    const { audit } = await issued(await postToken(host.app, grantForm(await sign('github', claims))));
    expect(audit.rule_name).toBe('github-repository-branch');
  });

  it('refuses the same repository name under another owner id (a re-registered or look-alike organisation)', async () => {
    await expectNoRuleMatched(
      await sign('github', githubClaims(TOKEN_URL, { repository_owner_id: '99000001', repository_id: '99000002' })),
    );
    // Same owner, a re-created repository of the same name: a new repository id.
    await expectNoRuleMatched(await sign('github', githubClaims(TOKEN_URL, { repository_id: '99000003' })));
  });

  it('refuses another branch, and a tag', async () => {
    const feature = { ref: 'refs/heads/feature', sub: `repo:${OCTO.owner}/${OCTO.repo}:ref:refs/heads/feature` };
    await expectNoRuleMatched(await sign('github', githubClaims(TOKEN_URL, feature)));
    await expectNoRuleMatched(await sign('github', githubClaims(TOKEN_URL, { ref: 'refs/tags/v1.0.0', ref_type: 'tag' })));
  });

  it('refuses a pull request run, even one whose ref names main', async () => {
    await expectNoRuleMatched(await sign('github', githubPullRequestClaims(TOKEN_URL)));
    await expectNoRuleMatched(await sign('github', githubPullRequestClaims(TOKEN_URL, { ref: 'refs/heads/main' })));
    // pull_request_target runs a fork's pull request with the base branch's ref and the base's secrets.
    const target = { event_name: 'pull_request_target', ref: 'refs/heads/main', sub: `repo:${OCTO.owner}/${OCTO.repo}:pull_request` };
    await expectNoRuleMatched(await sign('github', githubPullRequestClaims(TOKEN_URL, target)));
  });

  it('refuses a token without the claims the rule reads (an evaluation error is no match)', async () => {
    await expectNoRuleMatched(await sign('github', githubClaims(TOKEN_URL, { repository_owner_id: undefined })));
    await expectNoRuleMatched(await sign('github', githubClaims(TOKEN_URL, { repository_owner_id: 1342004 }))); // a number is not the id string
  });
});

describe('GitLab CI (template gitlab-ci)', () => {
  it('admits a job of the project on its protected branch', async () => {
    const { user, audit } = await issued(await postToken(host.app, grantForm(await sign('gitlab', gitlabClaims(TOKEN_URL)))));
    const subject = `gitlab:${MYGROUP.namespaceId}/${MYGROUP.projectId}:main`;
    expect(user.id).toBe(subject);
    expect(audit).toMatchObject({ idp_name: GITLAB_ISSUER, subject, rule_name: 'gitlab-project-branch' });
  });

  it('refuses the same project path under another namespace id, another branch, an unprotected ref, a tag', async () => {
    await expectNoRuleMatched(await sign('gitlab', gitlabClaims(TOKEN_URL, { namespace_id: '999', project_id: '998' })));
    await expectNoRuleMatched(await sign('gitlab', gitlabClaims(TOKEN_URL, { ref: 'feature', ref_path: 'refs/heads/feature' })));
    await expectNoRuleMatched(await sign('gitlab', gitlabClaims(TOKEN_URL, { ref_protected: 'false' })));
    await expectNoRuleMatched(await sign('gitlab', gitlabClaims(TOKEN_URL, { ref_type: 'tag', ref_path: 'refs/tags/main' })));
  });
});

describe('Kubernetes (template kubernetes-service-account)', () => {
  it('admits the service account by namespace, name and uid; the subject is its sub', async () => {
    const claims = kubernetesClaims(TOKEN_URL);
    expect(claims.jti).toBeUndefined();
    const { user, audit } = await issued(await postToken(host.app, grantForm(await sign('kubernetes', claims))));
    expect(user.id).toBe('system:serviceaccount:payments:ledger');
    expect(audit).toMatchObject({ subject: 'system:serviceaccount:payments:ledger', rule_name: 'kubernetes-service-account', jti: null });
  });

  it('refuses a deleted and re-created account of the same name (a new uid), and another namespace', async () => {
    await expectNoRuleMatched(
      await sign('kubernetes', kubernetesClaims(TOKEN_URL, {}, { ...LEDGER, uid: '11111111-2222-4333-8444-555555555555' })),
    );
    await expectNoRuleMatched(await sign('kubernetes', kubernetesClaims(TOKEN_URL, {}, { ...LEDGER, namespace: 'staging' })));
  });
});
