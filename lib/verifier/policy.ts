import { JwtBearerError } from '../errors';
import type { IdentityProviderRecord } from '../types';

/**
 * docs/validation.md step 6: the IdP's subject and client lists. `null` means "not set" (anyone); a list, even an
 * empty one, is exact: only its members pass.
 */
export function checkPolicy(idp: IdentityProviderRecord, sub: string, clientId: string): void {
  if (idp.allowedSubjects && !idp.allowedSubjects.includes(sub)) {
    throw new JwtBearerError('subject_not_allowed', { detail: 'sub is not in the IdP allowed subjects' });
  }
  if (idp.allowedClients && !idp.allowedClients.includes(clientId)) {
    throw new JwtBearerError('client_not_allowed', { detail: 'client is not in the IdP allowed clients' });
  }
}
