import express, { type Request, type Response, type Router } from 'express';
import type { Knex } from 'knex';
import { ConfigurationError } from '../errors';
import { DEFAULT_TENANT } from '../shared/tenant';
import type { IdentityProviderRecord, Tenant } from '../types';
import { createAssertionVerifier, type AssertionVerifier } from '../verifier';
import type { AdminAuthorizer } from './authorize';
import { parseCertificateInput, parseCertificateList } from './certificate-input';
import { dryRunAssertion } from './dry-run';
import { AdminError, NOT_FOUND_IDP } from './errors';
import { asyncHandler, errorHandler, jsonBody, methodNotAllowed, adminHeaders, requireAuthorization } from './middleware';
import { TRUST_RULE_TEMPLATES } from '../rules/templates';
import { AdminRepository, type IdentityProviderFields } from './repository';
import {
  addAliasBody,
  addCertificateBody,
  checkRuleExpressions,
  createIdentityProviderBody,
  createTenantBody,
  createTrustRuleBody,
  emptyQuery,
  issuedTokensQuery,
  parseInput,
  patchIdentityProviderBody,
  patchTrustRuleBody,
  tenantQuery,
  validateAssertionBody,
} from './schemas';
import { certificateView, identityProviderView, issuedTokenView, trustRuleAnswers } from './views';

/** The host's answer for `POST /applications`: sent as it is. */
export interface AdminAnswer {
  status: number;
  body: unknown;
}

/**
 * Creates applications (OAuth clients) in the host's own client table, which this package does not
 * know. The router authenticates, resolves `?tenantDomain=` and parses the JSON body first.
 */
export interface ApplicationService {
  create(tenant: Tenant, body: unknown): Promise<AdminAnswer>;
  /** `GET /applications` (the tenant's applications, never a secret); absent: only POST is served. */
  list?(tenant: Tenant): Promise<AdminAnswer>;
}

/** Options of {@link createAdminRouter}. */
export interface AdminRouterOptions {
  /** The package's database (migrated). Every read goes to it: nothing is cached. */
  knex: Knex;
  /**
   * Decides whether a request may use the admin API; only `true` admits. Runs before anything else.
   * See {@link bearerTokenAuthorizer} for `Authorization: Bearer <token>`.
   */
  authorize: AdminAuthorizer;
  /** The verifier of the dry run: pass the grant's own, so both judge alike. Default: a new one with default options. */
  verifier?: AssertionVerifier;
  /** The token endpoint's URL: the audience the dry run accepts for IdPs without aliases (as the grant's option). */
  tokenEndpointUrl?: string;
  /** Mounts `POST /applications` (lib/admin/README.md, example server). Absent: that path is 404. */
  applications?: ApplicationService;
  /** Largest JSON body in bytes; larger is 413. Default 262144 (256 KiB). */
  bodyLimitBytes?: number;
  /** Told of every 5xx (database down, a bug) with the original error, for the host's log. Never sent to the client. */
  onError?: (error: unknown, req: Request) => void;
}

/** Defaults of {@link AdminRouterOptions}. */
export const ADMIN_ROUTER_DEFAULTS = { bodyLimitBytes: 256 * 1024 } as const;

