import { ConfigurationError } from '../errors';
import type { ReplayPolicy } from '../types';

/**
 * Starting points for the three most common workload issuers (docs/workload-identity.md). Each binds the
 * immutable ids these platforms put in their tokens, not the names that can be renamed or re-registered
 * by someone else: GitHub's `repository_owner_id`/`repository_id`, GitLab's `namespace_id`/`project_id`,
 * Kubernetes' service account `uid`. Placeholders `{{NAME}}` stand inside CEL string literals; a value
 * must match its parameter's pattern, which admits no quote or backslash, so filling one in can never
 * change the expression's structure.
 */

/** One value a template needs. */
export interface TrustRuleTemplateParameter {
  name: string;
  description: string;
  example: string;
  /** What a value must match (the source of a JavaScript RegExp, anchored). */
  pattern: string;
}

/** A trust rule template and the IdP settings it is meant for. */
export interface TrustRuleTemplate {
  id: 'github-actions' | 'gitlab-ci' | 'kubernetes-service-account';
  title: string;
  description: string;
  /** The issuer (IdP name) the platform signs with; `null` where it is per installation (Kubernetes clusters). */
  issuer: string | null;
  /** Suggested IdP settings. */
  identityProvider: {
    replayPolicy: ReplayPolicy;
    requireJti: boolean;
    maxAssertionLifetimeSeconds: number;
    /** Keys through OIDC discovery of the issuer (`discoveryUrl: true`). */
    discovery: boolean;
  };
  parameters: readonly TrustRuleTemplateParameter[];
  rule: { name: string; condition: string; subject: string | null };
}

const NUMERIC_ID = '^[0-9]{1,20}$';
const NAME = '^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$';
const K8S_NAME = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';
const UID = '^[0-9a-fA-F-]{36}$';

/** The templates, by id. */
export const TRUST_RULE_TEMPLATES: readonly TrustRuleTemplate[] = [
  {
    id: 'github-actions',
    title: 'GitHub Actions: one repository, one branch',
    description:
      "Admits workflow runs of one repository, by its owner's and its own immutable ids, on one branch, and no pull request run (pull_request_target runs carry the base branch's ref). " +
      'GitHub signs every customer’s tokens with one issuer: a rule that does not bind repository_owner_id trusts all of GitHub.',
    issuer: 'https://token.actions.githubusercontent.com',
    identityProvider: { replayPolicy: 'once', requireJti: true, maxAssertionLifetimeSeconds: 3600, discovery: true },
    parameters: [
      { name: 'OWNER_ID', description: 'repository_owner_id of the organisation or user', example: '1342004', pattern: NUMERIC_ID },
      { name: 'REPOSITORY_ID', description: 'repository_id of the repository', example: '17273051', pattern: NUMERIC_ID },
      { name: 'REF', description: 'the Git ref runs must come from', example: 'refs/heads/main', pattern: NAME },
    ],
    rule: {
      name: 'github-repository-branch',
      condition:
        "claims.repository_owner_id == '{{OWNER_ID}}' && claims.repository_id == '{{REPOSITORY_ID}}' && " +
        "claims.ref == '{{REF}}' && !(claims.event_name in ['pull_request', 'pull_request_target'])",
      subject: "'github:' + claims.repository_owner_id + '/' + claims.repository_id + ':' + claims.ref",
    },
  },
  {
    id: 'gitlab-ci',
    title: 'GitLab CI: one project, protected branch',
    description:
      'Admits CI jobs of one project, by its group’s and its own immutable ids, on one protected branch. ' +
      'GitLab.com signs every customer’s ID tokens with one issuer: a rule that does not bind namespace_id trusts all of GitLab.com.',
    issuer: 'https://gitlab.com',
    identityProvider: { replayPolicy: 'once', requireJti: true, maxAssertionLifetimeSeconds: 3600, discovery: true },
    parameters: [
      { name: 'NAMESPACE_ID', description: 'namespace_id of the group or user', example: '4', pattern: NUMERIC_ID },
      { name: 'PROJECT_ID', description: 'project_id of the project', example: '22', pattern: NUMERIC_ID },
      { name: 'BRANCH', description: 'the branch jobs must run on', example: 'main', pattern: NAME },
    ],
    rule: {
      name: 'gitlab-project-branch',
      condition:
        "claims.namespace_id == '{{NAMESPACE_ID}}' && claims.project_id == '{{PROJECT_ID}}' && claims.ref_type == 'branch' && " +
        "claims.ref == '{{BRANCH}}' && claims.ref_protected == 'true'",
      subject: "'gitlab:' + claims.namespace_id + '/' + claims.project_id + ':' + claims.ref",
    },
  },
  {
    id: 'kubernetes-service-account',
    title: 'Kubernetes: one service account',
    description:
      'Admits projected service account tokens of one service account, bound by namespace, name and uid (a deleted and re-created ' +
      'account gets a new uid). Kubernetes reuses a projected token until it is refreshed, so the IdP uses the reuse replay policy ' +
      'with a lifetime of at most an hour.',
    issuer: null,
    identityProvider: { replayPolicy: 'reuse', requireJti: false, maxAssertionLifetimeSeconds: 3600, discovery: false },
    parameters: [
      { name: 'NAMESPACE', description: 'the namespace of the service account', example: 'payments', pattern: K8S_NAME },
      { name: 'SERVICE_ACCOUNT', description: 'the service account name', example: 'ledger', pattern: K8S_NAME },
      {
        name: 'SERVICE_ACCOUNT_UID',
        description: 'the service account uid',
        example: '0d7e43a1-5c3c-4f7e-9b0e-2f0c1c1e8a11',
        pattern: UID,
      },
    ],
    rule: {
      name: 'kubernetes-service-account',
      condition:
        "claims['kubernetes.io'].namespace == '{{NAMESPACE}}' && claims['kubernetes.io'].serviceaccount.name == '{{SERVICE_ACCOUNT}}' && " +
        "claims['kubernetes.io'].serviceaccount.uid == '{{SERVICE_ACCOUNT_UID}}'",
      subject: null,
    },
  },
];

/**
 * The rule of template `id` with its placeholders filled in. Throws {@link ConfigurationError} for an
 * unknown template, a missing value, or a value that does not match its parameter's pattern.
 *
 * @example
 * const rule = instantiateTemplate('github-actions', { OWNER_ID: '1342004', REPOSITORY_ID: '17273051', REF: 'refs/heads/main' });
 */
export function instantiateTemplate(id: string, values: Readonly<Record<string, string>>): TrustRuleTemplate['rule'] {
  const template = TRUST_RULE_TEMPLATES.find((candidate) => candidate.id === id);
  if (!template) throw new ConfigurationError(`Unknown trust rule template "${id}".`);
  const fill = (text: string) =>
    text.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
      const parameter = template.parameters.find((candidate) => candidate.name === name);
      const value = values[name];
      if (!parameter || typeof value !== 'string' || !new RegExp(parameter.pattern).test(value)) {
        throw new ConfigurationError(`Template "${id}": ${name} must match ${parameter?.pattern ?? 'a declared parameter'}.`);
      }
      return value;
    });
  return {
    name: template.rule.name,
    condition: fill(template.rule.condition),
    subject: template.rule.subject === null ? null : fill(template.rule.subject),
  };
}
