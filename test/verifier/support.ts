/** Shared pieces of the verifier tests: IdP records made from test keys, a frozen clock, a refusal catcher. */
import { parseCertificate } from '../../lib/certificates';
import { JwtBearerError, type ReasonCode } from '../../lib/errors';
import type { CertificateRecord, IdentityProviderRecord } from '../../lib/types';
import { createAssertionVerifier, type AssertionVerifier, type VerifierResult, type VerifyContext } from '../../lib/verifier';
import { assertionClaims, TEST_AUDIENCE, TEST_ISSUER, type TestSigningKey } from '../helpers/keys';
import { IDP_DEFAULTS } from '../helpers/records';

/** The frozen "now" of every verifier test: whole seconds, inside the default certificate window. */
export const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
export const NOW_S = NOW.getTime() / 1000;
export const ISSUER = TEST_ISSUER;
export const AUDIENCE = TEST_AUDIENCE;
export const TENANT = 'tenant-1';
export const CLIENT_ID = 'client-1';

/** Valid claims at {@link NOW}. */
export const claims = (overrides: Record<string, unknown> = {}) => assertionClaims(overrides, NOW);

let nextId = 1;

/** A stored certificate row for `key`, as the store would hand it out. */
export function certRecord(key: TestSigningKey, kid: string | null = key.kid): CertificateRecord {
  const parsed = parseCertificate(key.certificatePem);
  return {
    id: String(nextId++),
    pem: parsed.pem,
    thumbprint: parsed.thumbprint,
    subject: parsed.subject,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    kid,
  };
}

/** An enabled IdP of {@link TENANT} named {@link ISSUER} with the store's defaults; `keys` become its certificates. */
export function idpRecord(
  keys: Array<TestSigningKey | CertificateRecord>,
  overrides: Partial<IdentityProviderRecord> = {},
): IdentityProviderRecord {
  return {
    id: `idp-${nextId++}`,
    tenantId: TENANT,
    name: ISSUER,
    ...IDP_DEFAULTS,
    aliases: [AUDIENCE],
    certificates: keys.map((key) => ('certificatePem' in key ? certRecord(key) : key)),
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

/** A `findIdentityProvider` over `idps` (by exact name) that counts its calls. */
export function directory(...idps: IdentityProviderRecord[]): VerifyContext['findIdentityProvider'] & { calls: string[] } {
  const calls: string[] = [];
  const find = async (issuer: string) => {
    calls.push(issuer);
    return idps.find((idp) => idp.name === issuer) ?? null;
  };
  return Object.assign(find, { calls });
}

/** One verifier per test file, as the grant keeps one per process. */
export const sharedVerifier = createAssertionVerifier();

export interface VerifyOptions extends Partial<VerifyContext> {
  verifier?: AssertionVerifier;
}

/** Verifies `assertion` against `idps` at {@link NOW}. */
export function verify(
  assertion: string,
  idps: IdentityProviderRecord | IdentityProviderRecord[],
  options: VerifyOptions = {},
): Promise<VerifierResult> {
  const { verifier = sharedVerifier, ...ctx } = options;
  return verifier.verify(assertion, {
    tenantId: TENANT,
    clientId: CLIENT_ID,
    now: NOW,
    findIdentityProvider: directory(...[idps].flat()),
    ...ctx,
  });
}

/** Awaits a refusal and returns it; fails the test on success or on any other error. */
export async function refusal(promise: Promise<unknown>): Promise<JwtBearerError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (error instanceof JwtBearerError) return error;
    throw error;
  }
  throw new Error(`expected a refusal, got ${JSON.stringify(outcome, (_, v) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 300)}`);
}

/** The reason of a refusal. */
export async function reasonOf(promise: Promise<unknown>): Promise<ReasonCode> {
  return (await refusal(promise)).reason;
}
