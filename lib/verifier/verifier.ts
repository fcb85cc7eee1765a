import { createHash } from 'node:crypto';
import { ConfigurationError, JwtBearerError } from '../errors';
import { defaultKeySources } from '../keys/combine';
import type { KeySource } from '../keys/types';
import type { IdentityProviderRecord, VerifiedAssertion } from '../types';
import { checkClaims } from './claims';
import { VERIFIER_DEFAULTS, decodeAssertion } from './decode';
import { checkAlgorithmAllowed, checkHeader } from './header';
import { checkPolicy } from './policy';
import { verifySignature } from './signature';
import { isStorableText } from '../shared/text';
// The modules themselves, not the rules index: its re-exports compile to getters on the hot path.
import { ruleVariables, type RuleVariables } from '../rules/cel';
import { compiledRulesOf, matchRule, shadowVerdict, type ShadowVerdict } from '../rules/rule-set';

/** Options of {@link createAssertionVerifier}; all optional, validated when the verifier is built. */
export interface AssertionVerifierOptions {
  /** Longest accepted assertion in bytes (docs/validation.md step 1; default 16384). */
  maxAssertionBytes?: number;
  /**
   * Where IdP keys come from (default: {@link defaultKeySources}, i.e. the IdP's stored certificates, its
   * JWKS URI and its OpenID Provider configuration document's `jwks_uri`, combined). Every source is
   * asked; the union of their keys is used. Pass your own list to share one key cache between verifiers
   * or to bound the JWKS source differently.
   */
  keySources?: readonly KeySource[];
}

/** What {@link AssertionVerifier.verify} needs to know about the request. */
export interface VerifyContext {
  /** The tenant of the request: an IdP of any other tenant is treated as unknown. */
  tenantId: string;
  /** The authenticated client (docs/validation.md step 6). */
  clientId: string;
  /** The time to judge by (default: the clock). */
  now?: Date;
  /** Looks up the tenant's IdP whose name is `issuer`; `null` when there is none. */
  findIdentityProvider(issuer: string): Promise<IdentityProviderRecord | null>;
  /** This token endpoint's URL: the audience accepted where the IdP has no alias. */
  tokenEndpointUrl?: string;
  /** Told what the IdP's shadow rules would decide, where it has any (whether or not the assertion is then admitted). */
  onShadowVerdict?(verdict: ShadowVerdict): void;
  /**
   * Told the IdP and what its trust rules are judged on (the verified claims and header, the client),
   * once steps 1–6 up to the rules have passed and before the rules are applied; the admin dry run
   * explains the rules with them, whatever the rules then decide.
   */
  onRuleInput?(idp: IdentityProviderRecord, variables: RuleVariables): void;
}

/** A verified assertion, with the id of the key that verified it (for logs). */
export interface VerifierResult extends VerifiedAssertion {
  keyId: string;
}

/** Verifies JWT bearer assertions; one per process, shared by the grant and the admin dry run. */
export interface AssertionVerifier {
  /**
   * Runs docs/validation.md steps 1 (format and size), 2, 3, 4, 5 and 6 on `assertion`. Throws a
   * {@link JwtBearerError} whose `reason` says which rule refused it; errors of `findIdentityProvider`
   * (e.g. the store being down) pass through unchanged.
   */
  verify(assertion: string, ctx: VerifyContext): Promise<VerifierResult>;
}

/**
 * Builds the assertion verifier of the JWT bearer grant (RFC 7523 §3). Build one and keep it: it holds
 * the key caches.
 *
 * Order (first failure wins; docs/validation.md step numbers in brackets). The step-2 header checks that need no
 * IdP come before the lookup, so that `none`, HMAC and `crit` are refused without a database read; the
 * allow-list is per IdP, so that one check follows the lookup.
 *
 * 1. [1] size → `assertion_too_large`;
 * 2. [1] three strict, canonical base64url segments; header and payload UTF-8 JSON objects without
 *    duplicate or `__proto__` members → `assertion_malformed`;
 * 3. [2] `alg` a string naming a supported asymmetric algorithm (never `none`, never HMAC) → `alg_not_allowed`;
 * 4. [2] no `cty: JWT` → `assertion_malformed`; no `typ` of an access token or workload identity token
 *    (`at+jwt`, `wit+jwt`) → `token_type_not_allowed`;
 * 5. [2] no `crit` at all → `crit_unsupported`;
 * 6. [2] `kid`, `x5t`, `x5t#S256`, where present, non-empty strings → `key_not_found`;
 * 7. [3] `iss` (unverified, used only to find the IdP) a non-empty string naming an enabled IdP of this
 *    tenant → `issuer_unknown`, identical and detail-free for unknown, disabled and other-tenant IdPs;
 * 8. [2] `alg` in the IdP's allow-list → `alg_not_allowed`;
 * 9. [2] a hint names at least one of the IdP's keys → `key_not_found` (an IdP with a discovery URL:
 *    its document names this issuer → `discovery_issuer_mismatch`);
 * 10. [2/4] some key is current and of the alg's type → `no_usable_key`;
 * 11. [4] one of them verifies the signature → `signature_invalid`;
 * 12. [5] `issuer_mismatch`, `subject_invalid`, `audience_mismatch`, `exp_missing`, `assertion_expired`,
 *    `exp_too_far`, `assertion_not_yet_valid`, `iat_in_future`, `iat_too_old`, `jti_missing`, `jti_invalid`,
 *    `confirmation_unsupported`;
 * 13. [6] `subject_not_allowed`, `client_not_allowed`;
 * 14. [6] where the IdP has enforced trust rules, one of them admits the assertion → `no_rule_matched`
 *    (shadow rules are evaluated beside them and reported through `onShadowVerdict`, never enforced).
 *
 * Nothing of the payload but `iss` is acted on before the signature verifies (RFC 8725 §3.4 spirit:
 * unauthenticated claims choose nothing but which IdP's keys to try).
 *
 * @example
 * const verifier = createAssertionVerifier();
 * const { idp, claims, replayKey } = await verifier.verify(assertion, {
 *   tenantId, clientId, tokenEndpointUrl, findIdentityProvider: (iss) => store.findIdentityProvider(tenantId, iss),
 * });
 */
