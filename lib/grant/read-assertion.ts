import { JwtBearerError } from '../errors';

/**
 * docs/validation.md step 1, the request part: exactly one non-empty `assertion` (RFC 7523 §2.1: "MUST contain a
 * single JWT"). A repeated parameter arrives as an array from most body parsers.
 */
export function readAssertion(body: Record<string, unknown> | undefined): string {
  const value = body?.assertion;
  if (Array.isArray(value)) throw new JwtBearerError('parameter_repeated', { detail: 'assertion given more than once' });
  if (typeof value !== 'string' || value.length === 0) throw new JwtBearerError('assertion_missing');
  return value;
}
