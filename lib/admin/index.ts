/**
 * The admin REST API of SPEC §6 (identity providers, certificates, aliases, tenants, audit, dry run) as
 * an Express router that the host protects with its own `authorize` hook.
 *
 * @example
 * import { bearerTokenAuthorizer, createAdminRouter } from 'oauth2-jwt-bearer';
 * app.use('/admin', createAdminRouter({ knex, authorize: bearerTokenAuthorizer(process.env.ADMIN_TOKEN!) }));
 */
export {
  createAdminRouter,
  DEFAULT_ADMIN_BODY_LIMIT,
  type AdminAnswer,
  type AdminRouterOptions,
  type ApplicationService,
} from './router';
export { ADMIN_ROUTER_DEFAULTS } from './router';
export { bearerTokenAuthorizer, MIN_ADMIN_TOKEN_LENGTH, type AdminAuthorizer } from './authorize';
export { AdminError, type AdminErrorBody, type AdminErrorCode } from './errors';
export type { DryRunInput, DryRunResult, NotChecked } from './dry-run';
export { algorithmProblem, isLoopbackHost, jwksUriProblem } from './schemas';
export type { CertificateView, IdentityProviderView, IssuedTokenView } from './views';