/**
 * The admin REST API of lib/admin/README.md as an Express router (Express 5; also mounts in Express 4 apps). JSON
 * in and out; paths are relative to where it is mounted.
 *
 * | route | answer |
 * |---|---|
 * | `GET /tenants`, `POST /tenants {domain}` | 200 list, 201 `{id, domain, createdAt}` |
 * | `GET /identity-providers` | 200 array of IdPs (certificates without PEM) |
 * | `POST /identity-providers` | 201 the IdP; certificates and aliases in the same transaction |
 * | `GET /identity-providers/:id` | 200 the IdP, certificates with their `pem` |
 * | `PATCH /identity-providers/:id` | 200 the IdP (JSON merge patch; see below) |
 * | `DELETE /identity-providers/:id` | 204 |
 * | `POST /identity-providers/:id/certificates {pem, kid?}` | 201 the certificate |
 * | `DELETE /identity-providers/:id/certificates/:certId` | 204 |
 * | `POST /identity-providers/:id/aliases {alias}` | 201 `{alias, createdAt}` |
 * | `DELETE /identity-providers/:id/aliases/:alias` (URL-encoded) | 204 |
 * | `GET /identity-providers/:id/rules` | 200 the IdP's trust rules in evaluation order, each with `warnings` |
 * | `POST /identity-providers/:id/rules {name, condition, subject?, clients?, scopes?, mode?, position?}` | 201 the rule with `warnings` |
 * | `GET /identity-providers/:id/rules/:ruleId` | 200 the rule with `warnings` |
 * | `PATCH /identity-providers/:id/rules/:ruleId` | 200 the rule with `warnings` |
 * | `DELETE /identity-providers/:id/rules/:ruleId` | 204 |
 * | `GET /rule-templates` | 200 the trust rule templates |
 * | `GET /issued-tokens?idp=&sub=&clientId=&limit=` | 200 audit rows, newest first (limit default 100, at most 1000) |
 * | `POST /assertions/validate {assertion, clientId?, scope?}` | 200 `{valid, reason?, idp?, claims?, …}` (records nothing) |
 * | `POST /applications`, `GET /applications` | whatever {@link AdminRouterOptions.applications} answers |
 *
 * Rules:
 * - every request first passes `authorize` (else 401 `unauthorized`, `WWW-Authenticate: Bearer`);
 * - `?tenantDomain=` selects the tenant (absent: `carbon.super`; unknown: 400). An id of another
 *   tenant's IdP is 404, exactly as an id that does not exist (or is not a UUID);
 * - unknown body fields and unknown query parameters are 400 naming them (a typo never passes silently);
 * - a trust rule's `condition` and `subject` are compiled on save: one that does not compile is 400 with
 *   `field` and `position` (`{start, end}` in that expression); every IdP and rule answer carries the
 *   lint's `warnings` (docs/workload-identity.md), which never refuse a save;
 * - `PATCH` sets the given fields; `null` resets a nullable one to its default. `certificates` and
 *   `aliases`, when given, REPLACE the IdP's sets (RFC 7396: arrays are replaced whole); certificates
 *   already present (same thumbprint) keep their id. To add or remove one, use the sub-resources;
 * - errors are `{error, error_description, field?, position?}` with `error` one of `invalid_request` (400, 413,
 *   415), `unauthorized`, `not_found`, `conflict` (409), `temporarily_unavailable` (503),
 *   `server_error` (500, no detail);
 * - every answer is `Cache-Control: no-store`.
 *
 * @example
 * app.use('/admin', createAdminRouter({
 *   knex,
 *   authorize: bearerTokenAuthorizer(process.env.ADMIN_TOKEN!),
 *   verifier,                       // the grant's
 *   tokenEndpointUrl: 'https://localhost:9443/oauth2/token',
 * }));
 */
