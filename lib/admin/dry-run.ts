import { JwtBearerError, type ReasonCode } from '../errors';
import { checkScopePolicy, parseRequestedScope } from '../grant/scope';
import type { IdentityProviderRecord, Tenant } from '../types';
import type { AssertionVerifier } from '../verifier';
import { explainRules, type RuleExplanation, type RuleVariables } from '../rules';
import type { AdminRepository } from './repository';

/** What `POST /assertions/validate` is asked. */
export interface DryRunInput {
  assertion: string;
  /** The client that would present the assertion; without it the IdP's allowed-clients list is not judged. */
  clientId?: string;
  /** The `scope` parameter the client would send (space-separated). */
  scope?: string;
}

/** Parts of docs/validation.md that a dry run cannot judge without a real token request and the host's model. */
export type NotChecked = 'allowed_clients' | 'client_scopes' | 'model_validate_scope' | 'resolve_user';

/** The answer of `POST /assertions/validate`. */
export interface DryRunResult {
  /** Whether steps 1–8, as far as they can be judged here, accept the assertion, and step 9 would too (not used yet). */
  valid: boolean;
  /** The first rule that refuses it (the same code the token endpoint logs). */
  reason?: ReasonCode;
  /** The token endpoint's fixed sentence for `reason`. */
  description?: string;
  /** The IdP its `iss` names, where that is an enabled IdP of this tenant. */
  idp?: { id: string; name: string };
  /** The verified claims (only once the signature and claims were verified: unverified claims prove nothing). */
  claims?: Record<string, unknown>;
  /** The verified JOSE header (only when valid). */
  header?: Record<string, unknown>;
  /** The key that verified the signature, e.g. `cert:<thumbprint>` (only when valid). */
  keyId?: string;
  /**
   * Whether its `jti` (or signing-input hash) is already recorded, so that step 9 would refuse it now.
   * `true` comes with `valid: false` and reason `jti_replayed` (the token endpoint's answer for it),
   * still with the verified `claims`/`header`/`keyId`. Read, never written: a dry run burns nothing.
   * Present once steps 1–7 passed.
   */
  alreadyUsed?: boolean;
  /**
   * Each trust rule's verdict (enforced rules in order, then shadow rules), where the IdP has rules and
   * the assertion got as far as them (docs/workload-identity.md "Explain"): whether it matched, whether
   * the client is one of its clients, the first top-level `&&` conjunct of its condition that is not
   * true, why that conjunct has no value, and the subject it hands to the host.
   */
  rules?: RuleExplanation[];
  /** The enforced rule that admits the assertion (only when valid and the IdP has enforced rules). */
  rule?: string;
  /** What the IdP's shadow rules would decide, where it has any; reported, never enforced. */
  shadow?: { decision: 'would_allow' | 'would_deny'; rule?: string };
  /** What this dry run did not judge. */
  notChecked: NotChecked[];
}

export interface DryRunDeps {
  verifier: AssertionVerifier;
  repository: AdminRepository;
  tokenEndpointUrl?: string;
  now?: Date;
}

/**
 * A dry run of docs/validation.md steps 1–8 for one assertion in `tenant`, with the grant's own verifier, so it
 * says exactly why the token endpoint would refuse it. It writes nothing: no replay record, no audit row.
 *
 * Steps 1–6 run as in the grant. Step 6's allowed-clients rule, and the clients lists of trust rules, are
 * judged only when `clientId` is given (without it, `client.id` is the empty string in rule conditions).
 * Where the IdP has trust rules, each one's verdict is explained, also when none admits the assertion.
 * Step 7 judges `scope` against the IdP's allowed scopes; the client's own scopes and the host model's
 * `validateScope` live in the host, so they are listed in `notChecked`. Step 8 (`resolveUser`) is the
 * host's hook too: not judged. Step 9 is looked at read-only: a recorded `jti` is refused as
 * `jti_replayed` (with `alreadyUsed: true`), exactly as the token endpoint would refuse it.
 *
 * A refusal is an answer (`valid: false`), not an error; a database or key source that cannot answer
 * is thrown (503), since "unavailable" is not a verdict on the assertion.
 */
