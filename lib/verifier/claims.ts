import { JwtBearerError } from '../errors';
import type { IdentityProviderRecord } from '../types';
import { isStorableText } from '../shared/text';
import { REUSE_MAX_LIFETIME_SECONDS } from '../types';

/** docs/validation.md step 5: the longest `jti` accepted, in characters (Unicode code points). */
export const MAX_JTI_LENGTH = 256;

export interface ClaimsContext {
  idp: IdentityProviderRecord;
  now: Date;
  /** Accepted as audience only where the IdP has no alias. */
  tokenEndpointUrl?: string;
}

/** The claims every accepted assertion has, with their types established. */
export interface CheckedClaims extends Record<string, unknown> {
  iss: string;
  sub: string;
  exp: number;
  jti?: string;
}

/**
 * docs/validation.md step 5, on a payload whose signature has been verified. Done here rather than by jose's
 * `jwtVerify` so that each failure has its exact reason and each rule is the one RFC 7523 §3 states.
 * A claim of the wrong JSON type fails with that claim's reason (a string `"exp"` is `exp_missing`).
 *
 * Order (first failure wins): iss, sub, aud, exp (with, for replay policy `reuse`, the one-hour cap on
 * `exp` and on `exp − iat`), nbf, iat, jti, cnf. Time checks use the IdP's clock skew in the lenient
 * direction, the same on every check.
 */
export function checkClaims(claims: Record<string, unknown>, ctx: ClaimsContext): CheckedClaims {
  const { idp } = ctx;
  const now = ctx.now.getTime() / 1000;
  const skew = nonNegative(idp.clockSkewSeconds);

  // RFC 7523 §3 item 1: the issuer. Step 3 found the IdP by this value; an inexact match (a store that
  // folds case, say) must not pass.
  if (claims.iss !== idp.name) throw new JwtBearerError('issuer_mismatch', { detail: 'iss differs from the IdP name' });

  // RFC 7523 §3 item 2: the subject, a string that a database can hold (no NUL, no lone surrogate).
  const { sub } = claims;
  if (typeof sub !== 'string' || sub.length === 0 || !isStorableText(sub)) {
    throw new JwtBearerError('subject_invalid', { detail: 'sub is not a non-empty string' });
  }

  // RFC 7523 §3 item 3, RFC 7519 §4.1.3: this token endpoint must be among the audiences, compared as
  // exact strings (no trailing-slash, case or URL normalisation: RFC 7519 §4.1.3 "case-sensitive string").
  checkAudience(claims.aud, ctx);

  // RFC 7523 §3 item 4: exp is required; RFC 7519 §4.1.4: the current time must be before it.
  const { exp } = claims;
  if (!isNumericDate(exp)) throw new JwtBearerError('exp_missing', { detail: 'exp missing or not a number' });
  if (now >= exp + skew) throw new JwtBearerError('assertion_expired', { detail: `exp ${exp} <= now ${Math.floor(now)} - ${skew}s` });
  // Replay policy `reuse` (docs/workload-identity.md): an assertion that may be presented again and again
  // lives at most an hour, whatever the IdP's lifetime says, and an `iat` may not claim a longer life either
  // (a token issued for a day and presented in its last hour would pass the `now` bound alone).
  const reuse = idp.replayPolicy === 'reuse';
  const configured = nonNegative(idp.maxAssertionLifetimeSeconds);
  const lifetime = reuse ? Math.min(configured, REUSE_MAX_LIFETIME_SECONDS) : configured;
  if (exp > now + lifetime + skew) {
    throw new JwtBearerError('exp_too_far', { detail: `exp ${exp} > now ${Math.floor(now)} + ${lifetime}s + ${skew}s` });
  }
  if (reuse && isNumericDate(claims.iat) && exp - claims.iat > lifetime) {
    throw new JwtBearerError('exp_too_far', { detail: `exp ${exp} - iat ${claims.iat} > ${lifetime}s (replay policy reuse)` });
  }

  // RFC 7523 §3 item 5, RFC 7519 §4.1.5: not before nbf.
  if (Object.hasOwn(claims, 'nbf')) {
    const { nbf } = claims;
    if (!isNumericDate(nbf)) throw new JwtBearerError('assertion_not_yet_valid', { detail: 'nbf is not a number' });
    if (nbf > now + skew) throw new JwtBearerError('assertion_not_yet_valid', { detail: `nbf ${nbf} > now ${Math.floor(now)} + ${skew}s` });
  }

  // RFC 7523 §3 item 6: iat may bound the assertion's age; one from the future is a broken clock or a lie.
  if (Object.hasOwn(claims, 'iat')) {
    const { iat } = claims;
    if (!isNumericDate(iat)) throw new JwtBearerError('iat_in_future', { detail: 'iat is not a number' });
    if (iat > now + skew) throw new JwtBearerError('iat_in_future', { detail: `iat ${iat} > now ${Math.floor(now)} + ${skew}s` });
    if (idp.iatMaxAgeSeconds !== null && idp.iatMaxAgeSeconds !== undefined) {
      const maxAge = nonNegative(idp.iatMaxAgeSeconds);
      if (iat < now - maxAge - skew) {
        throw new JwtBearerError('iat_too_old', { detail: `iat ${iat} < now ${Math.floor(now)} - ${maxAge}s - ${skew}s` });
      }
    }
  }

  // RFC 7523 §3 item 7, RFC 7519 §4.1.7: jti is what makes one-time use checkable (docs/validation.md step 9).
  if (!Object.hasOwn(claims, 'jti')) {
    if (idp.requireJti) throw new JwtBearerError('jti_missing');
  } else {
    const { jti } = claims;
    if (typeof jti !== 'string' || jti.length === 0 || !isStorableText(jti) || codePointLength(jti, MAX_JTI_LENGTH) > MAX_JTI_LENGTH) {
      throw new JwtBearerError('jti_invalid', { detail: `jti is not a non-empty string of at most ${MAX_JTI_LENGTH} characters` });
    }
  }

  // RFC 7800 §3.1: `cnf` binds the token to a key whose holder must prove possession of it. This endpoint
  // checks no proof of possession (no DPoP, no mTLS binding), so honouring such a token as a plain bearer
  // assertion would drop the very protection its issuer asked for: refuse it, whatever the member holds.
  if (Object.hasOwn(claims, 'cnf')) throw new JwtBearerError('confirmation_unsupported', { detail: 'cnf claim present' });

  return claims as CheckedClaims;
}

function checkAudience(aud: unknown, { idp, tokenEndpointUrl }: ClaimsContext): void {
  const accepted = idp.aliases.length > 0 ? idp.aliases : tokenEndpointUrl ? [tokenEndpointUrl] : [];
  // RFC 7519 §4.1.3: a single string or an array of strings; other values beside ours are allowed.
  const values = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (!values || values.length === 0 || !values.every((value) => typeof value === 'string')) {
    throw new JwtBearerError('audience_mismatch', { detail: 'aud missing or not a string or array of strings' });
  }
  if (!values.some((value) => accepted.includes(value))) {
    throw new JwtBearerError('audience_mismatch', {
      detail: accepted.length ? 'aud names none of the IdP aliases' : 'no audience is configured for this IdP',
    });
  }
}

/** RFC 7519 §2 NumericDate: a JSON number; we also refuse what JSON turns into ±Infinity (1e400). */
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function nonNegative(value: number | null | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Code points, counting no further than `limit + 1` (UTF-16 length is an upper bound). */
function codePointLength(value: string, limit: number): number {
  if (value.length <= limit) return value.length;
  let count = 0;
  for (const _ of value) if (++count > limit) break;
  return count;
}
