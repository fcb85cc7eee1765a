import { validityAt } from '../certificates';
import { lintIdentityProvider, type RuleWarning } from '../rules/lint';
import type { CertificateRecord, IdentityProviderRecord, IssuedTokenRecord, TrustRuleRecord } from '../types';

/**
 * Records as the admin API shows them: plain JSON, ISO timestamps, and nothing the caller must not
 * see (no tenant id, no token hash). One function per resource so every route answers the same shape.
 */

/** A certificate in an answer. `pem` only where asked for (the single-IdP GET). */
export interface CertificateView {
  id: string;
  thumbprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  kid: string | null;
  /** Inside its validity window now (the verifier's exact rule: notBefore ≤ now ≤ notAfter, no skew). */
  currentlyValid: boolean;
  pem?: string;
}

/**
 * An identity provider in an answer: the record's settings as they are (derived, so a new setting shows
 * up here too), without the tenant id, with certificate views and ISO timestamps, and the lint's
 * warnings about its trust rules (docs/workload-identity.md).
 */
export type IdentityProviderView = Omit<IdentityProviderRecord, 'tenantId' | 'certificates' | 'rules' | 'createdAt' | 'updatedAt'> & {
  certificates: CertificateView[];
  rules: TrustRuleView[];
  createdAt: string;
  updatedAt: string;
  warnings: RuleWarning[];
};

/** A trust rule in an answer: the record with ISO timestamps. */
export type TrustRuleView = Omit<TrustRuleRecord, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

/** A trust rule as its own resource answers it: with the lint's warnings about it and about its IdP as a whole. */
export type TrustRuleAnswer = TrustRuleView & { warnings: RuleWarning[] };

export interface ViewOptions {
  /** The time `currentlyValid` is judged at. */
  now: Date;
  /** Include each certificate's PEM. */
  withPem?: boolean;
}

export function certificateView(cert: CertificateRecord, options: ViewOptions): CertificateView {
  const now = options.now.getTime();
  const view: CertificateView = {
    id: cert.id,
    thumbprint: cert.thumbprint,
    subject: cert.subject,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    kid: cert.kid,
    currentlyValid: validityAt(cert, now) === 'valid',
  };
  if (options.withPem) view.pem = cert.pem;
  return view;
}

export function identityProviderView(idp: IdentityProviderRecord, options: ViewOptions): IdentityProviderView {
  return {
    id: idp.id,
    name: idp.name,
    displayName: idp.displayName,
    enabled: idp.enabled,
    algorithms: idp.algorithms,
    jwksUri: idp.jwksUri,
    requireJti: idp.requireJti,
    maxAssertionLifetimeSeconds: idp.maxAssertionLifetimeSeconds,
    iatMaxAgeSeconds: idp.iatMaxAgeSeconds,
    clockSkewSeconds: idp.clockSkewSeconds,
    allowedSubjects: idp.allowedSubjects,
    allowedClients: idp.allowedClients,
    allowedScopes: idp.allowedScopes,
    issueRefreshToken: idp.issueRefreshToken,
    replayPolicy: idp.replayPolicy,
    discoveryUrl: idp.discoveryUrl,
    certificates: idp.certificates.map((cert) => certificateView(cert, options)),
    rules: idp.rules.map(trustRuleView),
    aliases: idp.aliases,
    createdAt: idp.createdAt.toISOString(),
    updatedAt: idp.updatedAt.toISOString(),
    warnings: lintIdentityProvider(idp),
  };
}

/** An audit row: who got a token from which IdP and when; never a token or its hash. */
export interface IssuedTokenView {
  id: string;
  /** The IdP's name (kept after the IdP is deleted). */
  idp: string;
  /** `null` once the IdP was deleted. */
  idpId: string | null;
  clientId: string;
  subject: string;
  jti: string | null;
  /** The trust rule that admitted the assertion; `null` without one. */
  rule: string | null;
  scope: string | null;
  /** The audit row this one was refreshed from, if any. */
  parentId: string | null;
  issuedAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export function issuedTokenView(row: IssuedTokenRecord): IssuedTokenView {
  return {
    id: row.id,
    idp: row.idpName,
    idpId: row.idpId,
    clientId: row.clientId,
    subject: row.subject,
    jti: row.jti,
    rule: row.ruleName,
    scope: row.scope,
    parentId: row.parentId,
    issuedAt: row.issuedAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt ? row.revokedAt.toISOString() : null,
  };
}

export function trustRuleView(rule: TrustRuleRecord): TrustRuleView {
  return { ...rule, createdAt: rule.createdAt.toISOString(), updatedAt: rule.updatedAt.toISOString() };
}

/** The answers about each of `idp`'s rules (in evaluation order), each with its warnings: one lint for them all. */
export function trustRuleAnswers(idp: IdentityProviderRecord): TrustRuleAnswer[] {
  const warnings = lintIdentityProvider(idp);
  return idp.rules.map((rule) => ({
    ...trustRuleView(rule),
    warnings: warnings.filter((warning) => warning.rule === undefined || warning.rule === rule.name),
  }));
}