export async function dryRunAssertion(deps: DryRunDeps, tenant: Tenant, input: DryRunInput): Promise<DryRunResult> {
  const now = deps.now ?? new Date();
  const notChecked: NotChecked[] = [];
  if (input.clientId === undefined) notChecked.push('allowed_clients');
  notChecked.push('client_scopes', 'model_validate_scope', 'resolve_user');

  let found: IdentityProviderRecord | undefined;
  // What the rules were judged on, once the verifier got that far: explained whatever they decided.
  let ruleInput: { idp: IdentityProviderRecord; variables: RuleVariables } | undefined;
  let shadow: DryRunResult['shadow'];
  const rulesParts = (): Pick<DryRunResult, 'rules' | 'shadow'> =>
    ruleInput && ruleInput.idp.rules.length > 0
      ? { rules: explainRules(ruleInput.idp, ruleInput.variables), ...(shadow ? { shadow } : {}) }
      : {};
  try {
    const verified = await deps.verifier.verify(input.assertion, {
      tenantId: tenant.id,
      clientId: input.clientId ?? '',
      now,
      tokenEndpointUrl: deps.tokenEndpointUrl,
      findIdentityProvider: async (issuer) => {
        const idp = await deps.repository.findIdentityProviderByName(tenant.id, issuer);
        if (!idp) return null;
        if (idp.enabled && idp.tenantId === tenant.id) found = idp;
        // Without a client, the client lists cannot be judged: hand the verifier a copy without them.
        return input.clientId === undefined
          ? { ...idp, allowedClients: null, rules: idp.rules.map((rule) => ({ ...rule, clients: [] })) }
          : idp;
      },
      onRuleInput: (idp, variables) => {
        ruleInput = { idp, variables };
      },
      onShadowVerdict: (verdict) => {
        shadow = verdict.decision === 'would_allow' ? { decision: verdict.decision, rule: verdict.rule } : { decision: verdict.decision };
      },
    });
    // Step 7, the IdP's and the admitting rule's part.
    checkScopePolicy(parseRequestedScope(input.scope), verified.idp.allowedScopes, null, verified.rule?.scopes ?? null);

    // Under the reuse policy no use is recorded and none refuses (a record left from an earlier `once` period neither).
    const alreadyUsed =
      verified.idp.replayPolicy !== 'reuse' &&
      (await deps.repository.isReplayRecorded(
        { tenantId: verified.idp.tenantId, idpName: verified.idp.name, replayKey: verified.replayKey },
        now,
      ));
    const verifiedParts = {
      idp: { id: verified.idp.id, name: verified.idp.name },
      claims: verified.claims,
      header: verified.header,
      keyId: verified.keyId,
      alreadyUsed,
      ...rulesParts(),
      ...(verified.rule ? { rule: verified.rule.name } : {}),
      notChecked,
    };
    // A used assertion is refused by the token endpoint (step 9), so the dry run says so with the same
    // reason: "valid, but already used" read as "fine" to someone asking why their request fails.
    if (alreadyUsed) {
      const replayed = new JwtBearerError('jti_replayed');
      return { valid: false, reason: replayed.reason, description: replayed.description, ...verifiedParts };
    }
    return { valid: true, ...verifiedParts };
  } catch (error) {
    if (!(error instanceof JwtBearerError) || error.status >= 500) throw error;
    const result: DryRunResult = { valid: false, reason: error.reason, description: error.description, notChecked };
    if (found) result.idp = { id: found.id, name: found.name };
    // Past the rule input, the signature and claims are verified: show them, and the rules' verdicts.
    if (ruleInput) Object.assign(result, { claims: ruleInput.variables.claims, header: ruleInput.variables.header }, rulesParts());
    return result;
  }
}