export function createAssertionVerifier(options: AssertionVerifierOptions = {}): AssertionVerifier {
  const maxAssertionBytes = options.maxAssertionBytes ?? VERIFIER_DEFAULTS.maxAssertionBytes;
  if (!Number.isSafeInteger(maxAssertionBytes) || maxAssertionBytes < 1) {
    throw new ConfigurationError(`maxAssertionBytes must be a positive integer (bytes); got ${String(options.maxAssertionBytes)}.`);
  }
  const keySources = options.keySources ?? defaultKeySources();
  if (!Array.isArray(keySources) || keySources.length === 0 || !keySources.every((source) => typeof source?.getKeys === 'function')) {
    throw new ConfigurationError('keySources must be a non-empty array of KeySource ({ getKeys(idp, hint) }).');
  }

  return {
    async verify(assertion: string, ctx: VerifyContext): Promise<VerifierResult> {
      const now = ctx.now ?? new Date();

      // Step 1.
      const decoded = decodeAssertion(assertion, { maxAssertionBytes });
      // Step 2, what needs no IdP.
      const { alg, hint } = checkHeader(decoded.header);

      // Step 3.
      const issuer = decoded.payload.iss;
      if (typeof issuer !== 'string' || issuer.length === 0 || !isStorableText(issuer)) {
        // Never looked up: a NUL in a query would be a database error (a 503) for anyone to trigger.
        throw new JwtBearerError('issuer_unknown', { detail: 'iss missing or not a usable string' });
      }
      const idp = await ctx.findIdentityProvider(issuer);
      if (!idp || !idp.enabled || String(idp.tenantId) !== String(ctx.tenantId)) throw new JwtBearerError('issuer_unknown');

      // Step 2, what needs the IdP; then step 4.
      checkAlgorithmAllowed(alg, idp);
      const keyId = await verifySignature(decoded, alg, hint, idp, keySources, now);

      // Steps 5 and 6.
      const claims = checkClaims(decoded.payload, { idp, now, tokenEndpointUrl: ctx.tokenEndpointUrl });
      checkPolicy(idp, claims.sub, ctx.clientId);
      const variables = ruleVariables(claims, decoded.header, ctx.clientId);
      ctx.onRuleInput?.(idp, variables);
      const admitted = applyRules(idp, variables, ctx);

      return { idp, header: decoded.header, claims, replayKey: replayKeyOf(claims, decoded.signingInput), keyId, ...admitted };
    },
  };
}

/** Step 6's trust rules (docs/workload-identity.md): the admitting rule and the subject it hands to the host. */
function applyRules(idp: IdentityProviderRecord, variables: RuleVariables, ctx: VerifyContext): Pick<VerifierResult, 'rule' | 'subject'> {
  const rules = compiledRulesOf(idp);
  if (rules.shadow.length > 0) ctx.onShadowVerdict?.(shadowVerdict(rules.shadow, variables));
  if (rules.enforced.length === 0) return { rule: null, subject: variables.claims.sub as string };
  const match = matchRule(rules.enforced, variables);
  if (!match) throw new JwtBearerError('no_rule_matched', { detail: `none of ${rules.enforced.length} rules admits the assertion` });
  return { rule: { name: match.rule.name, scopes: match.rule.scopes }, subject: match.subject };
}

/**
 * docs/validation.md step 9's key: the `jti`; or, without one, the base64url SHA-256 of the signing input. The
 * signature is left out on purpose: ECDSA signatures are malleable (`(r, s)` and `(r, n − s)` both
 * verify, RFC 6979 makes no promise of one form), so hashing them would let one assertion be replayed
 * under a "new" signature.
 */
export function replayKeyOf(claims: { jti?: string }, signingInput: string): string {
  return typeof claims.jti === 'string' ? claims.jti : createHash('sha256').update(signingInput).digest('base64url');
}
