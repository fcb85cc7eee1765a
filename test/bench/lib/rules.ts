import { withClient } from './database';

/**
 * Trust rules for the rules section (docs/workload-identity.md): an IdP shaped like a CI provider's, with
 * `count` enforced rules of the usual form — an owner id and a branch — of which only the last admits the
 * benchmark's assertions: the worst case, every other rule evaluated (and refused) before it.
 */

/** The claims of a GitHub Actions OIDC token (as it documents them), for the owner id the last rule names. */
export function ciClaims(count: number): Record<string, unknown> {
  const ownerId = ownerIdOf(count);
  return {
    repository: 'octo-org/octo-repo',
    repository_id: '690000001',
    repository_owner: 'octo-org',
    repository_owner_id: ownerId,
    repository_visibility: 'private',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    ref_protected: 'true',
    sha: 'e2c7a6f1c0b7d1c8a1d4b3f9f6a2e5d7c8b9a0f1',
    workflow: 'deploy',
    workflow_ref: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
    event_name: 'push',
    environment: 'production',
    actor: 'octocat',
    actor_id: '583231',
    run_id: '9000000001',
    run_number: '42',
    run_attempt: '1',
    runner_environment: 'github-hosted',
  };
}

/** The `sub` GitHub gives such a token. */
export const CI_SUBJECT = 'repo:octo-org/octo-repo:environment:production';

/** Rule `n` (1-based) binds owner id `10000 + n`: `rule-01` … `rule-20`. */
const ownerIdOf = (n: number) => String(10_000 + n);
export const ruleName = (n: number) => `rule-${String(n).padStart(2, '0')}`;

export interface BenchRule {
  name: string;
  condition: string;
  position: number;
}

/** `count` enforced rules, in order; only the last one matches {@link ciClaims}`(count)`. */
export function benchRules(count: number): BenchRule[] {
  return Array.from({ length: count }, (_, i) => ({
    name: ruleName(i + 1),
    condition: `claims.repository_owner_id == '${ownerIdOf(i + 1)}' && claims.ref == 'refs/heads/main'`,
    position: i + 1,
  }));
}

/**
 * Replaces the IdP's rules with `rules` in one transaction, straight in the table; the table's trigger
 * tells every server instance to drop its cached configuration.
 */
export async function setRules(url: string, idpId: string, rules: readonly BenchRule[]): Promise<void> {
  await withClient(url, async (c) => {
    await c.query('begin');
    await c.query('delete from jwt_bearer_idp_rules where idp_id = $1', [idpId]);
    for (const rule of rules) {
      await c.query(`insert into jwt_bearer_idp_rules (idp_id, name, condition, mode, position) values ($1, $2, $3, 'enforce', $4)`, [
        idpId,
        rule.name,
        rule.condition,
        rule.position,
      ]);
    }
    await c.query('commit');
  });
}

/** Audit rows of tokens the rule `name` admitted. */
export async function tokensAdmittedBy(url: string, name: string): Promise<number> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ n: string }>('select count(*) as n from jwt_bearer_issued_tokens where rule_name = $1', [name]);
    return Number(rows[0]!.n);
  });
}
