import { JwtBearerError, OAuth2JwtBearerError, StoreUnavailableError } from '../errors';
import { isDatabaseUnavailable } from '../db/failure';
import type { SourceRange } from '../rules/cel';

/** The stable `error` codes of the admin API (lib/admin/README.md). */
export type AdminErrorCode = 'invalid_request' | 'unauthorized' | 'not_found' | 'conflict' | 'temporarily_unavailable' | 'server_error';

const STATUS_OF: Record<AdminErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  temporarily_unavailable: 503,
  server_error: 500,
};

/**
 * A refusal of the admin API. The message is sent as `error_description`, so it is written for the
 * operator and never holds driver text, keys or secrets. `field` names the offending input, when one.
 * `code` is one of {@link AdminErrorCode}, the `error` of the answer.
 *
 * @example
 * throw new AdminError('conflict', 'An identity provider named "jwtIDP" already exists in this tenant.', { field: 'name' });
 */
export class AdminError extends OAuth2JwtBearerError {
  readonly code: AdminErrorCode;
  readonly status: number;
  readonly field?: string;
  /** Where in the field's text the problem is (a rule expression that does not compile). */
  readonly position?: SourceRange;

  constructor(
    code: AdminErrorCode,
    message: string,
    options: { status?: number; field?: string; position?: SourceRange; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AdminError';
    this.code = code;
    this.status = options.status ?? STATUS_OF[code];
    this.field = options.field;
    if (options.position) this.position = options.position;
  }
}

/** The JSON error body of every admin answer. */
export interface AdminErrorBody {
  error: AdminErrorCode;
  error_description: string;
  /** The request field the error is about, where there is one (e.g. `certificates[1]`, `tenantDomain`). */
  field?: string;
  /**
   * Where in that field's text the problem is: zero-based character offsets, `end` exclusive (a trust
   * rule's `condition` or `subject` that does not compile).
   */
  position?: SourceRange;
}

/** What to send for an error: status and body; `unexpected` marks answers the host should log. */
export interface AdminErrorAnswer {
  status: number;
  body: AdminErrorBody;
  unexpected: boolean;
}

/** The one 404 sentence for any IdP, certificate or alias that is not in the request's tenant. */
export const NOT_FOUND_IDP = 'No identity provider with this id in this tenant.';

const UNAVAILABLE: AdminErrorAnswer = {
  status: 503,
  body: { error: 'temporarily_unavailable', error_description: 'The database is temporarily unavailable; try again shortly.' },
  unexpected: true,
};
const UNEXPECTED: AdminErrorAnswer = {
  status: 500,
  body: { error: 'server_error', error_description: 'The server could not complete the request.' },
  unexpected: true,
};

/**
 * Turns anything thrown while serving an admin request into an answer. Only {@link AdminError}
 * messages and fixed sentences are ever sent: driver messages and stacks stay in the error (for the
 * host's `onError` log), never in the response.
 */
export function adminErrorAnswer(error: unknown): AdminErrorAnswer {
  if (error instanceof AdminError) {
    const body: AdminErrorBody = { error: error.code, error_description: error.message };
    if (error.field !== undefined) body.field = error.field;
    if (error.position !== undefined) body.position = { start: error.position.start, end: error.position.end };
    return { status: error.status, body, unexpected: error.status >= 500 };
  }
  if (error instanceof StoreUnavailableError) return UNAVAILABLE;
  if (error instanceof JwtBearerError && error.status >= 500) return UNAVAILABLE;
  const parsing = bodyParserAnswer(error);
  if (parsing) return parsing;
  return isDatabaseUnavailable(error) ? UNAVAILABLE : UNEXPECTED;
}

/**
 * body-parser (Express 4 and 5 alike) marks its errors with `type` and a 4xx `status`; the router marks
 * an undecodable path parameter (`%E0%A4%A`) with status 400. None of their messages is sent.
 */
function bodyParserAnswer(error: unknown): AdminErrorAnswer | undefined {
  const e = error as { type?: unknown; status?: unknown; limit?: unknown } | null;
  if (!e || typeof e !== 'object' || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  const invalid = (status: number, description: string): AdminErrorAnswer => ({
    status,
    body: { error: 'invalid_request', error_description: description },
    unexpected: false,
  });
  switch (e.type) {
    case 'entity.too.large':
      return invalid(
        413,
        `The request body is larger than the limit of ${typeof e.limit === 'number' ? `${e.limit} bytes` : 'the admin API'}.`,
      );
    case 'entity.parse.failed':
      return invalid(400, 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return invalid(415, 'The request body must be UTF-8 JSON (Content-Type: application/json).');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'stream.not.readable':
      return invalid(400, 'The request body could not be read.');
    default:
      return error instanceof URIError
        ? invalid(400, 'The request path is not validly percent-encoded.')
        : invalid(400, 'The request could not be read.');
  }
}