export function createAdminRouter(options: AdminRouterOptions): Router {
  validateOptions(options);
  const repository = new AdminRepository(options.knex);
  const limit = options.bodyLimitBytes ?? ADMIN_ROUTER_DEFAULTS.bodyLimitBytes;
  const body = jsonBody(limit);
  let verifier = options.verifier;
  const getVerifier = () => (verifier ??= createAssertionVerifier());

  const router = express.Router();
  router.use(adminHeaders, requireAuthorization(options.authorize));

  /** The tenant of `?tenantDomain=` (validated by the route's query schema). */
  async function tenantOf(query: { tenantDomain?: string }): Promise<Tenant> {
    const domain = query.tenantDomain ?? DEFAULT_TENANT;
    const tenant = domain.length > 0 && domain.length <= 253 ? await repository.findTenant(domain) : null;
    if (!tenant)
      throw new AdminError('invalid_request', 'Unknown tenant domain: create it first with POST /tenants.', { field: 'tenantDomain' });
    return tenant;
  }

  const now = () => new Date();

  // ---- tenants ------------------------------------------------------------------------------------

  router
    .route('/tenants')
    .get(
      asyncHandler(async (req, res) => {
        parseInput(emptyQuery, req.query, 'query');
        const tenants = await repository.listTenants();
        res.status(200).json(tenants.map((t) => ({ id: t.id, domain: t.domain, createdAt: t.createdAt.toISOString() })));
      }),
    )
    .post(
      body,
      asyncHandler(async (req, res) => {
        parseInput(emptyQuery, req.query, 'query');
        const { domain } = parseInput(createTenantBody, req.body, 'body');
        const tenant = await repository.createTenant(domain);
        res.status(201).json({ id: tenant.id, domain: tenant.domain, createdAt: tenant.createdAt.toISOString() });
      }),
    )
    .all(methodNotAllowed(['GET', 'POST']));

  // ---- identity providers -------------------------------------------------------------------------

  router
    .route('/identity-providers')
    .get(
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const idps = await repository.listIdentityProviders(tenant.id);
        const at = now();
        res.status(200).json(idps.map((idp) => identityProviderView(idp, { now: at })));
      }),
    )
    .post(
      body,
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const input = parseInput(createIdentityProviderBody, req.body, 'body');
        const { certificates = [], aliases = [], rules = [], ...fields } = input;
        if (certificates.length === 0 && !fields.jwksUri && !fields.discoveryUrl) {
          throw new AdminError(
            'invalid_request',
            'Give the identity provider a way to verify signatures: certificates (PEM), a jwksUri or a discoveryUrl.',
            { field: 'certificates' },
          );
        }
        const parsed = parseCertificateList(certificates, 'certificates');
        rules.forEach((rule, index) => checkRuleExpressions(rule, `rules[${index}].`));
        const idp = await repository.createIdentityProvider(tenant.id, { fields, certificates: parsed, aliases, rules });
        res.set('Location', `${req.baseUrl}/identity-providers/${idp.id}`);
        res.status(201).json(identityProviderView(idp, { now: now() }));
      }),
    )
    .all(methodNotAllowed(['GET', 'POST']));

  router
    .route('/identity-providers/:id')
    .get(
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const idp = await repository.getIdentityProvider(tenant.id, param(req, 'id'));
        if (!idp) throw new AdminError('not_found', NOT_FOUND_IDP);
        // The single view carries the PEMs: operators export or compare the exact certificate here.
        res.status(200).json(identityProviderView(idp, { now: now(), withPem: true }));
      }),
    )
    .patch(
      body,
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const input = parseInput(patchIdentityProviderBody, req.body, 'body');
        const { certificates, aliases, ...fields } = input;
        const parsed = certificates ? parseCertificateList(certificates, 'certificates') : undefined;
        const idp = await repository.updateIdentityProvider(tenant.id, param(req, 'id'), {
          fields: fields as IdentityProviderFields,
          certificates: parsed,
          aliases,
        });
        if (!idp) throw new AdminError('not_found', NOT_FOUND_IDP);
        res.status(200).json(identityProviderView(idp, { now: now() }));
      }),
    )
    .delete(
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        if (!(await repository.deleteIdentityProvider(tenant.id, param(req, 'id')))) throw new AdminError('not_found', NOT_FOUND_IDP);
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed(['GET', 'PATCH', 'DELETE']));

  router
    .route('/identity-providers/:id/certificates')
    .post(
      body,
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const input = parseInput(addCertificateBody, req.body, 'body');
        const cert = parseCertificateInput(input.pem, 'pem');
        const stored = await repository.addCertificate(tenant.id, param(req, 'id'), { ...cert, kid: input.kid ?? null });
        if (!stored) throw new AdminError('not_found', NOT_FOUND_IDP);
        res.status(201).json(certificateView(stored, { now: now() }));
      }),
    )
    .all(methodNotAllowed(['POST']));

  router
    .route('/identity-providers/:id/certificates/:certId')
    .delete(
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const outcome = await repository.removeCertificate(tenant.id, param(req, 'id'), param(req, 'certId'));
        if (outcome === 'idp_not_found') throw new AdminError('not_found', NOT_FOUND_IDP);
        if (outcome === 'not_found') throw new AdminError('not_found', 'This identity provider has no certificate with this id.');
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed(['DELETE']));

  router
    .route('/identity-providers/:id/aliases')
    .post(
      body,
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const { alias } = parseInput(addAliasBody, req.body, 'body');
        const added = await repository.addAlias(tenant.id, param(req, 'id'), alias);
        if (!added) throw new AdminError('not_found', NOT_FOUND_IDP);
        res.status(201).json({ alias: added.alias, createdAt: added.createdAt.toISOString() });
      }),
    )
    .all(methodNotAllowed(['POST']));

  router
    .route('/identity-providers/:id/aliases/:alias')
    .delete(
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const outcome = await repository.removeAlias(tenant.id, param(req, 'id'), param(req, 'alias'));
        if (outcome === 'idp_not_found') throw new AdminError('not_found', NOT_FOUND_IDP);
        if (outcome === 'not_found')
          throw new AdminError('not_found', 'This identity provider has no such alias (send it URL-encoded, exactly as stored).');
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed(['DELETE']));

  // ---- trust rules (docs/workload-identity.md) ----------------------------------------------------

  router
    .route('/identity-providers/:id/rules')
    .get(
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const idp = await repository.getIdentityProvider(tenant.id, param(req, 'id'));
        if (!idp) throw new AdminError('not_found', NOT_FOUND_IDP);
        res.status(200).json(trustRuleAnswers(idp));
      }),
    )
    .post(
      body,
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const rule = parseInput(createTrustRuleBody, req.body, 'body');
        checkRuleExpressions(rule);
        const added = await repository.addRule(tenant.id, param(req, 'id'), rule);
        if (!added) throw new AdminError('not_found', NOT_FOUND_IDP);
        res.set('Location', `${req.baseUrl}/identity-providers/${added.idp.id}/rules/${added.ruleId}`);
        res.status(201).json(ruleAnswer(added));
      }),
    )
    .all(methodNotAllowed(['GET', 'POST']));

  router
    .route('/identity-providers/:id/rules/:ruleId')
    .get(
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const idp = await repository.getIdentityProvider(tenant.id, param(req, 'id'));
        if (!idp) throw new AdminError('not_found', NOT_FOUND_IDP);
        res.status(200).json(ruleAnswer({ idp, ruleId: param(req, 'ruleId') }));
      }),
    )
    .patch(
      body,
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const patch = parseInput(patchTrustRuleBody, req.body, 'body');
        checkRuleExpressions(patch);
        const outcome = await repository.updateRule(tenant.id, param(req, 'id'), param(req, 'ruleId'), patch);
        if (outcome === 'idp_not_found') throw new AdminError('not_found', NOT_FOUND_IDP);
        if (outcome === 'not_found') throw new AdminError('not_found', NOT_FOUND_RULE);
        res.status(200).json(ruleAnswer(outcome));
      }),
    )
    .delete(
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const outcome = await repository.removeRule(tenant.id, param(req, 'id'), param(req, 'ruleId'));
        if (outcome === 'idp_not_found') throw new AdminError('not_found', NOT_FOUND_IDP);
        if (outcome === 'not_found') throw new AdminError('not_found', NOT_FOUND_RULE);
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed(['GET', 'PATCH', 'DELETE']));

  router
    .route('/rule-templates')
    .get(
      asyncHandler(async (req, res) => {
        parseInput(emptyQuery, req.query, 'query');
        res.status(200).json(TRUST_RULE_TEMPLATES);
      }),
    )
    .all(methodNotAllowed(['GET']));

  // ---- audit and dry run --------------------------------------------------------------------------

  router
    .route('/issued-tokens')
    .get(
      asyncHandler(async (req, res) => {
        const query = parseInput(issuedTokensQuery, req.query, 'query');
        const tenant = await tenantOf(query);
        const rows = await repository.listIssuedTokens(tenant.id, {
          idp: query.idp,
          sub: query.sub,
          clientId: query.clientId,
          limit: query.limit ?? 100,
        });
        res.status(200).json(rows.map(issuedTokenView));
      }),
    )
    .all(methodNotAllowed(['GET']));

  router
    .route('/assertions/validate')
    .post(
      body,
      asyncHandler(async (req, res) => {
        const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
        const input = parseInput(validateAssertionBody, req.body, 'body');
        const result = await dryRunAssertion(
          { verifier: getVerifier(), repository, tokenEndpointUrl: options.tokenEndpointUrl },
          tenant,
          input,
        );
        res.status(200).json(result);
      }),
    )
    .all(methodNotAllowed(['POST']));

  // ---- applications (host-provided) ---------------------------------------------------------------

  const { applications } = options;
  if (applications) {
    const hostAnswer = (res: Response, answer: AdminAnswer) => {
      if (!answer || !Number.isInteger(answer.status) || answer.status < 200 || answer.status > 599) {
        throw new Error('applications.create() and list() must resolve to { status: <integer 200-599>, body }.');
      }
      res.status(answer.status).json(answer.body);
    };
    const route = router.route('/applications');
    const { list } = applications;
    if (list) {
      route.get(
        asyncHandler(async (req, res) => {
          const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
          hostAnswer(res, await list.call(applications, tenant));
        }),
      );
    }
    route
      .post(
        body,
        asyncHandler(async (req, res) => {
          const tenant = await tenantOf(parseInput(tenantQuery, req.query, 'query'));
          hostAnswer(res, await applications.create(tenant, req.body));
        }),
      )
      .all(methodNotAllowed(list ? ['GET', 'POST'] : ['POST']));
  }

  // Everything else under the mount point is ours to answer: JSON, not the host's HTML 404.
  router.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', error_description: 'No such admin endpoint.' });
  });
  router.use(errorHandler(options.onError));
  return router;
}

