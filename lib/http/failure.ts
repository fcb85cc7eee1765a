import { isDatabaseUnavailable } from '../db/failure';
import { StoreUnavailableError } from '../errors';

/** An answer to send: status, OAuth error code and a fixed sentence. */
export interface ErrorAnswer {
  status: number;
  error: string;
  description: string;
}

const UNAVAILABLE: ErrorAnswer = {
  status: 503,
  error: 'temporarily_unavailable',
  description: 'The service is temporarily unavailable; try again shortly.',
};
const UNEXPECTED: ErrorAnswer = { status: 500, error: 'server_error', description: 'The server could not complete the request.' };

/** An error as the host and knex chain them: `cause` (ES2022) or the host's `inner`. */
type Chained = { name?: unknown; cause?: unknown; inner?: unknown };

/** Whether an error (or its cause chain) says the database or another dependency is unreachable. */
export function isUnavailable(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  for (let e = error as Chained | null | undefined, depth = 0; e && depth < 5; e = (e.cause ?? e.inner) as Chained | undefined, depth++) {
    if (e instanceof StoreUnavailableError || e.name === 'temporarily_unavailable') return true;
  }
  return false;
}

/**
 * The answer for anything node-oauth2-server threw. Client errors (4xx OAuth errors) keep their code and
 * sentence; server-side failures never show their message (it may be a raw driver text) nor a stack:
 * an unreachable database is 503 `temporarily_unavailable`, anything else 500 `server_error`.
 *
 * @example
 * try {
 *   await server.authenticate(request, response);
 * } catch (error) {
 *   const answer = answerFor(error);
 *   res.status(answer.status).json({ error: answer.error, error_description: answer.description });
 * }
 */
export function answerFor(error: unknown): ErrorAnswer {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e?.code === 'number' && Number.isInteger(e.code) && e.code >= 400 && e.code < 500 && typeof e.name === 'string') {
    return { status: e.code, error: e.name, description: typeof e.message === 'string' ? e.message : '' };
  }
  return isUnavailable(error) ? UNAVAILABLE : UNEXPECTED;
}
