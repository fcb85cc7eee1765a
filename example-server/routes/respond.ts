import type { Response } from 'express';
import type { ClientAuthenticationFailure, ErrorAnswer } from '../../lib';

/** RFC 6749 §5.1 / RFC 7662 §2.2: answers carrying token data or errors are never cached. */
export function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/** Sends an OAuth error answer `{error, error_description}`, with the challenge or `Allow` header a refusal carries. */
export function sendRefusal(res: Response, refusal: ErrorAnswer | ClientAuthenticationFailure): void {
  noStore(res);
  if ('wwwAuthenticate' in refusal && refusal.wwwAuthenticate) res.setHeader('WWW-Authenticate', refusal.wwwAuthenticate);
  if ('allow' in refusal && refusal.allow) res.setHeader('Allow', refusal.allow);
  if (refusal.status === 413) res.setHeader('Connection', 'close');
  res.status(refusal.status).json({ error: refusal.error, error_description: refusal.description });
}
