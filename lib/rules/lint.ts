import type { IdentityProviderRecord, TrustRuleRecord } from '../types';
import { compileExpression, type CelNode } from './cel';

/**
 * Warnings about trust rules that compile but trust more than their author likely meant
 * (docs/workload-identity.md, "Lint"). Some workload issuers sign tokens for every customer with one key
 * and one issuer name — GitHub Actions, GitLab.com, HCP Terraform — so a rule there must bind the
 * customer by an immutable id; a name (an organisation, a repository, a group path) can be renamed and
 * then registered by someone else. The lint reads the CEL parse tree for the claims a condition binds;
 * it never evaluates anything and never refuses a save.
 */

/** The stable codes of {@link RuleWarning}. */
export type RuleWarningCode = 'owner_id_unbound' | 'mutable_name_only' | 'shared_issuer_no_rules';

/** One lint finding: a code, the rule it is about (absent: the IdP as a whole), and a sentence for the operator. */
export interface RuleWarning {
  code: RuleWarningCode;
  rule?: string;
  message: string;
}

/** A claim that names something by a mutable name, and the immutable ids that pin the same thing. */
interface MutableName {
  claim: string;
  ids: readonly string[];
}

/** An issuer that signs tokens for every customer of a platform, and what pins a customer there. */
interface SharedIssuer {
  issuer: string;
  platform: string;
  /** The claim that carries the customer's (owner's) immutable id. */
  ownerId: string;
  /** How a `sub` can pin the owner by id, for the message; absent where it cannot. */
  immutableSub?: string;
  /** Whether a `sub` literal (or prefix) pins the owner by id. */
  subPinsOwner(literal: string): boolean;
  /** The ids whose things a `sub` literal names by name instead (none: it is made of ids, or of nothing we know). */
  subNamesWithout(literal: string): string[];
}

/** GitHub's immutable subject: `repo:OWNER@OWNER_ID/REPO@REPO_ID:…`; the owner is pinned once its `@ID/` is there. */
const GITHUB_OWNER_ID_SUB = /^repo:[^/:@]+@[0-9]+\//;
const WITH_ID = /@[0-9]+$/;

const SHARED_ISSUERS: readonly SharedIssuer[] = [
  {
    issuer: 'https://token.actions.githubusercontent.com',
    platform: 'GitHub',
    ownerId: 'repository_owner_id',
    immutableSub: 'repo:OWNER@ID/REPO@ID:…',
    subPinsOwner: (literal) => GITHUB_OWNER_ID_SUB.test(literal),
    subNamesWithout(literal) {
      // repo:OWNER[@ID][/REPO[@ID]][:…] — each part present without its @ID is a name.
      const parts = /^repo:([^/:]*)(?:\/([^:]*))?/.exec(literal);
      if (!parts) return [];
      const [, owner, repository] = parts;
      const without: string[] = [];
      if (owner && !WITH_ID.test(owner)) without.push('repository_owner_id');
      if (repository && !WITH_ID.test(repository)) without.push('repository_id');
      return without;
    },
  },
  {
    issuer: 'https://gitlab.com',
    platform: 'GitLab.com',
    ownerId: 'namespace_id',
    subPinsOwner: () => false,
    // project_path:GROUP/PROJECT:ref_type:…:ref:…
    subNamesWithout: (literal) => (literal.startsWith('project_path:') ? ['namespace_id', 'project_id'] : []),
  },
  {
    issuer: 'https://app.terraform.io',
    platform: 'HCP Terraform',
    ownerId: 'terraform_organization_id',
    subPinsOwner: () => false,
    // organization:ORG:project:PROJECT:workspace:WORKSPACE:run_phase:…
    subNamesWithout: (literal) => (literal.startsWith('organization:') ? ['terraform_organization_id', 'terraform_workspace_id'] : []),
  },
];

/**
 * Name claims of these platforms and the ids that pin the same thing. Checked on every IdP: the same
 * claims appear in tokens of GitHub Enterprise Server and self-managed GitLab, where names move too.
 */
const MUTABLE_NAMES: readonly MutableName[] = [
  { claim: 'repository_owner', ids: ['repository_owner_id'] },
  { claim: 'repository', ids: ['repository_id'] },
  { claim: 'namespace_path', ids: ['namespace_id'] },
  { claim: 'project_path', ids: ['project_id'] },
  { claim: 'terraform_organization_name', ids: ['terraform_organization_id'] },
  { claim: 'terraform_workspace_name', ids: ['terraform_workspace_id'] },
];

/** The shared issuer `name` is, if any (a trailing slash and the case of scheme and host aside). */
function sharedIssuerOf(name: string): SharedIssuer | undefined {
  const normalised = name.replace(/\/+$/, '').toLowerCase();
  return SHARED_ISSUERS.find((shared) => shared.issuer === normalised);
}

