/**
 * The `oauth2-jwt-bearer/admin` entry: the admin REST API (identity providers, certificates, aliases,
 * trust rules, tenants, audit, dry run) as an Express router that the host protects with its own `authorize` hook.
 * The only entry that loads Express, so the main one stays usable without it.
 *
 * @example
 * import { bearerTokenAuthorizer, createAdminRouter } from 'oauth2-jwt-bearer/admin';
 * app.use('/admin', createAdminRouter({ knex, authorize: bearerTokenAuthorizer(process.env.ADMIN_TOKEN!) }));
 */
export { createAdminRouter, type AdminAnswer, type AdminRouterOptions, type ApplicationService } from './router';
export { ADMIN_ROUTER_DEFAULTS } from './router';
export { bearerTokenAuthorizer, MIN_ADMIN_TOKEN_LENGTH, type AdminAuthorizer } from './authorize';
export { AdminError, type AdminErrorBody, type AdminErrorCode } from './errors';
export type { DryRunInput, DryRunResult, NotChecked } from './dry-run';
export { algorithmProblem, isLoopbackHost, jwksUriProblem } from './schemas';
export type { CertificateView, IdentityProviderView, IssuedTokenView, TrustRuleAnswer, TrustRuleView } from './views';
export { lintIdentityProvider, type RuleWarning, type RuleWarningCode } from '../rules/lint';
export {
  adminOpenApiDocument,
  type AdminOpenApiOptions,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiResponse,
} from './openapi';
export { renderAdminApiHtml, type AdminApiPage } from './openapi-html';
