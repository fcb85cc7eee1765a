import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConfigurationError } from '../errors';

/** Decides whether a request may use the admin API. May be async (e.g. a session or token lookup). */
export type AdminAuthorizer = (req: IncomingMessage) => boolean | Promise<boolean>;

/** Shortest admin token accepted: a guessable token would make the whole admin API guessable. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * An {@link AdminAuthorizer} that admits `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme
 * name is case-insensitive, RFC 7235 §2.1) for exactly this token.
 *
 * The comparison is constant-time over SHA-256 digests of both sides, so neither the content nor the
 * length of the configured token leaks through response timing.
 *
 * @throws ConfigurationError when `token` is shorter than 16 characters or holds characters a Bearer
 *   token cannot carry.
 * @example
 * app.use('/admin', createAdminRouter({ knex, authorize: bearerTokenAuthorizer(process.env.ADMIN_TOKEN!) }));
 */
export function bearerTokenAuthorizer(token: string): AdminAuthorizer {
  if (typeof token !== 'string' || token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigurationError(
      `bearerTokenAuthorizer(token): the admin token must be a string of at least ${MIN_ADMIN_TOKEN_LENGTH} characters.`,
    );
  }
  if (!B64TOKEN.test(token)) {
    throw new ConfigurationError(
      'bearerTokenAuthorizer(token): the admin token may hold only letters, digits and - . _ ~ + / (and trailing =), as a Bearer token (RFC 6750 §2.1).',
    );
  }
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization;
    if (typeof header !== 'string') return false;
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) return false;
    return timingSafeEqual(digest(match[1]!), expected);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
