/**
 * Errors are values with stable codes. Every error this package throws extends
 * {@link OAuth2JwtBearerError} and carries a `code` that never changes between releases, so callers
 * branch on `error.code`, never on a message. For refused token requests `reason` (a {@link ReasonCode})
 * is for logs and metrics, `error` is the OAuth error code sent to the client (RFC 6749 §5.2), and
 * `description` is a short fixed sentence that never echoes the assertion, keys or secrets.
 */

/**
 * The base of every error class of this package. `code` is stable and documented on each subclass;
 * `message` is for people and may change.
 *
 * @example
 * try { await store.findTenant(domain); } catch (error) {
 *   if (error instanceof OAuth2JwtBearerError && error.code === 'store_unavailable') retryLater();
 * }
 */
export abstract class OAuth2JwtBearerError extends Error {
  /** A stable snake_case code: what went wrong, for programs. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Subclasses set their own name as a literal too, so it survives a bundler that renames classes.
    this.name = new.target.name;
  }
}

/** The OAuth 2.0 error codes this package answers with (RFC 6749 §5.2; `temporarily_unavailable` from §4.1.2.1). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable'
  | 'server_error';

/** Every reason a grant request can be refused, with the OAuth error it maps to. */
export const REASONS = {
  // docs/validation.md step 1: the request
  assertion_missing: 'invalid_request',
  parameter_repeated: 'invalid_request',
  tenant_unknown: 'invalid_request',
  assertion_too_large: 'invalid_grant',
  assertion_malformed: 'invalid_grant',
  // step 2: the JOSE header
  alg_not_allowed: 'invalid_grant',
  crit_unsupported: 'invalid_grant',
  key_not_found: 'invalid_grant',
  // step 3: the issuer
  issuer_unknown: 'invalid_grant',
  // step 4: the signature
  signature_invalid: 'invalid_grant',
  no_usable_key: 'invalid_grant',
  // step 5: the claims
  issuer_mismatch: 'invalid_grant',
  subject_invalid: 'invalid_grant',
  audience_mismatch: 'invalid_grant',
  exp_missing: 'invalid_grant',
  assertion_expired: 'invalid_grant',
  exp_too_far: 'invalid_grant',
  assertion_not_yet_valid: 'invalid_grant',
  iat_in_future: 'invalid_grant',
  iat_too_old: 'invalid_grant',
  jti_missing: 'invalid_grant',
  jti_invalid: 'invalid_grant',
  // step 6: subject and client policy
  subject_not_allowed: 'invalid_grant',
  client_not_allowed: 'invalid_grant',
  // workload identity (docs/workload-identity.md): token type, key binding, discovery, trust rules
  token_type_not_allowed: 'invalid_grant',
  confirmation_unsupported: 'invalid_grant',
  discovery_issuer_mismatch: 'invalid_grant',
  no_rule_matched: 'invalid_grant',
  // step 7: scope
  scope_invalid: 'invalid_scope',
  scope_not_allowed: 'invalid_scope',
  // step 8: user
  user_not_found: 'invalid_grant',
  // step 9: replay
  jti_replayed: 'invalid_grant',
  // infrastructure
  store_unavailable: 'temporarily_unavailable',
  key_source_unavailable: 'temporarily_unavailable',
  // the token endpoint itself, before the grant runs
  method_not_allowed: 'invalid_request',
  content_type_invalid: 'invalid_request',
  body_too_large: 'invalid_request',
  client_auth_multiple: 'invalid_request',
  rate_limited: 'temporarily_unavailable',
} as const satisfies Record<string, OAuthErrorCode>;

/**
 * Every reason this package refuses a token request for: a closed union, stable across releases (new
 * members are added in minor versions, none is ever renamed). The token endpoint's outcome carries one
 * of these, or, when the host itself refused, the host's OAuth error name ({@link OAuthErrorCode}).
 */
export type ReasonCode = keyof typeof REASONS;

/** What a refused request's outcome names as its reason: ours, or the host's OAuth error code. */
export type OutcomeReason = ReasonCode | OAuthErrorCode;

/** The client-facing sentence for each reason: fixed text, nothing from the request. */
const DESCRIPTIONS: Record<ReasonCode, string> = {
  assertion_missing: 'The request must carry exactly one non-empty assertion.',
  parameter_repeated: 'A request parameter was given more than once.',
  tenant_unknown: 'The tenant domain is not known.',
  assertion_too_large: 'The assertion is too large.',
  assertion_malformed: 'The assertion is not a well-formed signed JWT.',
  alg_not_allowed: 'The assertion is signed with an algorithm that is not allowed.',
  crit_unsupported: 'The assertion header names a critical extension that is not supported.',
  key_not_found: 'The assertion names a signing key that is not known for its issuer.',
  issuer_unknown: 'The assertion issuer is not a trusted identity provider.',
  signature_invalid: 'The assertion signature is invalid.',
  no_usable_key: 'The identity provider has no key that can verify the assertion.',
  issuer_mismatch: 'The assertion issuer does not match the identity provider.',
  subject_invalid: 'The assertion must have a non-empty subject.',
  audience_mismatch: 'The assertion is not intended for this token endpoint.',
  exp_missing: 'The assertion must have a numeric expiry time.',
  assertion_expired: 'The assertion has expired.',
  exp_too_far: 'The assertion expiry is too far in the future.',
  assertion_not_yet_valid: 'The assertion is not yet valid.',
  iat_in_future: 'The assertion was issued in the future.',
  iat_too_old: 'The assertion was issued too long ago.',
  jti_missing: 'The assertion must have a JWT ID.',
  jti_invalid: 'The assertion JWT ID is invalid.',
  subject_not_allowed: 'The assertion subject is not allowed for this identity provider.',
  client_not_allowed: 'This client may not use assertions from this identity provider.',
  token_type_not_allowed: 'The assertion is a token typed for another use.',
  confirmation_unsupported: 'The assertion is bound to a key, and proof of possession is not supported here.',
  discovery_issuer_mismatch: 'The identity provider discovery document names another issuer.',
  no_rule_matched: 'No trust rule of the identity provider admits this assertion.',
  scope_invalid: 'The scope parameter is malformed.',
  scope_not_allowed: 'The requested scope is not allowed.',
  user_not_found: 'The assertion subject does not map to a user.',
  jti_replayed: 'The assertion has already been used.',
  store_unavailable: 'The service is temporarily unavailable; try again shortly.',
  key_source_unavailable: 'The identity provider keys are temporarily unavailable; try again shortly.',
  method_not_allowed: 'The token endpoint accepts POST only.',
  content_type_invalid: 'The body must be application/x-www-form-urlencoded.',
  body_too_large: 'The request body is too large.',
  client_auth_multiple: 'The client must authenticate by one method only.',
  rate_limited: 'Too many failed attempts; try again later.',
};

const STATUS: Partial<Record<OAuthErrorCode, number>> = { temporarily_unavailable: 503, server_error: 500 };
/** Reasons whose HTTP status is not the one of their OAuth error (RFC 9110 §15.5.6, §15.5.14; RFC 6585 §4). */
const REASON_STATUS: Partial<Record<ReasonCode, number>> = { method_not_allowed: 405, body_too_large: 413, rate_limited: 429 };

/**
 * A refused token request. `code` and `reason` are the same {@link ReasonCode}; `detail` is for logs
 * only (never sent to the client).
 *
 * @example
 * throw new JwtBearerError('assertion_expired', { detail: 'exp 1700000000 < now 1700000100' });
 */
export class JwtBearerError extends OAuth2JwtBearerError {
  readonly code: ReasonCode;
  readonly reason: ReasonCode;
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly detail?: string;

  constructor(reason: ReasonCode, options: { detail?: string; cause?: unknown } = {}) {
    super(DESCRIPTIONS[reason], { cause: options.cause });
    this.name = 'JwtBearerError';
    this.code = reason;
    this.reason = reason;
    this.error = REASONS[reason];
    this.status = REASON_STATUS[reason] ?? STATUS[this.error] ?? 400;
    this.detail = options.detail;
  }

  /** The sentence sent as `error_description`. */
  get description(): string {
    return this.message;
  }
}

/**
 * Thrown by the store when the database cannot answer (down, timed out, pool exhausted; see
 * `isDatabaseUnavailable`). The grant turns it into 503 `temporarily_unavailable`; the raw driver
 * message stays in `cause`, for logs only. Code: `store_unavailable`.
 */
export class StoreUnavailableError extends OAuth2JwtBearerError {
  readonly code = 'store_unavailable';
  constructor(cause: unknown) {
    super('The database is unavailable.', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Thrown at start-up for invalid options; the message says which option and how to fix it. Code: `invalid_configuration`. */
export class ConfigurationError extends OAuth2JwtBearerError {
  readonly code = 'invalid_configuration';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}
