import type { Knex } from 'knex';
import { AdminError } from '../admin/errors';
import { AdminRepository } from '../admin/repository';
import { checkRuleExpressions, createTrustRuleBody, parseInput } from '../admin/schemas';
import type { SourceRange } from '../rules/cel';
import { lintIdentityProvider, type RuleWarning } from '../rules/lint';
import { CliError } from './errors';
import { noSuchIdp, requireIdp, rethrowForCli, ruleSummary, validated, type RuleSummary } from './identity-providers';

/**
 * The `idp rule` commands: an IdP's trust rules (docs/workload-identity.md), named by IdP name and rule
 * name. Input goes through the admin API's schemas and expression compiler, writes through its
 * repository, so the CLI refuses what `POST /admin/identity-providers/:id/rules` refuses, with the same
 * sentences; an expression that does not compile is shown with a caret under the position.
 */

/** Input of {@link addTrustRule}: the rule as `idp rule add` takes it. */
export interface AddRuleInput {
  tenant: string;
  /** The IdP's name. */
  idp: string;
  name: string;
  condition: string;
  subject?: string;
  clients: string[];
  /** `undefined`: the rule puts no bound of its own on scopes. */
  scopes?: string[];
  shadow?: boolean;
  position?: number;
}

/** What a rule command reports: the IdP and tenant, the rule(s), and the lint's warnings about them. */
export interface RuleResult<R> {
  tenant: string;
  idp: string;
  rules: R;
  warnings: RuleWarning[];
}

/** Adds a trust rule to an IdP; refusals throw a {@link CliError} (with a caret line for an expression that does not compile). */
export async function addTrustRule(knex: Knex, input: AddRuleInput): Promise<RuleResult<RuleSummary>> {
  const source = { condition: input.condition, subject: input.subject };
  const rule = validated(() => {
    const body = parseInput(
      createTrustRuleBody,
      {
        name: input.name,
        condition: input.condition,
        subject: input.subject,
        clients: input.clients,
        scopes: input.scopes,
        mode: input.shadow ? 'shadow' : 'enforce',
        position: input.position,
      },
      'body',
    );
    withCaret(() => checkRuleExpressions(body), source);
    return body;
  });
  const repository = new AdminRepository(knex);
  const { tenant, idp } = await requireIdp(repository, input.tenant, input.idp);
  const added = await repository.addRule(tenant.id, idp.id, rule).catch(rethrowForCli);
  if (!added) throw noSuchIdp(input.idp, input.tenant);
  const stored = added.idp.rules.find((r) => r.id === added.ruleId)!;
  return { tenant: tenant.domain, idp: idp.name, rules: ruleSummary(stored), warnings: warningsAbout(added.idp, stored.name) };
}

/** The IdP's trust rules in evaluation order, with the lint's warnings. */
export async function listTrustRules(knex: Knex, input: { tenant: string; idp: string }): Promise<RuleResult<RuleSummary[]>> {
  const { tenant, idp } = await requireIdp(new AdminRepository(knex), input.tenant, input.idp);
  return { tenant: tenant.domain, idp: idp.name, rules: idp.rules.map(ruleSummary), warnings: lintIdentityProvider(idp) };
}

/** Removes the IdP's rule of this name. */
export async function removeTrustRule(knex: Knex, input: { tenant: string; idp: string; name: string }): Promise<void> {
  const repository = new AdminRepository(knex);
  const { tenant, idp } = await requireIdp(repository, input.tenant, input.idp);
  const rule = idp.rules.find((r) => r.name === input.name);
  const outcome = rule ? await repository.removeRule(tenant.id, idp.id, rule.id) : 'not_found';
  if (outcome === 'idp_not_found') throw noSuchIdp(input.idp, input.tenant);
  if (outcome === 'not_found') {
    throw new CliError(
      `The identity provider "${input.idp}" has no trust rule named "${input.name}". See: oauth2-jwt-bearer idp rule list --idp ${input.idp}`,
    );
  }
}

/** Warnings about `rule` and about the IdP as a whole. */
function warningsAbout(idp: Parameters<typeof lintIdentityProvider>[0], rule: string): RuleWarning[] {
  return lintIdentityProvider(idp).filter((warning) => warning.rule === undefined || warning.rule === rule);
}

/** Runs `check`; an expression error gains the expression and a caret line under its position. */
function withCaret(check: () => void, source: Record<'condition' | 'subject', string | undefined>): void {
  try {
    check();
  } catch (error) {
    const text =
      error instanceof AdminError && (error.field === 'condition' || error.field === 'subject') ? source[error.field] : undefined;
    if (!(error instanceof AdminError) || !error.position || text === undefined) throw error;
    throw new CliError(`${error.message}\n${pointAt(text, error.position)}`);
  }
}

/** Widest part of a long line shown around the position. */
const WINDOW = 100;

/**
 * Two lines: the line of `source` holding `range.start` (cut to a window around it when long), and
 * carets under the range (at least one), both indented by two spaces.
 *
 * @example
 * pointAt("claims.sub == 'a' &&", { start: 20, end: 20 });
 * // "  claims.sub == 'a' &&\n                        ^"
 */
export function pointAt(source: string, range: SourceRange): string {
  const start = Math.min(Math.max(range.start, 0), source.length);
  const lineStart = source.lastIndexOf('\n', start - 1) + 1;
  const newline = source.indexOf('\n', start);
  const lineEnd = newline === -1 ? source.length : newline;
  let line = source.slice(lineStart, lineEnd).replace(/\t/g, ' ');
  let column = start - lineStart;
  const width = Math.max(1, Math.min(Math.max(range.end, start), lineEnd) - start);
  if (line.length > WINDOW) {
    const from = Math.max(0, Math.min(column - WINDOW / 2, line.length - WINDOW));
    const cut = line.slice(from, from + WINDOW);
    line = `${from > 0 ? '…' : ''}${cut}${from + WINDOW < line.length ? '…' : ''}`;
    column = column - from + (from > 0 ? 1 : 0);
  }
  return `  ${line}\n  ${' '.repeat(column)}${'^'.repeat(Math.min(width, Math.max(1, line.length - column)))}`;
}
