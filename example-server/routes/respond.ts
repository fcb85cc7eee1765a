import type { Response } from 'express';
import type { Refusal } from '../client-auth';

/** RFC 6749 §5.1 / RFC 7662 §2.2: answers carrying token data or errors are never cached. */
export function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/** Sends an OAuth error answer `{error, error_description}`. */
export function sendRefusal(res: Response, refusal: Refusal): void {
  noStore(res);
  if (refusal.wwwAuthenticate) res.setHeader('WWW-Authenticate', refusal.wwwAuthenticate);
  if (refusal.answer.status === 413) res.setHeader('Connection', 'close');
  res.status(refusal.answer.status).json({ error: refusal.answer.error, error_description: refusal.answer.description });
}
