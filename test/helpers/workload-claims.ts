/**
 * Claims sets shaped like the real workload tokens of docs/workload-identity.md, with the claim names,
 * JSON types and value forms the platforms document (GitHub Actions OIDC tokens, GitLab CI ID tokens,
 * Kubernetes projected service account tokens). Ids that GitHub and GitLab send as strings are strings;
 * GitLab's `runner_id` is a number. `over` merges; `undefined` deletes a claim.
 */
import { randomUUID } from 'node:crypto';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const GITLAB_ISSUER = 'https://gitlab.com';
export const KUBERNETES_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** The organisation and repository of the GitHub examples, by name and by immutable id. */
export const OCTO = { owner: 'octo-org', ownerId: '1342004', repo: 'octo-repo', repoId: '17273051' } as const;
/** The GitLab group and project of the examples. */
export const MYGROUP = { namespace: 'mygroup', namespaceId: '4', project: 'myproject', projectId: '22' } as const;
/** The Kubernetes service account of the examples. */
export const LEDGER = { namespace: 'payments', name: 'ledger', uid: '0d7e43a1-5c3c-4f7e-9b0e-2f0c1c1e8a11' } as const;

function times(lifetimeSeconds: number) {
  const now = Math.floor(Date.now() / 1000);
  return { nbf: now - 5, iat: now, exp: now + lifetimeSeconds };
}

function merge(claims: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...claims };
  for (const [name, value] of Object.entries(over)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

/** A GitHub Actions OIDC token's claims: a push to `main` of octo-org/octo-repo. */
export function githubClaims(audience: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const repository = `${OCTO.owner}/${OCTO.repo}`;
  return merge(
    {
      jti: randomUUID(),
      sub: `repo:${repository}:ref:refs/heads/main`,
      aud: audience,
      ref: 'refs/heads/main',
      ref_type: 'branch',
      sha: 'd6f3a8b6e2c1f0a9b8c7d6e5f4a3b2c1d0e9f8a7',
      repository,
      repository_id: OCTO.repoId,
      repository_owner: OCTO.owner,
      repository_owner_id: OCTO.ownerId,
      repository_visibility: 'private',
      run_id: '9876543210',
      run_number: '42',
      run_attempt: '1',
      actor: 'octocat',
      actor_id: '583231',
      workflow: 'deploy',
      workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/heads/main`,
      job_workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/heads/main`,
      event_name: 'push',
      head_ref: '',
      base_ref: '',
      runner_environment: 'github-hosted',
      iss: GITHUB_ISSUER,
      ...times(300),
    },
    over,
  );
}

/** The claims a pull request run of the same repository carries. */
export function githubPullRequestClaims(audience: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return githubClaims(audience, {
    sub: `repo:${OCTO.owner}/${OCTO.repo}:pull_request`,
    ref: 'refs/pull/7/merge',
    event_name: 'pull_request',
    head_ref: 'feature',
    base_ref: 'main',
    ...over,
  });
}

/** A GitLab CI ID token's claims: a job of mygroup/myproject on the protected branch `main`. */
export function gitlabClaims(audience: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const projectPath = `${MYGROUP.namespace}/${MYGROUP.project}`;
  return merge(
    {
      namespace_id: MYGROUP.namespaceId,
      namespace_path: MYGROUP.namespace,
      project_id: MYGROUP.projectId,
      project_path: projectPath,
      user_id: '42',
      user_login: 'sample-user',
      user_email: 'sample-user@example.com',
      user_access_level: 'developer',
      pipeline_id: '574',
      pipeline_source: 'push',
      job_id: '302',
      ref: 'main',
      ref_type: 'branch',
      ref_path: 'refs/heads/main',
      ref_protected: 'true',
      environment: 'production',
      environment_protected: 'true',
      deployment_tier: 'production',
      runner_id: 12,
      runner_environment: 'gitlab-hosted',
      sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
      project_visibility: 'private',
      ci_config_ref_uri: `gitlab.com/${projectPath}//.gitlab-ci.yml@refs/heads/main`,
      ci_config_sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
      jti: randomUUID(),
      iss: GITLAB_ISSUER,
      sub: `project_path:${projectPath}:ref_type:branch:ref:main`,
      aud: audience,
      ...times(300),
    },
    over,
  );
}

/** A Kubernetes projected service account token's claims (no `jti`: the kubelet reuses the token). */
export function kubernetesClaims(
  audience: string,
  over: Record<string, unknown> = {},
  account: { namespace: string; name: string; uid: string } = LEDGER,
): Record<string, unknown> {
  return merge(
    {
      aud: [audience],
      iss: KUBERNETES_ISSUER,
      sub: `system:serviceaccount:${account.namespace}:${account.name}`,
      'kubernetes.io': {
        namespace: account.namespace,
        pod: { name: `${account.name}-7d9f8c6b5-x2k4q`, uid: '5b0f4c3e-1d2a-4b6c-8e7f-9a0b1c2d3e4f' },
        serviceaccount: { name: account.name, uid: account.uid },
        node: { name: 'node-1', uid: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d' },
        warnafter: Math.floor(Date.now() / 1000) + 2400,
      },
      ...times(3600),
    },
    over,
  );
}
