/**
 * docs/workload-identity.md, "Lint": the warnings about trust rules that compile but trust more than
 * meant, read from the CEL parse tree. Conditions are the kind operators write for GitHub Actions,
 * GitLab.com and HCP Terraform; the templates must lint clean.
 */
import { lintIdentityProvider, type RuleWarning } from '../../lib/rules/lint';
import { instantiateTemplate, TRUST_RULE_TEMPLATES } from '../../lib/rules/templates';
import type { TrustRuleMode, TrustRuleRecord } from '../../lib/types';

const GITHUB = 'https://token.actions.githubusercontent.com';
const GITLAB = 'https://gitlab.com';
const TERRAFORM = 'https://app.terraform.io';

let ids = 0;
function rule(condition: string, name = 'r', mode: TrustRuleMode = 'enforce'): TrustRuleRecord {
  const at = new Date('2026-01-01T00:00:00Z');
  return { id: String(++ids), name, condition, subject: null, clients: [], scopes: null, mode, position: 0, createdAt: at, updatedAt: at };
}

/** The warning codes of one rule on `issuer`. */
const codes = (issuer: string, condition: string) => lintIdentityProvider({ name: issuer, rules: [rule(condition)] }).map((w) => w.code);

describe('the templates', () => {
  it.each(TRUST_RULE_TEMPLATES.map((t) => [t.id, t] as const))(
    '%s, filled with its examples, lints clean on its issuer',
    (_id, template) => {
      const values = Object.fromEntries(template.parameters.map((p) => [p.name, p.example]));
      const filled = instantiateTemplate(template.id, values);
      const issuer = template.issuer ?? 'https://kubernetes.default.svc.cluster.local';
      expect(lintIdentityProvider({ name: issuer, rules: [{ ...rule(filled.condition, filled.name), subject: filled.subject }] })).toEqual(
        [],
      );
    },
  );
});