/**
 * The lint of an IdP's trust rules. Warnings, never errors: the admin API and the CLI show them with
 * every answer about the IdP or its rules and store the rules regardless.
 *
 * - `owner_id_unbound`: an IdP of a shared issuer has a rule (enforced or shadow) whose condition does
 *   not bind the owner-id claim (GitHub `repository_owner_id` or an immutable `sub` `repo:OWNER@ID/…`,
 *   GitLab.com `namespace_id`, HCP Terraform `terraform_organization_id`) in every `||` alternative.
 * - `mutable_name_only`: a rule binds a name claim (`repository_owner`, `repository`, `namespace_path`,
 *   `project_path`, `terraform_organization_name`, `terraform_workspace_name`, or on a shared issuer a
 *   `sub` made of names) without the id that pins the same thing, in some alternative.
 * - `shared_issuer_no_rules`: an IdP of a shared issuer with no enforced rule, which admits every
 *   customer of the platform.
 *
 * A claim counts as bound where the condition requires it to equal a literal (`claims.x == 'v'`,
 * `claims['x'] == 'v'`, either side) or to be `in` a list of literals; for a GitHub `sub` also
 * `claims.sub.startsWith('repo:OWNER@ID/')`. Anything under `!`, inside a macro or a function call, or
 * compared otherwise binds nothing. A rule whose expression does not compile binds nothing.
 *
 * @example
 * lintIdentityProvider({ name: 'https://gitlab.com', rules: [{ name: 'ci', condition: "claims.project_path == 'acme/app'", … }] });
 * // → owner_id_unbound (rule ci), mutable_name_only (rule ci)
 */
export function lintIdentityProvider(idp: Pick<IdentityProviderRecord, 'name' | 'rules'>): RuleWarning[] {
  const shared = sharedIssuerOf(idp.name);
  const warnings: RuleWarning[] = [];
  if (shared && !idp.rules.some((rule) => rule.mode === 'enforce')) {
    warnings.push({
      code: 'shared_issuer_no_rules',
      message:
        `${shared.issuer} signs tokens for every ${shared.platform} customer, and this identity provider has no enforced trust rule: ` +
        `it admits all of them. Add a rule that binds claims.${shared.ownerId}.`,
    });
  }
  for (const rule of idp.rules) warnings.push(...lintRule(rule, shared));
  return warnings;
}

function lintRule(rule: Pick<TrustRuleRecord, 'name' | 'condition'>, shared: SharedIssuer | undefined): RuleWarning[] {
  const alternatives = conditionAlternatives(rule.condition);
  const warnings: RuleWarning[] = [];
  if (shared && !alternatives.every((bindings) => bindsOwner(bindings, shared))) {
    const some = alternatives.length > 1 && alternatives.some((bindings) => bindsOwner(bindings, shared));
    warnings.push({
      code: 'owner_id_unbound',
      rule: rule.name,
      message:
        `Rule "${rule.name}" does not bind claims.${shared.ownerId}${some ? ' in every || alternative' : ''}: ` +
        `${shared.issuer} signs tokens for every ${shared.platform} customer, so it would admit tokens of others. ` +
        `Require claims.${shared.ownerId} == '<id>'${shared.immutableSub ? ` (or an immutable sub, '${shared.immutableSub}')` : ''}.`,
    });
  }
  const names = new Set<string>();
  const missing = new Set<string>();
  for (const bindings of alternatives) {
    for (const name of mutableNamesBound(bindings, shared)) {
      names.add(name.claim);
      name.ids.filter((id) => !bindings.some((b) => b.claim === id)).forEach((id) => missing.add(id));
    }
  }
  if (names.size > 0) {
    const list = andList([...names]);
    warnings.push({
      code: 'mutable_name_only',
      rule: rule.name,
      message:
        `Rule "${rule.name}" binds ${list} by name without ${andList([...missing])}: a name can be renamed and then taken by someone else. ` +
        'Bind the immutable id as well.',
    });
  }
  return warnings;
}

/** `a`, `a and b`, `a, b and c`. */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Whether one alternative pins the shared issuer's owner: its id claim, or an immutable `sub`. */
function bindsOwner(bindings: readonly Binding[], shared: SharedIssuer): boolean {
  return bindings.some(
    (b) => b.claim === shared.ownerId || (b.claim === 'sub' && b.values.every((v) => typeof v === 'string' && shared.subPinsOwner(v))),
  );
}

/** The name claims one alternative binds without the ids that pin the same thing, with the ids it lacks. */
function mutableNamesBound(bindings: readonly Binding[], shared: SharedIssuer | undefined): MutableName[] {
  const bound = (claim: string) => bindings.some((b) => b.claim === claim);
  const found: MutableName[] = [];
  for (const name of MUTABLE_NAMES) {
    const lacking = name.ids.filter((id) => !bound(id));
    if (bound(name.claim) && lacking.length > 0) found.push({ claim: name.claim, ids: lacking });
  }
  if (shared) {
    const lacking = new Set<string>();
    for (const b of bindings.filter((b) => b.claim === 'sub')) {
      for (const value of b.values) if (typeof value === 'string') shared.subNamesWithout(value).forEach((id) => lacking.add(id));
    }
    const unpinned = [...lacking].filter((id) => !bound(id));
    if (unpinned.length > 0) found.push({ claim: 'sub', ids: unpinned });
  }
  return found;
}

