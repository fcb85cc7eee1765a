import type { IdentityProviderRecord } from '../types';
import { REUSE_MAX_LIFETIME_SECONDS } from '../../migrations/003_workload_identity';
import { AdminError } from './errors';
import { discoveryUrlProblem } from './schemas';

/**
 * The rules between identity-provider fields that one field's schema cannot judge alone
 * (docs/workload-identity.md): the replay policy `reuse` only with a lifetime of at most an hour, at most
 * one of `jwksUri` and `discoveryUrl`, and `discoveryUrl: true` resolved against the issuer name. They
 * are judged on the IdP as it will be (its current settings with the request's over them), before the
 * database's CHECK constraints would refuse the write, so the answer is a 400 naming the field.
 */

/** The settings these rules read, as they are now (`null` for an IdP being created). */
export type CurrentSettings = Pick<
  IdentityProviderRecord,
  'name' | 'jwksUri' | 'discoveryUrl' | 'replayPolicy' | 'maxAssertionLifetimeSeconds'
>;

/** The fields of a create or patch body these rules read. */
export interface WorkloadFields {
  name?: string;
  jwksUri?: string | null;
  discoveryUrl?: string | true | null;
  replayPolicy?: 'once' | 'reuse';
  maxAssertionLifetimeSeconds?: number;
}

/** The path of the OpenID Provider configuration under an issuer (OpenID Connect Discovery 1.0 §4). */
export const WELL_KNOWN_OPENID_CONFIGURATION = '/.well-known/openid-configuration';

/**
 * `fields` with `discoveryUrl: true` resolved to a URL, and, for a new IdP with the `reuse` policy and no
 * lifetime, the lifetime set to the cap. Throws a 400 {@link AdminError} naming the field at fault.
 */
export function settleWorkloadFields<F extends WorkloadFields>(
  current: CurrentSettings | null,
  fields: F,
): F & { discoveryUrl?: string | null } {
  const settled = { ...fields } as F & { discoveryUrl?: string | null };
  if (fields.discoveryUrl === true) settled.discoveryUrl = discoveryUrlOfIssuer(fields.name ?? current?.name ?? '');

  const jwksUri = fields.jwksUri !== undefined ? fields.jwksUri : (current?.jwksUri ?? null);
  const discovery = settled.discoveryUrl !== undefined ? settled.discoveryUrl : (current?.discoveryUrl ?? null);
  if (jwksUri !== null && discovery !== null) {
    const field = fields.discoveryUrl !== undefined && fields.discoveryUrl !== null ? 'discoveryUrl' : 'jwksUri';
    const other = field === 'discoveryUrl' ? 'jwksUri' : 'discoveryUrl';
    throw new AdminError(
      'invalid_request',
      `${field} and ${other} are exclusive: the keys come from a JWKS URI or from the discovery document that names one. ` +
        (current?.[other] ? `This identity provider has a ${other}: set it to null in the same request.` : `Give only one.`),
      { field },
    );
  }

  const policy = fields.replayPolicy ?? current?.replayPolicy ?? 'once';
  if (policy === 'reuse') {
    if (current === null && fields.maxAssertionLifetimeSeconds === undefined) {
      settled.maxAssertionLifetimeSeconds = REUSE_MAX_LIFETIME_SECONDS;
    }
    const lifetime = settled.maxAssertionLifetimeSeconds ?? current?.maxAssertionLifetimeSeconds;
    if (lifetime !== undefined && lifetime > REUSE_MAX_LIFETIME_SECONDS) {
      const given = fields.maxAssertionLifetimeSeconds !== undefined;
      throw new AdminError(
        'invalid_request',
        `maxAssertionLifetimeSeconds must be at most ${REUSE_MAX_LIFETIME_SECONDS} with replayPolicy "reuse": a reused assertion is accepted ` +
          `again and again until it expires, so its lifetime is capped at an hour` +
          (given ? '.' : `; this identity provider's is ${lifetime}: set maxAssertionLifetimeSeconds in the same request.`),
        { field: 'maxAssertionLifetimeSeconds' },
      );
    }
  }
  return settled;
}

/**
 * `<issuer>/.well-known/openid-configuration` for an `https:` issuer name (a trailing slash of the
 * name removed first, OpenID Connect Discovery 1.0 §4.1); a 400 for any other name.
 */
export function discoveryUrlOfIssuer(issuer: string): string {
  let https = false;
  try {
    https = new URL(issuer).protocol === 'https:';
  } catch {
    // not a URL: refused below
  }
  if (!https) {
    throw new AdminError(
      'invalid_request',
      'discoveryUrl: true needs an issuer name that is an https: URL (the configuration document is under it); give the discovery URL itself instead.',
      { field: 'discoveryUrl' },
    );
  }
  const url = issuer.replace(/\/+$/, '') + WELL_KNOWN_OPENID_CONFIGURATION;
  const problem = discoveryUrlProblem(url);
  if (problem) throw new AdminError('invalid_request', `discoveryUrl (from the issuer name) ${problem}.`, { field: 'discoveryUrl' });
  return url;
}
