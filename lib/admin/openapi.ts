import { z } from 'zod';
import { REASONS } from '../errors';
import type { TrustRuleTemplate } from '../rules/templates';
import type { DryRunResult } from './dry-run';
import {
  addAliasBody,
  addCertificateBody,
  createIdentityProviderBody,
  createTenantBody,
  createTrustRuleBody,
  issuedTokensQuery,
  patchIdentityProviderBody,
  patchTrustRuleBody,
  validateAssertionBody,
} from './schemas';
import type { CertificateView, IdentityProviderView, IssuedTokenView, TrustRuleAnswer } from './views';

/**
 * The admin API as an OpenAPI 3.1 document. Request bodies and query parameters are derived from the
 * very zod schemas the router validates with (`schemas.ts`, through `z.toJSONSchema`), so the two
 * cannot drift; answers are described by zod schemas checked against the view types at compile time.
 * A test compares the document's operations with the routes the router really has.
 */

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1). */
export type JsonSchema = Record<string, unknown>;

/** One operation of an {@link OpenApiDocument}. */
export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Array<{ name: string; in: 'path' | 'query'; required: boolean; description?: string; schema: JsonSchema }>;
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, OpenApiResponse>;
}

/** One answer of an {@link OpenApiOperation}. */
export interface OpenApiResponse {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Record<string, { schema: JsonSchema }>;
}

/** The parts of an OpenAPI 3.1 document this module writes (https://spec.openapis.org/oas/v3.1.0). */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  jsonSchemaDialect: string;
  servers: Array<{ url: string; description?: string }>;
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Partial<Record<'get' | 'post' | 'patch' | 'delete', OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; description: string }>;
  };
}

/** Options of {@link adminOpenApiDocument}; describe the router as it is mounted. */
export interface AdminOpenApiOptions {
  /** Where the admin router is mounted (the `servers` URL). Default `/admin`. */
  basePath?: string;
  /**
   * Whether the router serves the host's application routes (`createAdminRouter({ applications })`):
   * `{ list: true }` when the service has `list` (then `GET /applications` too). Default: not served.
   */
  applications?: false | { list?: boolean };
  /** `info.version`. Default `'1'`. */
  version?: string;
}

// ---- answers, as zod schemas checked against the view types ----------------------------------------

const isoTime = z.string().describe('ISO 8601 timestamp (UTC)');
const stringList = z.array(z.string());

const certificateViewSchema = z.object({
  id: z.string(),
  thumbprint: z.string().describe('x5t#S256: base64url SHA-256 of the DER certificate'),
  subject: z.string(),
  notBefore: isoTime,
  notAfter: isoTime,
  kid: z.string().nullable(),
  currentlyValid: z.boolean().describe('notBefore ≤ now ≤ notAfter'),
  pem: z.string().optional().describe('only in GET /identity-providers/{id}'),
});

const trustRuleViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  condition: z.string().describe('CEL, of type bool, over claims, header and client'),
  subject: z.string().nullable().describe('CEL, of type string: the subject handed to the host; null: claims.sub'),
  clients: stringList.describe('client ids that may present what the rule admits; empty: any client of the tenant'),
  scopes: stringList.nullable().describe('scopes the rule allows; null: no bound of its own'),
  mode: z.enum(['enforce', 'shadow']),
  position: z.int().describe('evaluation order (ascending, then name)'),
  createdAt: isoTime,
  updatedAt: isoTime,
});

const ruleWarningSchema = z.object({
  code: z.enum(['owner_id_unbound', 'mutable_name_only', 'shared_issuer_no_rules']),
  rule: z.string().optional().describe('the rule it is about; absent: the identity provider as a whole'),
  message: z.string(),
});
const warningsSchema = z
  .array(ruleWarningSchema)
  .describe('the lint of the trust rules (docs/workload-identity.md): rules that trust more than likely meant; never refuses a save');

const trustRuleAnswerSchema = trustRuleViewSchema.extend({ warnings: warningsSchema });