describe('owner_id_unbound', () => {
  it('GitHub: a rule that pins the repository only by name, or only a branch, does not bind the owner', () => {
    const warnings = lintIdentityProvider({
      name: GITHUB,
      rules: [rule("claims.repository == 'octo-org/app' && claims.ref == 'refs/heads/main'", 'deploy')],
    });
    expect(warnings).toEqual<RuleWarning[]>([
      {
        code: 'owner_id_unbound',
        rule: 'deploy',
        message:
          `Rule "deploy" does not bind claims.repository_owner_id: ${GITHUB} signs tokens for every GitHub customer, so it would admit tokens of others. ` +
          "Require claims.repository_owner_id == '<id>' (or an immutable sub, 'repo:OWNER@ID/REPO@ID:…').",
      },
      {
        code: 'mutable_name_only',
        rule: 'deploy',
        message:
          'Rule "deploy" binds repository by name without repository_id: a name can be renamed and then taken by someone else. Bind the immutable id as well.',
      },
    ]);
    expect(codes(GITHUB, "claims.ref == 'refs/heads/main' && claims.event_name == 'push'")).toEqual(['owner_id_unbound']);
    expect(codes(GITHUB, 'true')).toEqual(['owner_id_unbound']);
  });

  it('GitHub: the owner id bound by ==, either way round, by bracket, or by `in` a list of literals', () => {
    for (const condition of [
      "claims.repository_owner_id == '1342004' && claims.ref == 'refs/heads/main'",
      "'1342004' == claims.repository_owner_id",
      "claims['repository_owner_id'] == '1342004'",
      "claims.repository_owner_id in ['1342004', '9919']",
      "claims.ref == 'refs/heads/main' && (claims.environment == 'prod' && claims.repository_owner_id == '1342004')",
    ]) {
      expect({ condition, codes: codes(GITHUB, condition) }).toEqual({ condition, codes: [] });
    }
  });

  it('GitHub: the immutable sub binds the owner (== or startsWith up to the owner id and its slash)', () => {
    expect(codes(GITHUB, "claims.sub == 'repo:octo-org@1342004/app@17273051:ref:refs/heads/main'")).toEqual([]);
    expect(codes(GITHUB, "claims.sub.startsWith('repo:octo-org@1342004/app@17273051:')")).toEqual([]);
    expect(codes(GITHUB, "claims.sub.startsWith('repo:octo-org@1342004/')")).toEqual([]);
    // Without the slash, 'repo:octo-org@13420049/…' (another owner) would match too.
    expect(codes(GITHUB, "claims.sub.startsWith('repo:octo-org@1342004')")).toEqual(['owner_id_unbound']);
    // The name form pins nothing that cannot be renamed and re-registered.
    expect(codes(GITHUB, "claims.sub == 'repo:octo-org/app:ref:refs/heads/main'")).toEqual(['owner_id_unbound', 'mutable_name_only']);
    expect(codes(GITHUB, "claims.sub.startsWith('repo:octo-org/')")).toEqual(['owner_id_unbound', 'mutable_name_only']);
  });

  it('counts a binding only where the condition requires it: not under !, !=, a method, a macro or a ternary branch alone', () => {
    for (const condition of [
      "!(claims.repository_owner_id != '1342004')",
      "claims.repository_owner_id != '1'",
      "claims.repository_owner_id.startsWith('1342')",
      "claims.repository_owner_id.matches('^1342004$')",
      'has(claims.repository_owner_id)',
      "[claims.repository_owner_id].exists(id, id == '1342004')",
      'claims.repository_owner_id == claims.repository_id',
      "claims.environment == 'prod' ? claims.repository_owner_id == '1342004' : true",
    ]) {
      expect({ condition, codes: codes(GITHUB, condition) }).toEqual({ condition, codes: ['owner_id_unbound'] });
    }
    // Both branches of a ternary binding it is a binding.
    expect(codes(GITHUB, "claims.environment == 'prod' ? claims.repository_owner_id == '1' : claims.repository_owner_id == '2'")).toEqual(
      [],
    );
  });

  it('|| alternatives: the owner id must be bound in every one', () => {
    const some = lintIdentityProvider({
      name: GITHUB,
      rules: [rule("claims.repository_owner_id == '1342004' || claims.ref == 'refs/heads/main'", 'either')],
    });
    expect(some).toEqual([
      {
        code: 'owner_id_unbound',
        rule: 'either',
        message: expect.stringMatching(/^Rule "either" does not bind claims\.repository_owner_id in every \|\| alternative: /),
      },
    ]);
    expect(
      codes(GITHUB, "(claims.repository_owner_id == '1' || claims.repository_owner_id == '2') && claims.ref == 'refs/heads/main'"),
    ).toEqual([]);
    expect(
      codes(GITHUB, "claims.repository_owner_id == '1' && (claims.ref == 'refs/heads/main' || claims.ref.startsWith('refs/tags/'))"),
    ).toEqual([]);
    expect(
      codes(
        GITHUB,
        "(claims.repository_owner_id == '1' && claims.repository_id == '2') || claims.sub == 'repo:evil@9/x@8:ref:refs/heads/main'",
      ),
    ).toEqual([]);
  });

  it('stays correct past the bound on alternatives (many ||s and &&s)', () => {
    const pairs = Array.from({ length: 8 }, (_, i) => `(claims.ref == 'a${i}' || claims.ref == 'b${i}')`).join(' && ');
    expect(codes(GITHUB, `claims.repository_owner_id == '1' && ${pairs}`)).toEqual([]);
    expect(codes(GITHUB, pairs)).toEqual(['owner_id_unbound']);
  });

  it('GitLab.com and HCP Terraform: namespace_id and terraform_organization_id', () => {
    expect(codes(GITLAB, "claims.namespace_id == '4' && claims.project_id == '22'")).toEqual([]);
    expect(codes(GITLAB, "claims.project_id == '22' && claims.ref_protected == 'true'")).toEqual(['owner_id_unbound']);
    expect(codes(GITLAB, "claims.sub == 'project_path:acme/app:ref_type:branch:ref:main'")).toEqual([
      'owner_id_unbound',
      'mutable_name_only',
    ]);
    expect(codes(TERRAFORM, "claims.terraform_organization_id == 'org-AbC123' && claims.terraform_workspace_id == 'ws-9'")).toEqual([]);
    expect(codes(TERRAFORM, "claims.terraform_workspace_id == 'ws-9'")).toEqual(['owner_id_unbound']);
  });

  it('shadow rules are judged too; other issuers are not shared', () => {
    const shadow = lintIdentityProvider({
      name: GITLAB,
      rules: [rule("claims.namespace_id == '4'", 'enforced'), rule("claims.ref == 'main'", 'trial', 'shadow')],
    });
    expect(shadow.map((w) => [w.code, w.rule])).toEqual([['owner_id_unbound', 'trial']]);
    expect(codes('https://idp.example.com', 'true')).toEqual([]);
    expect(codes('https://token.actions.githubusercontent.com.evil.test', 'true')).toEqual([]);
    // The issuer is recognised with a trailing slash or another case of its host, as an operator may type it.
    expect(codes('https://GitLab.com/', 'true')).toEqual(['owner_id_unbound']);
  });

  it('a condition that does not compile binds nothing', () => {
    expect(codes(GITHUB, "claims.repository_owner_id == '1' &&")).toEqual(['owner_id_unbound']);
  });
});

