import { createPrivateKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

/**
 * Signs an assertion as the demo IdP would (RFC 7523 §3): `iss`, `sub`, `aud`, `exp`, `nbf`, `iat` and a
 * fresh `jti`, so each one can be used once. Signing is the identity provider's job, not the
 * authorization server's: the example does it with jose, as an IdP would.
 */
export async function signDemoAssertion(o: {
  privateKeyPem: string;
  iss: string;
  sub: string;
  aud: string[];
  expiresIn: number;
}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(o.iss)
    .setSubject(o.sub)
    .setAudience(o.aud.length === 1 ? o.aud[0]! : o.aud)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + o.expiresIn)
    .setJti(randomUUID())
    .sign(createPrivateKey(o.privateKeyPem));
}