const ruleTemplateSchema = z.object({
  id: z.enum(['github-actions', 'gitlab-ci', 'kubernetes-service-account']),
  title: z.string(),
  description: z.string(),
  issuer: z.string().nullable().describe('the IdP name the platform signs with; null: per installation'),
  identityProvider: z
    .object({
      replayPolicy: z.enum(['once', 'reuse']),
      requireJti: z.boolean(),
      maxAssertionLifetimeSeconds: z.int(),
      discovery: z.boolean().describe('keys through discovery of the issuer (`discoveryUrl: true`)'),
    })
    .describe('suggested IdP settings'),
  parameters: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      example: z.string(),
      pattern: z.string().describe('what a value must match (anchored)'),
    }),
  ),
  rule: z
    .object({ name: z.string(), condition: z.string(), subject: z.string().nullable() })
    .describe('`{{NAME}}` placeholders stand inside CEL string literals'),
});

const identityProviderViewSchema = z.object({
  id: z.string(),
  name: z.string().describe('the assertions\' "iss"'),
  displayName: z.string().nullable(),
  enabled: z.boolean(),
  algorithms: stringList.nullable().describe('null: the default allow-list'),
  jwksUri: z.string().nullable(),
  requireJti: z.boolean(),
  maxAssertionLifetimeSeconds: z.int(),
  iatMaxAgeSeconds: z.int().nullable(),
  clockSkewSeconds: z.int(),
  allowedSubjects: stringList.nullable(),
  allowedClients: stringList.nullable(),
  allowedScopes: stringList.nullable(),
  issueRefreshToken: z.boolean(),
  replayPolicy: z.enum(['once', 'reuse']),
  discoveryUrl: z.string().nullable().describe('OpenID Provider configuration document naming the JWKS'),
  certificates: z.array(certificateViewSchema),
  rules: z.array(trustRuleViewSchema).describe('trust rules in evaluation order'),
  aliases: stringList.describe('accepted "aud" values'),
  createdAt: isoTime,
  updatedAt: isoTime,
  warnings: warningsSchema,
});

const issuedTokenViewSchema = z.object({
  id: z.string(),
  idp: z.string(),
  idpId: z.string().nullable(),
  clientId: z.string(),
  subject: z.string(),
  jti: z.string().nullable(),
  rule: z.string().nullable().describe('the trust rule that admitted the assertion'),
  scope: z.string().nullable(),
  parentId: z.string().nullable(),
  issuedAt: isoTime,
  expiresAt: isoTime,
  revokedAt: isoTime.nullable(),
});

const tenantSchema = z.object({ id: z.string(), domain: z.string(), createdAt: isoTime });
const aliasSchema = z.object({ alias: z.string(), createdAt: isoTime });

const dryRunResultSchema = z.object({
  valid: z.boolean(),
  reason: z.enum(Object.keys(REASONS) as [string, ...string[]]).optional(),
  description: z.string().optional(),
  idp: z.object({ id: z.string(), name: z.string() }).optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
  header: z.record(z.string(), z.unknown()).optional(),
  keyId: z.string().optional(),
  alreadyUsed: z.boolean().optional(),
  rules: z
    .array(
      z.object({
        name: z.string(),
        mode: z.enum(['enforce', 'shadow']),
        matched: z.boolean(),
        clientAllowed: z.boolean(),
        failed: z
          .object({ expression: z.string(), start: z.number().int(), end: z.number().int() })
          .optional()
          .describe('the first top-level && conjunct of the condition that is not true: its source text and range (end exclusive)'),
        error: z.string().optional().describe('why that conjunct or the subject has no value, or why the stored rule does not compile'),
        subject: z.string().optional().describe('the subject the rule hands to the host, when its condition holds'),
      }),
    )
    .optional()
    .describe("each trust rule's verdict, enforced rules first (docs/workload-identity.md)"),
  rule: z.string().optional().describe('the enforced trust rule that admits the assertion'),
  shadow: z
    .object({ decision: z.enum(['would_allow', 'would_deny']), rule: z.string().optional() })
    .optional()
    .describe("what the IdP's shadow rules would decide"),
  notChecked: z.array(z.enum(['allowed_clients', 'client_scopes', 'model_validate_scope', 'resolve_user'])),
});
// Same<> lets optional fields differ in name: the dry run's keys, and its rule verdicts', are compared too.
type DryRunOutput = z.output<typeof dryRunResultSchema>;
const dryRunKeysMatch: [
  Same<keyof DryRunOutput, keyof DryRunResult>,
  Same<keyof NonNullable<DryRunOutput['rules']>[number], keyof NonNullable<DryRunResult['rules']>[number]>,
  Same<keyof NonNullable<DryRunOutput['shadow']>, keyof NonNullable<DryRunResult['shadow']>>,
] = [true, true, true];
void dryRunKeysMatch;