const NOT_FOUND_RULE = 'This identity provider has no trust rule with this id.';

/** The answer about one rule of `idp`, with its warnings; 404 when the IdP has no rule `ruleId`. */
function ruleAnswer({ idp, ruleId }: { idp: IdentityProviderRecord; ruleId: string }) {
  const answer = trustRuleAnswers(idp).find((rule) => rule.id === ruleId.toLowerCase());
  if (!answer) throw new AdminError('not_found', NOT_FOUND_RULE);
  return answer;
}

/** A path parameter (already percent-decoded by the router). */
function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | undefined>)[name];
  return typeof value === 'string' ? value : '';
}

function validateOptions(options: AdminRouterOptions): void {
  if (!options || typeof options !== 'object')
    throw new ConfigurationError('createAdminRouter(options): options must be an object { knex, authorize, … }.');
  const { knex, authorize, verifier, tokenEndpointUrl, applications, bodyLimitBytes, onError } = options;
  if (typeof knex !== 'function' || typeof (knex as { raw?: unknown }).raw !== 'function') {
    throw new ConfigurationError('createAdminRouter: options.knex must be a Knex instance (e.g. from openDatabase()).');
  }
  if (typeof authorize !== 'function') {
    throw new ConfigurationError(
      'createAdminRouter: options.authorize must be a function (req) => boolean | Promise<boolean>, e.g. bearerTokenAuthorizer(token).',
    );
  }
  if (verifier !== undefined && typeof verifier?.verify !== 'function') {
    throw new ConfigurationError('createAdminRouter: options.verifier must be an AssertionVerifier (from createAssertionVerifier()).');
  }
  if (tokenEndpointUrl !== undefined) {
    let ok = typeof tokenEndpointUrl === 'string';
    try {
      if (ok) new URL(tokenEndpointUrl);
    } catch {
      ok = false;
    }
    if (!ok)
      throw new ConfigurationError(
        `createAdminRouter: options.tokenEndpointUrl must be an absolute URL; got ${JSON.stringify(tokenEndpointUrl)}.`,
      );
  }
  if (
    applications !== undefined &&
    (typeof applications?.create !== 'function' || (applications.list !== undefined && typeof applications.list !== 'function'))
  ) {
    throw new ConfigurationError(
      'createAdminRouter: options.applications must be { create(tenant, body): Promise<{ status, body }>, list?(tenant) }.',
    );
  }
  if (
    bodyLimitBytes !== undefined &&
    (!Number.isSafeInteger(bodyLimitBytes) || bodyLimitBytes < 1024 || bodyLimitBytes > 16 * 1024 * 1024)
  ) {
    throw new ConfigurationError(
      `createAdminRouter: options.bodyLimitBytes must be an integer from 1024 to 16777216; got ${String(bodyLimitBytes)}.`,
    );
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw new ConfigurationError('createAdminRouter: options.onError must be a function (error, req) => void.');
  }
}
