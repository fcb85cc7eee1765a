import { JwtBearerError } from '../errors';
import type { KeyHint } from '../keys/types';
import { DEFAULT_ALGORITHMS, type IdentityProviderRecord } from '../types';

/**
 * Every JWS algorithm this verifier can ever accept: asymmetric signatures only. `none` (RFC 7518 §3.6)
 * and the HMAC family (§3.2) are absent on purpose: with `none` anyone can mint an assertion, and with
 * HMAC the "secret" would be the IdP's public key or certificate (RFC 8725 §2.1, §3.1: algorithm
 * confusion). An IdP's allow-list can only narrow this set.
 */
export const SUPPORTED_ALGORITHMS: ReadonlySet<string> = new Set<string>(DEFAULT_ALGORITHMS);

/**
 * docs/validation.md step 2, the part that needs no IdP: `alg`, `crit` and the key hints are checked before the
 * issuer is looked up, so a token that could never be accepted costs no database read.
 *
 * - `alg` a string naming a supported asymmetric algorithm, compared exactly (RFC 7515 §4.1.1: alg
 *   values are case-sensitive, so `nOnE` or `rs256` are not some other spelling of a good one) →
 *   else `alg_not_allowed`.
 * - `cty` `JWT` (any case) → `assertion_malformed`: no nested JWTs.
 * - `typ` naming a token of another kind ({@link REFUSED_TOKEN_TYPES}, any case, with or without
 *   `application/`) → `token_type_not_allowed`, for every IdP (RFC 8725 §3.11: explicit typing keeps
 *   one kind of JWT from being accepted as another).
 * - `crit` present at all → `crit_unsupported`. We implement no JWS extension, so any name in it is
 *   unknown and RFC 7515 §4.1.11 requires refusal; a `crit` that is not a non-empty array of strings is
 *   invalid on its own terms.
 * - `kid`, `x5t`, `x5t#S256` present but not a non-empty string → `key_not_found` (such a hint cannot
 *   name any key, and a hint that names no key is never a reason to try others).
 *
 * `jwk`, `jku`, `x5u` and `x5c` are read by no code here or later (RFC 8725 §3.10): present or not, they
 * never supply or locate a key.
 *
 * @returns the `alg` and the key hint.
 */
export function checkHeader(header: Record<string, unknown>): { alg: string; hint: KeyHint } {
  const { alg } = header;
  if (typeof alg !== 'string') throw new JwtBearerError('alg_not_allowed', { detail: 'alg missing or not a string' });
  if (!SUPPORTED_ALGORITHMS.has(alg)) {
    throw new JwtBearerError('alg_not_allowed', { detail: `alg ${describeAlg(alg)} is never accepted` });
  }
  // RFC 7519 §5.2/§7.2 step 8: `cty: JWT` says the payload is itself a JWT. We accept no nested JWTs, and
  // a plain claims object under that header is not what it claims to be either.
  if (typeof header.cty === 'string' && header.cty.toUpperCase() === 'JWT') {
    throw new JwtBearerError('assertion_malformed', { detail: 'nested JWT (cty JWT) is not accepted' });
  }
  if (isRefusedTokenType(header.typ)) {
    throw new JwtBearerError('token_type_not_allowed', { detail: 'typ names an access token or a workload identity token' });
  }
  if (Object.hasOwn(header, 'crit')) {
    const { crit } = header;
    const wellFormed = Array.isArray(crit) && crit.length > 0 && crit.every((name) => typeof name === 'string' && name.length > 0);
    throw new JwtBearerError('crit_unsupported', {
      detail: wellFormed ? 'crit names an extension this verifier does not implement' : 'crit is not a non-empty array of names',
    });
  }
  return { alg, hint: { kid: hintValue(header, 'kid'), x5t: hintValue(header, 'x5t'), x5tS256: hintValue(header, 'x5t#S256') } };
}

/**
 * `typ` values (RFC 7515 §4.1.9, without the `application/` prefix, lower case) of tokens that are not
 * assertions for this grant, whoever signed them:
 *
 * - `at+jwt`: an OAuth access token (RFC 9068 §2.1, which asks that it be typed so, and §4 that it never
 *   be accepted as another kind of token). Trading one for a new token here would turn any resource
 *   server's token into a key to this one.
 * - `wit+jwt`: a workload identity token of the IETF WIMSE drafts: bound to a key (`cnf`) and shown only
 *   with proof of possession, which this endpoint does not check.
 *
 * Media types compare case-insensitively, and RFC 7515 §4.1.9 lets `application/at+jwt` be written
 * `at+jwt`: both spellings are refused.
 */
export const REFUSED_TOKEN_TYPES: ReadonlySet<string> = new Set(['at+jwt', 'wit+jwt']);

function isRefusedTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return REFUSED_TOKEN_TYPES.has(lower.startsWith('application/') ? lower.slice('application/'.length) : lower);
}

/** docs/validation.md step 2, the part that needs the IdP: `alg` within its allow-list (null → the default list). */
export function checkAlgorithmAllowed(alg: string, idp: IdentityProviderRecord): void {
  const allowed: readonly string[] = idp.algorithms ?? DEFAULT_ALGORITHMS;
  if (!allowed.includes(alg)) throw new JwtBearerError('alg_not_allowed', { detail: `alg ${alg} is not in the IdP allow-list` });
}

function hintValue(header: Record<string, unknown>, name: 'kid' | 'x5t' | 'x5t#S256'): string | undefined {
  if (!Object.hasOwn(header, name)) return undefined;
  const value = header[name];
  if (typeof value !== 'string' || value.length === 0)
    throw new JwtBearerError('key_not_found', { detail: `${name} is not a non-empty string` });
  return value;
}

/** For logs: names the well-known bad choices, never echoes arbitrary input. */
function describeAlg(alg: string): string {
  if (alg.toLowerCase() === 'none') return 'none';
  if (/^HS(256|384|512)$/i.test(alg)) return alg.toUpperCase();
  return '(unsupported)';
}
