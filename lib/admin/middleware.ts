import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { AdminAuthorizer } from './authorize';
import { AdminError, adminErrorAnswer } from './errors';

/**
 * The admin router's plumbing, written to behave the same under Express 5 and Express 4: no reliance
 * on Express 5 catching rejected promises (every async step ends in `next(error)`), and nothing that
 * only one version's `req`/`res` prototype has beyond `status`, `json`, `set`, `end`.
 */

/**
 * The headers of every admin answer, errors and 401s included. Admin answers hold configuration and
 * (for applications) secrets: never cached by anyone. They are JSON, never a document: nothing may
 * run or load in them, frame them (clickjacking of a console that shows them) or sniff them into
 * another type, and no `Referer` carries an admin URL elsewhere.
 */
export const ADMIN_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Sets {@link ADMIN_SECURITY_HEADERS} before anything can fail. */
export const adminHeaders: RequestHandler = (_req, res, next) => {
  res.set(ADMIN_SECURITY_HEADERS);
  next();
};

/**
 * Runs the host's `authorize` hook before anything else (body parsing included), so an anonymous
 * caller learns nothing, not even which paths exist. Only a literal `true` admits: a hook that
 * returns a truthy object or throws fails closed.
 */
export function requireAuthorization(authorize: AdminAuthorizer): RequestHandler {
  return (req, res, next) => {
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = authorize(req);
    } catch (error) {
      next(error);
      return;
    }
    Promise.resolve(verdict).then(
      (allowed) => {
        if (allowed === true) return next();
        res.set('WWW-Authenticate', 'Bearer realm="admin"');
        res.status(401).json({
          error: 'unauthorized',
          error_description: 'Admin credentials are missing or invalid: send Authorization: Bearer <admin token>.',
        });
      },
      (error: unknown) => next(error),
    );
  };
}

/** `application/json` or a `+json` type, ignoring parameters such as `charset`. */
function isJsonType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[!#$%&'*.^`|~\w-]+\+json$/.test(type);
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Reads a JSON body of at most `limitBytes` (over it: 413). A body of another type is 415, so a
 * form-encoded `curl -d` gets told what to send rather than "field missing". Malformed JSON is 400.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (hasBody(req) && !isJsonType(req.headers['content-type'])) {
      next(new AdminError('invalid_request', 'The request body must be JSON (Content-Type: application/json).', { status: 415 }));
      return;
    }
    next();
  };
  const parse = express.json({ limit: limitBytes, strict: true, type: (req) => isJsonType(req.headers['content-type']) });
  return [requireJson, parse];
}

/** An async route handler whose failures (thrown or rejected) go to the router's error handler. */
export function asyncHandler(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}

/** The last word on every error under the router: JSON `{error, error_description}`, never a stack. */
export function errorHandler(onError?: (error: unknown, req: Request) => void) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    const answer = adminErrorAnswer(error);
    if (answer.unexpected && onError) {
      try {
        onError(error, req);
      } catch {
        // A failing logger must not turn into a second error answer.
      }
    }
    if (res.headersSent) {
      next(error);
      return;
    }
    if (answer.status === 413 || answer.status === 415) res.set('Connection', 'close');
    res.status(answer.status).json(answer.body);
  };
}

/** For a path that exists but not with this method: 405 with `Allow`. */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  return (_req, res) => {
    res.set('Allow', allowed.join(', '));
    res.status(405).json({ error: 'invalid_request', error_description: `This endpoint accepts ${allowed.join(', ')}.` });
  };
}
