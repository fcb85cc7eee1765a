import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A uniformly random string of `A-Z a-z 0-9` (lib/admin/README.md): such ids and secrets read the same in
 * `curl -u id:secret` and in form-url-encoded Basic credentials. 28 characters (as WSO2's keys) carry
 * about 166 bits.
 */
export function randomAlphanumeric(length = 28): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: reject the tail of the byte range so every character is equally likely.
      if (byte < 248 && out.length < length) out += ALPHANUMERIC[byte % 62];
    }
  }
  return out;
}

/**
 * Hashes a client secret for storage as `sha256$<salt>$<hmac>`. The secrets are always generated
 * here with ~166 bits of entropy, so a slow password hash (scrypt) would add latency to every token
 * request without making a guess any more feasible; a salted HMAC-SHA-256 is enough.
 */
export function hashSecret(secret: string): string {
  const salt = randomBytes(16).toString('base64url');
  return `sha256$${salt}$${digest(salt, secret)}`;
}

/** Compares a presented secret with a stored hash in constant time. */
export function verifySecret(secret: string, stored: string): boolean {
  const [scheme, salt, expected] = stored.split('$');
  if (scheme !== 'sha256' || !salt || !expected) return false;
  const a = Buffer.from(digest(salt, secret), 'base64url');
  const b = Buffer.from(expected, 'base64url');
  return a.length === b.length && timingSafeEqual(a, b);
}

function digest(salt: string, secret: string): string {
  return createHmac('sha256', salt).update(secret, 'utf8').digest('base64url');
}