const errorSchema = z.object({
  error: z.enum(['invalid_request', 'unauthorized', 'not_found', 'conflict', 'temporarily_unavailable', 'server_error']),
  error_description: z.string(),
  field: z.string().optional().describe('the offending field or query parameter, when one is to blame'),
  position: z
    .object({ start: z.int(), end: z.int() })
    .optional()
    .describe('where in that field a rule expression fails to compile: zero-based character offsets, end exclusive'),
});

// Compile-time checks: a view field added, removed or retyped without its schema fails `tsc`.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** `T` with its readonly arrays and fields made writable, as zod's output types are. */
type Writable<T> = T extends readonly (infer U)[] ? Writable<U>[] : T extends object ? { -readonly [K in keyof T]: Writable<T[K]> } : T;
const viewsMatch: [
  Same<z.output<typeof certificateViewSchema>, CertificateView>,
  Same<z.output<typeof identityProviderViewSchema>, IdentityProviderView>,
  Same<z.output<typeof issuedTokenViewSchema>, IssuedTokenView>,
  Same<Omit<z.output<typeof dryRunResultSchema>, 'reason'>, Omit<DryRunResult, 'reason'>>,
  Same<z.output<typeof trustRuleAnswerSchema>, TrustRuleAnswer>,
  Same<z.output<typeof ruleTemplateSchema>, Writable<TrustRuleTemplate>>,
] = [true, true, true, true, true, true];
void viewsMatch;

/**
 * What the identity-provider fields mean, and the rules zod refinements enforce that JSON Schema cannot
 * say; added to the derived schemas as `description`.
 */
const IDP_FIELD_NOTES: Record<string, string> = {
  name: 'The `iss` of its assertions, compared exactly; unique in the tenant.',
  displayName: 'Free text for people.',
  enabled: 'A disabled IdP is unknown to the token endpoint, and its refresh tokens stop working (default true).',
  algorithms: 'Allow-list of JWS algorithms from RS/PS/ES 256/384/512 and EdDSA; never `none` or HMAC; `null`: all of those.',
  jwksUri: '`https:` (or `http:` on a loopback host); no credentials, no fragment. Keys are fetched from it besides the certificates.',
  requireJti: 'Refuse assertions without `jti` (default true); without, replay is keyed on the signed content.',
  maxAssertionLifetimeSeconds: 'Largest `exp` − `iat` (or `exp` − now) accepted.',
  iatMaxAgeSeconds: 'Oldest `iat` accepted; `null`: no limit beyond `exp`.',
  clockSkewSeconds: 'Leeway for `exp`, `nbf` and `iat`.',
  allowedSubjects: 'Only these `sub` values; `null`: any, `[]`: none.',
  allowedClients: 'Only these clients may present its assertions; `null`: any.',
  allowedScopes: 'Scope tokens (RFC 6749 §3.3) its tokens may carry; `null`: any.',
  issueRefreshToken: 'Issue refresh tokens with its access tokens (when the client has the refresh_token grant).',
  certificates: 'PEM certificates (or base64 DER), one per entry, or `{pem, kid}`; in PATCH they replace the set.',
  aliases: 'Accepted `aud` values (this token endpoint as the IdP names it); in PATCH they replace the set.',
  replayPolicy:
    '`once` (default): every assertion is single-use. `reuse`: tokens reused by design (e.g. Kubernetes service account tokens) are ' +
    'accepted again until they expire; only with `maxAssertionLifetimeSeconds` ≤ 3600 (created with `reuse` and no lifetime: 3600).',
  discoveryUrl:
    'An OpenID Provider configuration URL naming the JWKS (its `issuer` must equal `name`), with the rule of `jwksUri`; `true`: ' +
    '`<name>/.well-known/openid-configuration` for an https issuer name; `null` clears. Exclusive with `jwksUri`.',
  rules: 'Trust rules, created with the IdP in one transaction (a rule that does not compile refuses the whole body); later: /rules.',
};

