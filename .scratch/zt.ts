import { z } from 'zod';
import * as s from '../lib/admin/schemas';
for (const name of ['createIdentityProviderBody','patchIdentityProviderBody','addCertificateBody','addAliasBody','createTenantBody','validateAssertionBody','issuedTokensQuery','tenantQuery'] as const) {
  try { const j = z.toJSONSchema((s as any)[name], { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }); console.log(name, JSON.stringify(j).slice(0, 600)); } catch (e) { console.log(name, 'ERR', (e as Error).message); }
}
