import { JwtBearerError } from '../errors';
import type { GrantStore } from '../store/types';
import type { Tenant } from '../types';
import type { ShadowVerdict } from '../rules';

/** README.md: no `tenantDomain` means the default tenant. */
export { DEFAULT_TENANT } from '../shared/tenant';

/** What the grant learned about a request, for the endpoint's one log line and metrics. */
export interface GrantFacts {
  /** Name of the IdP found for the assertion's `iss` (only a known, enabled one). */
  issuer?: string;
  reason?: string;
  verifyMs?: number;
  /** The trust rule that admitted the assertion (docs/workload-identity.md). */
  rule?: string;
  /** What the IdP's shadow rules would have decided. */
  shadow?: ShadowVerdict;
}

/** What the grant reads from the host's request object, and what the token endpoint puts on it. */
export interface GrantRequest {
  /** The host's Request always has one (`{}` when the request had none). */
  body: Record<string, unknown>;
  query?: Record<string, unknown>;
  jwtBearer?: GrantFacts;
  jwtBearerTenant?: Tenant;
}

/** Finds the tenant named by `?tenantDomain=`; unknown or repeated → `invalid_request`. */
export async function resolveTenant(store: GrantStore, domain: unknown): Promise<Tenant> {
  if (Array.isArray(domain)) throw new JwtBearerError('parameter_repeated', { detail: 'tenantDomain given more than once' });
  if (typeof domain !== 'string' || domain.length === 0 || domain.length > 253) throw new JwtBearerError('tenant_unknown');
  const tenant = await store.findTenant(domain);
  if (!tenant) throw new JwtBearerError('tenant_unknown');
  return tenant;
}