/** What the trust rule fields mean (docs/workload-identity.md). */
const RULE_FIELD_NOTES: Record<string, string> = {
  name: 'Unique within the IdP; audited, logged and counted for the assertions it admits.',
  condition: 'CEL of type bool over `claims`, `header` and `client` (`client.id`); compiled on save (400 with `field` and `position`).',
  subject: 'CEL of type string: the subject handed to the host; `null` or absent: `claims.sub`.',
  clients: 'Client ids that may present what the rule admits; `[]` or absent: any client of the tenant.',
  scopes: 'Scope tokens the rule allows (bounding the requested scope); `null` or absent: no bound of its own.',
  mode: '`enforce` (default): the rule decides; `shadow`: evaluated beside the enforced rules and only reported.',
  position: 'Evaluation order (ascending, then name); absent on create: after the last rule.',
};

function withNotes(schema: JsonSchema, notes: Record<string, string>): JsonSchema {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return schema;
  const described = Object.fromEntries(
    Object.entries(properties).map(([name, property]) => [name, notes[name] ? { ...property, description: notes[name] } : property]),
  );
  return { ...schema, properties: described };
}

// ---- the document -----------------------------------------------------------------------------------

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** A zod schema as JSON Schema: the input side (what a client sends), without the `$schema` key. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const answer = (description: string, schema?: JsonSchema): OpenApiResponse =>
  schema ? { description, content: json(schema) } : { description };
const failure = (description: string) => answer(description, ref('AdminError'));

const COMMON_FAILURES: Record<string, OpenApiResponse> = {
  '401': {
    ...failure('Not admitted by the `authorize` hook (`error: unauthorized`).'),
    headers: { 'WWW-Authenticate': { description: 'Bearer challenge', schema: { type: 'string' } } },
  },
  '503': failure('The database is unavailable (`temporarily_unavailable`).'),
  '500': failure('An unexpected failure (`server_error`, no detail).'),
};

const TENANT_DOMAIN = {
  name: 'tenantDomain',
  in: 'query' as const,
  required: false,
  description: 'The tenant (default `carbon.super`); unknown is 400.',
  schema: { type: 'string' },
};
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path' as const,
  required: true,
  description,
  schema: { type: 'string' },
});
const IDP_ID = pathParam('id', "The identity provider id (another tenant's id is 404, as an unknown one).");
const RULE_ID = pathParam('ruleId', "The trust rule id (another identity provider's rule is 404, as an unknown one).");

function body(schemaName: string) {
  return { required: true, content: json(ref(schemaName)) };
}

function operation(
  operationId: string,
  tag: string,
  summary: string,
  responses: OpenApiOperation['responses'],
  extra: Partial<Pick<OpenApiOperation, 'parameters' | 'requestBody' | 'description'>> = {},
): OpenApiOperation {
  const withBody: Record<string, OpenApiResponse> = extra.requestBody
    ? { '413': failure('The body is over the limit.'), '415': failure('The body is not JSON.') }
    : {};
  return { operationId, summary, tags: [tag], ...extra, responses: { ...responses, ...withBody, ...COMMON_FAILURES } };
}

/**
 * The OpenAPI 3.1 document of {@link createAdminRouter}'s API, as the router is configured: serve it
 * (e.g. `GET /admin/openapi.json`) or render it with {@link renderAdminApiHtml}.
 *
 * @example
 * const document = adminOpenApiDocument({ basePath: '/admin', applications: { list: true } });
 * app.get('/admin/openapi.json', (_req, res) => res.json(document));
 */