describe('mutable_name_only', () => {
  it('names each name claim bound without its id, on any issuer (GitHub Enterprise Server, self-managed GitLab)', () => {
    const [warning] = lintIdentityProvider({
      name: 'https://gitlab.example.com',
      rules: [rule("claims.namespace_path == 'acme' && claims.project_path == 'acme/app'", 'by-path')],
    });
    expect(warning).toEqual({
      code: 'mutable_name_only',
      rule: 'by-path',
      message:
        'Rule "by-path" binds namespace_path and project_path by name without namespace_id and project_id: ' +
        'a name can be renamed and then taken by someone else. Bind the immutable id as well.',
    });
    expect(codes('https://ghes.example.com/_services/token', "claims.repository_owner == 'octo-org'")).toEqual(['mutable_name_only']);
    expect(codes(TERRAFORM, "claims.terraform_organization_id == 'org-1' && claims.terraform_workspace_name == 'prod'")).toEqual([
      'mutable_name_only',
    ]);
  });

  it('a name beside its id is fine; a name-form sub beside both ids is fine', () => {
    expect(codes(GITHUB, "claims.repository_owner_id == '1' && claims.repository_owner == 'octo-org'")).toEqual([]);
    expect(
      codes(
        GITHUB,
        "claims.repository_owner_id == '1' && claims.repository_id == '2' && claims.sub == 'repo:octo-org/app:ref:refs/heads/main'",
      ),
    ).toEqual([]);
    // The owner pinned by id in the sub, the repository by name: still a name.
    const [warning] = lintIdentityProvider({ name: GITHUB, rules: [rule("claims.sub == 'repo:octo-org@1/app:ref:refs/heads/main'")] });
    expect(warning).toMatchObject({
      code: 'mutable_name_only',
      message: expect.stringContaining('binds sub by name without repository_id:'),
    });
  });

  it('judges each || alternative on its own', () => {
    expect(
      codes(
        GITHUB,
        "(claims.repository_owner_id == '1' && claims.repository_id == '2') || (claims.repository_owner_id == '1' && claims.repository == 'o/r')",
      ),
    ).toEqual(['mutable_name_only']);
  });
});

describe('shared_issuer_no_rules', () => {
  it('a shared issuer without enforced rules (none, or shadow only); not for other issuers', () => {
    expect(lintIdentityProvider({ name: GITHUB, rules: [] })).toEqual([
      {
        code: 'shared_issuer_no_rules',
        message:
          `${GITHUB} signs tokens for every GitHub customer, and this identity provider has no enforced trust rule: it admits all of them. ` +
          'Add a rule that binds claims.repository_owner_id.',
      },
    ]);
    expect(
      lintIdentityProvider({ name: TERRAFORM, rules: [rule("claims.terraform_organization_id == 'org-1'", 's', 'shadow')] }).map(
        (w) => w.code,
      ),
    ).toEqual(['shared_issuer_no_rules']);
    expect(lintIdentityProvider({ name: 'https://idp.example.com', rules: [] })).toEqual([]);
    expect(lintIdentityProvider({ name: 'jwtIDP', rules: [] })).toEqual([]);
  });
});