// ---- what a condition binds ---------------------------------------------------------------------

/** A claim the condition requires to equal one of `values` (or, `prefix`, to start with one). */
interface Binding {
  claim: string;
  kind: 'equals' | 'prefix';
  values: readonly unknown[];
}

/** More alternatives than this are merged into one (what every one of them binds): a bound on the work. */
const MAX_ALTERNATIVES = 64;

/**
 * The condition as alternatives (a disjunctive normal form of its `&&` and `||`), each the list of
 * claims it binds. A condition that does not compile is one alternative binding nothing.
 */
function conditionAlternatives(condition: string): Binding[][] {
  let ast: CelNode;
  try {
    ast = compileExpression(condition, 'condition').ast;
  } catch {
    return [[]];
  }
  return alternativesOf(ast);
}

function alternativesOf(node: CelNode): Binding[][] {
  switch (node.op) {
    case '&&': {
      const [left, right] = node.args as [CelNode, CelNode];
      return conjoin(alternativesOf(left), alternativesOf(right));
    }
    case '||': {
      const [left, right] = node.args as [CelNode, CelNode];
      return cap([...alternativesOf(left), ...alternativesOf(right)]);
    }
    case '?:': {
      // c ? a : b is (c && a) || b, as far as what must hold.
      const [test, then, otherwise] = node.args as [CelNode, CelNode, CelNode];
      return cap([...conjoin(alternativesOf(test), alternativesOf(then)), ...alternativesOf(otherwise)]);
    }
    default: {
      const binding = bindingOf(node);
      return [binding ? [binding] : []];
    }
  }
}

function conjoin(left: Binding[][], right: Binding[][]): Binding[][] {
  return cap(left.flatMap((a) => right.map((b) => [...a, ...b])));
}

/** Too many alternatives: one that binds what all of them bind (the owner-id verdict stays the same). */
function cap(alternatives: Binding[][]): Binding[][] {
  if (alternatives.length <= MAX_ALTERNATIVES) return alternatives;
  const [first, ...rest] = alternatives;
  return [first!.filter((b) => rest.every((other) => other.some((o) => o.claim === b.claim)))];
}

/** The binding one comparison makes, if it is one: `claim == literal`, `claim in [literals]`, `claims.sub.startsWith(literal)`. */
function bindingOf(node: CelNode): Binding | null {
  if (node.op === '==') {
    const [left, right] = node.args as [CelNode, CelNode];
    const claim = claimOf(left) ?? claimOf(right);
    const literal = claimOf(left) !== null ? literalOf(right) : literalOf(left);
    return claim !== null && literal.is ? { claim, kind: 'equals', values: [literal.value] } : null;
  }
  if (node.op === 'in') {
    const [left, right] = node.args as [CelNode, CelNode];
    const claim = claimOf(left);
    if (claim === null || right.op !== 'list') return null;
    const items = (right.args as CelNode[]).map(literalOf);
    return items.length > 0 && items.every((item) => item.is) ? { claim, kind: 'equals', values: items.map((item) => item.value) } : null;
  }
  if (node.op === 'rcall') {
    const [method, target, args] = node.args as [string, CelNode, CelNode[]];
    if (method !== 'startsWith' || args.length !== 1 || claimOf(target) !== 'sub') return null;
    const prefix = literalOf(args[0]!);
    return prefix.is && typeof prefix.value === 'string' ? { claim: 'sub', kind: 'prefix', values: [prefix.value] } : null;
  }
  return null;
}

/** The top-level claim a node reads (`claims.x`, `claims['x']`), or `null`. */
function claimOf(node: CelNode): string | null {
  const args = node.args as unknown[];
  if (!Array.isArray(args) || args.length !== 2 || !isClaimsVariable(args[0])) return null;
  if (node.op === '.' && typeof args[1] === 'string') return args[1];
  if (node.op === '[]') {
    const key = literalOf(args[1] as CelNode);
    return key.is && typeof key.value === 'string' ? key.value : null;
  }
  return null;
}

function isClaimsVariable(node: unknown): boolean {
  const n = node as CelNode | null;
  return n !== null && typeof n === 'object' && n.op === 'id' && n.args === 'claims';
}

/** A literal value (a constant, or a negated numeric constant). */
function literalOf(node: CelNode | undefined): { is: true; value: unknown } | { is: false } {
  if (!node || typeof node !== 'object') return { is: false };
  if (node.op === 'value') return { is: true, value: node.args };
  if (node.op === '-_' && (node.args as CelNode)?.op === 'value') return { is: true, value: (node.args as CelNode).args };
  return { is: false };
}