export function adminOpenApiDocument(options: AdminOpenApiOptions = {}): OpenApiDocument {
  const issuedQuery = jsonSchema(issuedTokensQuery, 'input') as { properties: Record<string, JsonSchema> };
  const issuedDescriptions: Record<string, string> = {
    tenantDomain: TENANT_DOMAIN.description,
    idp: 'Only tokens from this IdP (by name).',
    sub: 'Only tokens for this subject.',
    clientId: 'Only tokens of this client.',
    limit: 'At most this many rows, 1 to 1000 (default 100).',
  };
  const paths: OpenApiDocument['paths'] = {
    '/tenants': {
      get: operation('listTenants', 'tenants', 'List tenants', { '200': answer('The tenants.', { type: 'array', items: ref('Tenant') }) }),
      post: operation(
        'createTenant',
        'tenants',
        'Add a tenant',
        {
          '201': answer('The tenant.', ref('Tenant')),
          '400': failure('Invalid domain.'),
          '409': failure('The domain is taken.'),
        },
        { requestBody: body('CreateTenant') },
      ),
    },
    '/identity-providers': {
      get: operation(
        'listIdentityProviders',
        'identity providers',
        "List the tenant's identity providers",
        {
          '200': answer('By name; certificates without PEM.', { type: 'array', items: ref('IdentityProvider') }),
          '400': failure('Unknown tenant or query parameter.'),
        },
        { parameters: [TENANT_DOMAIN] },
      ),
      post: operation(
        'createIdentityProvider',
        'identity providers',
        'Register an identity provider',
        {
          '201': {
            ...answer('The identity provider.', ref('IdentityProvider')),
            headers: { Location: { description: 'Its URL', schema: { type: 'string' } } },
          },
          '400': failure('Invalid field, or neither certificates nor jwksUri.'),
          '409': failure('The name is taken in this tenant.'),
        },
        { parameters: [TENANT_DOMAIN], requestBody: body('CreateIdentityProvider') },
      ),
    },
    '/identity-providers/{id}': {
      get: operation(
        'getIdentityProvider',
        'identity providers',
        'Read an identity provider',
        {
          '200': answer('The identity provider, certificates with their PEM.', ref('IdentityProvider')),
          '404': failure('No such identity provider in this tenant.'),
        },
        { parameters: [IDP_ID, TENANT_DOMAIN] },
      ),
      patch: operation(
        'updateIdentityProvider',
        'identity providers',
        'Change an identity provider (JSON merge patch, RFC 7396)',
        {
          '200': answer('The identity provider.', ref('IdentityProvider')),
          '400': failure('Invalid field.'),
          '404': failure('No such identity provider in this tenant.'),
          '409': failure('The new name is taken.'),
        },
        {
          parameters: [IDP_ID, TENANT_DOMAIN],
          requestBody: body('PatchIdentityProvider'),
          description: '`null` resets a nullable field to its default; `certificates` and `aliases`, when given, replace the sets.',
        },
      ),
      delete: operation(
        'deleteIdentityProvider',
        'identity providers',
        'Delete an identity provider',
        {
          '204': answer('Deleted; its refresh tokens stop working.'),
          '404': failure('No such identity provider in this tenant.'),
        },
        { parameters: [IDP_ID, TENANT_DOMAIN] },
      ),
    },
    '/identity-providers/{id}/certificates': {
      post: operation(
        'addCertificate',
        'identity providers',
        'Add a certificate',
        {
          '201': answer('The certificate.', ref('Certificate')),
          '400': failure('Not a usable certificate.'),
          '404': failure('No such identity provider in this tenant.'),
          '409': failure('The IdP has this certificate already.'),
        },
        { parameters: [IDP_ID, TENANT_DOMAIN], requestBody: body('AddCertificate') },
      ),
    },
    '/identity-providers/{id}/certificates/{certId}': {
      delete: operation(
        'removeCertificate',
        'identity providers',
        'Remove a certificate',
        {
          '204': answer('Removed.'),
          '404': failure('No such identity provider or certificate.'),
        },
        { parameters: [IDP_ID, pathParam('certId', 'The certificate id.'), TENANT_DOMAIN] },
      ),
    },
    '/identity-providers/{id}/aliases': {
      post: operation(
        'addAlias',
        'identity providers',
        'Add an alias (an accepted audience)',
        {
          '201': answer('The alias.', ref('Alias')),
          '400': failure('Invalid alias.'),
          '404': failure('No such identity provider in this tenant.'),
          '409': failure('The IdP has this alias already.'),
        },
        { parameters: [IDP_ID, TENANT_DOMAIN], requestBody: body('AddAlias') },
      ),
    },
    '/identity-providers/{id}/aliases/{alias}': {
      delete: operation(
        'removeAlias',
        'identity providers',
        'Remove an alias',
        {
          '204': answer('Removed.'),
          '404': failure('No such identity provider or alias.'),
        },
        { parameters: [IDP_ID, pathParam('alias', 'The alias, URL-encoded, exactly as stored.'), TENANT_DOMAIN] },
      ),
    },
    '/identity-providers/{id}/rules': {
      get: operation(
        'listTrustRules',
        'trust rules',
        "List an identity provider's trust rules",
        {
          '200': answer('In evaluation order, each with its warnings.', { type: 'array', items: ref('TrustRule') }),
          '404': failure('No such identity provider in this tenant.'),
        },
        { parameters: [IDP_ID, TENANT_DOMAIN] },
      ),
      post: operation(
        'createTrustRule',
        'trust rules',
        'Add a trust rule',
        {
          '201': {
            ...answer('The rule, with the warnings of the lint.', ref('TrustRule')),
            headers: { Location: { description: 'Its URL', schema: { type: 'string' } } },
          },
          '400': failure('Invalid field; an expression that does not compile (with `field` and `position`); too many rules.'),
          '404': failure('No such identity provider in this tenant.'),
          '409': failure('The IdP has a rule of this name.'),
        },
        { parameters: [IDP_ID, TENANT_DOMAIN], requestBody: body('CreateTrustRule') },
      ),
    },
    '/identity-providers/{id}/rules/{ruleId}': {
      get: operation(
        'getTrustRule',
        'trust rules',
        'Read a trust rule',
        {
          '200': answer('The rule, with the warnings of the lint.', ref('TrustRule')),
          '404': failure('No such identity provider or rule.'),
        },
        { parameters: [IDP_ID, RULE_ID, TENANT_DOMAIN] },
      ),
      patch: operation(
        'updateTrustRule',
        'trust rules',
        'Change a trust rule (JSON merge patch, RFC 7396)',
        {
          '200': answer('The rule, with the warnings of the lint.', ref('TrustRule')),
          '400': failure('Invalid field; an expression that does not compile (with `field` and `position`).'),
          '404': failure('No such identity provider or rule.'),
          '409': failure('The new name is taken on this IdP.'),
        },
        {
          parameters: [IDP_ID, RULE_ID, TENANT_DOMAIN],
          requestBody: body('PatchTrustRule'),
          description: "`subject: null` hands `claims.sub` to the host; `scopes: null` removes the rule's own bound.",
        },
      ),
      delete: operation(
        'deleteTrustRule',
        'trust rules',
        'Delete a trust rule',
        {
          '204': answer('Deleted; in force at once.'),
          '404': failure('No such identity provider or rule.'),
        },
        { parameters: [IDP_ID, RULE_ID, TENANT_DOMAIN] },
      ),
    },
    '/rule-templates': {
      get: operation('listRuleTemplates', 'trust rules', 'Trust rule templates (GitHub Actions, GitLab CI, Kubernetes)', {
        '200': answer('The templates.', { type: 'array', items: ref('RuleTemplate') }),
        '400': failure('A query parameter was given.'),
      }),
    },
    '/issued-tokens': {
      get: operation(
        'listIssuedTokens',
        'audit',
        'Audit: tokens issued for assertions, newest first',
        {
          '200': answer('Audit rows; never a token or its hash.', { type: 'array', items: ref('IssuedToken') }),
          '400': failure('Unknown tenant or invalid query parameter.'),
        },
        {
          parameters: Object.entries(issuedQuery.properties).map(([name, schema]) => ({
            name,
            in: 'query' as const,
            required: false,
            description: issuedDescriptions[name],
            schema,
          })),
        },
      ),
    },
    '/assertions/validate': {
      post: operation(
        'validateAssertion',
        'audit',
        'Dry run: would the token endpoint accept this assertion?',
        {
          '200': answer('The verdict; nothing is recorded and the assertion stays usable.', ref('DryRunResult')),
          '400': failure('Invalid field or tenant.'),
        },
        { parameters: [TENANT_DOMAIN], requestBody: body('ValidateAssertion') },
      ),
    },
  };

  if (options.applications) {
    const hostAnswer = answer("The host's answer (`applications.create` / `applications.list`).", { type: 'object' });
    paths['/applications'] = {
      ...(options.applications.list
        ? {
            get: operation(
              'listApplications',
              'applications',
              "List the tenant's applications (host-provided)",
              { '200': hostAnswer },
              { parameters: [TENANT_DOMAIN] },
            ),
          }
        : {}),
      post: operation(
        'createApplication',
        'applications',
        'Create an application (host-provided)',
        { '201': hostAnswer, '400': failure('Invalid body or tenant.') },
        {
          parameters: [TENANT_DOMAIN],
          requestBody: { required: true, content: json({ type: 'object' }) },
        },
      ),
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'oauth2-jwt-bearer admin API',
      version: options.version ?? '1',
      description:
        'Identity providers (trusted issuers of RFC 7523 assertions), their certificates, aliases and trust rules, tenants, the audit of issued tokens and a dry run. ' +
        'JSON in and out; unknown fields and query parameters are 400; every answer is `Cache-Control: no-store`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: options.basePath ?? '/admin' }],
    security: [{ adminBearer: [] }],
    tags: [
      { name: 'tenants', description: 'Tenants (`?tenantDomain=` of token requests).' },
      {
        name: 'identity providers',
        description: 'Trusted issuers: name = `iss`, aliases = accepted `aud`, certificates, a JWKS URI or a discovery URL.',
      },
      {
        name: 'trust rules',
        description: 'CEL conditions an assertion of the IdP must meet, and what they grant (docs/workload-identity.md).',
      },
      { name: 'audit', description: 'Issued tokens and the dry run.' },
      ...(options.applications ? [{ name: 'applications', description: 'OAuth clients, kept by the host.' }] : []),
    ],
    paths,
    components: {
      schemas: {
        CreateTenant: jsonSchema(createTenantBody, 'input'),
        CreateIdentityProvider: withNotes(jsonSchema(createIdentityProviderBody, 'input'), IDP_FIELD_NOTES),
        PatchIdentityProvider: withNotes(jsonSchema(patchIdentityProviderBody, 'input'), IDP_FIELD_NOTES),
        AddCertificate: jsonSchema(addCertificateBody, 'input'),
        AddAlias: jsonSchema(addAliasBody, 'input'),
        CreateTrustRule: withNotes(jsonSchema(createTrustRuleBody, 'input'), RULE_FIELD_NOTES),
        PatchTrustRule: withNotes(jsonSchema(patchTrustRuleBody, 'input'), RULE_FIELD_NOTES),
        ValidateAssertion: jsonSchema(validateAssertionBody, 'input'),
        Tenant: jsonSchema(tenantSchema, 'output'),
        IdentityProvider: jsonSchema(identityProviderViewSchema, 'output'),
        Certificate: jsonSchema(certificateViewSchema, 'output'),
        Alias: jsonSchema(aliasSchema, 'output'),
        IssuedToken: jsonSchema(issuedTokenViewSchema, 'output'),
        TrustRule: jsonSchema(trustRuleAnswerSchema, 'output'),
        RuleTemplate: jsonSchema(ruleTemplateSchema, 'output'),
        DryRunResult: jsonSchema(dryRunResultSchema, 'output'),
        AdminError: jsonSchema(errorSchema, 'output'),
      },
      securitySchemes: {
        adminBearer: {
          type: 'http',
          scheme: 'bearer',
          description: "As the host's `authorize` hook decides; `bearerTokenAuthorizer` takes `Authorization: Bearer <ADMIN_TOKEN>`.",
        },
      },
    },
  };
}
