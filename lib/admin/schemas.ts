import { z } from 'zod';
import { DEFAULT_ALGORITHMS } from '../types';
import { compileExpression, RULE_EXPRESSION_LIMITS, RuleExpressionError, type RuleExpressionField } from '../rules/cel';
import { checkJwksUrl, type JwksUriProblemCode } from '../shared/jwks-uri';
import { SCOPE_TOKEN } from '../shared/patterns';
import { CONTROL_CHARACTER as CONTROL, isStorableText } from '../shared/text';
import { AdminError } from './errors';

/**
 * The admin API's input rules (lib/admin/README.md), as zod schemas. Every object is strict: an unknown field is a
 * 400 naming it, so that a typo (`requireJTI`) is never silently ignored. Messages are predicates
 * ("must be …") that {@link parseInput} prefixes with the field's path.
 */

/** Postgres `integer` columns hold at most this. */
const INT32_MAX = 2_147_483_647;
/** Upper bound of list fields: the body limit bounds them too, this keeps the answer's message clear. */
const MAX_LIST = 1000;
/** Certificates and aliases per IdP per request. */
const MAX_KEYS = 100;
/** Trust rules of one IdP (each is evaluated for every assertion of that issuer, so their number is bounded). */
export const MAX_RULES_PER_IDP = 100;

/** A DNS-style tenant domain (as `carbon.super`): dot-separated labels of letters, digits and inner hyphens. */
const TENANT_DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

const storable = (value: string) => isStorableText(value);

/** Text that is matched exactly against tokens (issuer names, aliases): no control characters, no outer spaces. */
function exactText(max: number) {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((v) => storable(v) && !CONTROL.test(v), 'must not contain control characters or unpaired surrogates')
    .refine((v) => v.trim() === v, 'must not begin or end with whitespace (it is compared exactly)');
}

/** Free text that only has to be storable (Postgres text holds no NUL; UTF-8 no lone surrogate). */
function storableText(max: number) {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine(storable, 'must not contain NUL characters or unpaired surrogates');
}

/** A list with duplicates removed (first occurrence kept): sets, in the order given. */
function uniqueList<T extends z.ZodType<string>>(item: T, max = MAX_LIST) {
  return z
    .array(item)
    .max(max, `must have at most ${max} entries`)
    .transform((list) => [...new Set(list)] as z.output<T>[]);
}

const positiveInt = z.int().min(1, `must be a positive integer`).max(INT32_MAX, `must be at most ${INT32_MAX}`);
const nonNegativeInt = z.int().min(0, 'must be zero or a positive integer').max(INT32_MAX, `must be at most ${INT32_MAX}`);

// ---------------------------------------------------------------------------------------------------
// Algorithms (docs/validation.md step 2; the admin API refuses none and HMAC)

const SUPPORTED = new Set<string>(DEFAULT_ALGORITHMS);

/**
 * Why an algorithm name cannot be in an allow-list, or `undefined` when it can. `none` (any case) and
 * HMAC are refused with their reason: with `none` anyone could mint an assertion; with HMAC the shared
 * "secret" would be the IdP's public certificate (RFC 8725 §2.1, algorithm confusion).
 */
export function algorithmProblem(alg: string): string | undefined {
  if (SUPPORTED.has(alg)) return undefined;
  if (alg.trim().toLowerCase() === 'none') return `"none" is never allowed: an unsigned assertion proves nothing`;
  if (/^hs\d*$/i.test(alg.trim())) {
    return `${JSON.stringify(alg)} is a symmetric (HMAC) algorithm; only asymmetric signatures are accepted`;
  }
  const sameIgnoringCase = DEFAULT_ALGORITHMS.find((known) => known.toLowerCase() === alg.toLowerCase());
  if (sameIgnoringCase)
    return `${JSON.stringify(alg)} is not an algorithm name (they are case-sensitive): did you mean "${sameIgnoringCase}"?`;
  return `${JSON.stringify(alg.slice(0, 40))} is not a supported algorithm; use one of ${DEFAULT_ALGORITHMS.join(', ')}`;
}

const algorithms = z
  .array(z.string())
  .min(1, `must name at least one algorithm (set it to null for the default list; to stop an IdP, set enabled to false)`)
  .max(DEFAULT_ALGORITHMS.length * 2, 'has too many entries')
  .superRefine((list, ctx) => {
    list.forEach((alg, index) => {
      const problem = algorithmProblem(alg);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [index], input: alg });
    });
  })
  .transform((list) => [...new Set(list)]);

// ---------------------------------------------------------------------------------------------------
// JWKS URI (lib/admin/README.md)

/** The loopback rule of {@link checkJwksUrl}, under the admin API's historical name. */
export { isLoopbackHostname as isLoopbackHost } from '../shared/jwks-uri';

/** What the admin API answers for each refused key URL (JWKS URI, discovery URL): a predicate that says how to fix it. */
function keyUrlMessages(example: string): Record<JwksUriProblemCode, (value: string) => string> {
  return {
    not_absolute: () => `must be an absolute URL such as ${example}`,
    http_not_loopback: () => 'must use https: (http: is allowed only on a loopback host: localhost, 127.0.0.0/8, [::1])',
    scheme_not_https: (value) => `must use https: (got ${new URL(value).protocol.slice(0, 20)})`,
    credentials: () => 'must not carry credentials (user:password@): they would be shown to every admin reading the IdP',
    fragment: () => 'must not have a #fragment',
  };
}
const JWKS_URI_MESSAGES = keyUrlMessages('https://idp.example.com/.well-known/jwks.json');
const DISCOVERY_URL_MESSAGES = keyUrlMessages('https://idp.example.com/.well-known/openid-configuration');

/** Why a JWKS URI is refused, or `undefined`: the rule of {@link checkJwksUrl}, worded for the admin. */
export function jwksUriProblem(value: string): string | undefined {
  const check = checkJwksUrl(value);
  return check.ok ? undefined : JWKS_URI_MESSAGES[check.code](value);
}

/** Why a discovery URL is refused, or `undefined`: keys come from where it points, so the JWKS URI's rule applies. */
export function discoveryUrlProblem(value: string): string | undefined {
  const check = checkJwksUrl(value);
  return check.ok ? undefined : DISCOVERY_URL_MESSAGES[check.code](value);
}

/** A URL keys are fetched through: bounded, storable, and `problem` of it undefined. */
function keyUrl(problem: (value: string) => string | undefined) {
  return z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .refine((v) => !CONTROL.test(v) && storable(v), 'must not contain control characters')
    .superRefine((value, ctx) => {
      const found = problem(value);
      if (found) ctx.addIssue({ code: 'custom', message: found, input: value });
    });
}

const jwksUri = keyUrl(jwksUriProblem);

/**
 * `discoveryUrl`: an OpenID Provider configuration URL, or `true` for the issuer's own
 * (`<name>/.well-known/openid-configuration`, OpenID Connect Discovery 1.0 §4), resolved on save.
 */
const discoveryUrl = z
  .union([z.literal(true), z.string()], { error: "must be a URL, or true for the issuer name's /.well-known/openid-configuration" })
  .superRefine((value, ctx) => {
    if (value === true) return;
    const url = keyUrl(discoveryUrlProblem).safeParse(value);
    if (!url.success) for (const issue of url.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, input: value });
  });

const replayPolicy = z.enum(['once', 'reuse'], { error: 'must be "once" or "reuse"' });

// ---------------------------------------------------------------------------------------------------
// Identity providers

const scopeToken = z
  .string()
  .regex(SCOPE_TOKEN, 'must be a scope token (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)');

// ---------------------------------------------------------------------------------------------------
// Trust rules (docs/workload-identity.md)

/** A CEL expression's text; whether it compiles is {@link checkRuleExpressions}' job (it answers with the position). */
const ruleExpression = z
  .string()
  .max(RULE_EXPRESSION_LIMITS.maxLength, `must be at most ${RULE_EXPRESSION_LIMITS.maxLength} characters`)
  .refine((v) => v.trim().length > 0, 'must not be empty')
  .refine(storable, 'must not contain NUL characters or unpaired surrogates');

const ruleFields = {
  name: exactText(128),
  condition: ruleExpression,
  subject: ruleExpression.nullable(),
  clients: uniqueList(storableText(1024)),
  scopes: uniqueList(scopeToken).nullable(),
  mode: z.enum(['enforce', 'shadow'], { error: 'must be "enforce" or "shadow"' }),
  position: nonNegativeInt,
};

/** `POST /identity-providers/:id/rules` (and each entry of `rules` in `POST /identity-providers`): `name` and `condition` required. */
export const createTrustRuleBody = z.strictObject({
  ...ruleFields,
  subject: ruleFields.subject.optional(),
  clients: ruleFields.clients.optional(),
  scopes: ruleFields.scopes.optional(),
  mode: ruleFields.mode.optional(),
  position: ruleFields.position.optional(),
});
export type CreateTrustRuleBody = z.output<typeof createTrustRuleBody>;

/** `PATCH /identity-providers/:id/rules/:ruleId`: any field of the create body. */
export const patchTrustRuleBody = createTrustRuleBody.partial();
export type PatchTrustRuleBody = z.output<typeof patchTrustRuleBody>;

/**
 * Compiles a rule's `condition` (bool) and `subject` (string) where given; the first that does not
 * compile is a 400 naming the field (`rules[2].condition` inside an IdP body) and the position in it.
 */
export function checkRuleExpressions(rule: { condition?: string; subject?: string | null }, path = ''): void {
  const fields: Array<[RuleExpressionField, string | null | undefined]> = [
    ['condition', rule.condition],
    ['subject', rule.subject],
  ];
  for (const [field, source] of fields) {
    if (typeof source !== 'string') continue;
    try {
      compileExpression(source, field);
    } catch (error) {
      if (!(error instanceof RuleExpressionError)) throw error;
      const detail = error.message.startsWith(`${field}: `) ? error.message.slice(field.length + 2) : error.message;
      throw new AdminError('invalid_request', `${path}${field}: ${detail}`, {
        field: `${path}${field}`,
        position: error.range ?? { start: 0, end: source.length },
      });
    }
  }
}

/** The `kid` a certificate may be selected by (besides its thumbprint). */
const kid = exactText(256);

/** A certificate as the API takes it: the PEM text, or `{ pem, kid? }`. Parsed later by `certificate-input.ts`. */
export const certificateInput = z.union([z.string(), z.strictObject({ pem: z.string(), kid: kid.optional() })], {
  error: 'must be a PEM certificate string or an object {pem, kid?}',
});
export type CertificateInput = z.output<typeof certificateInput>;

const alias = exactText(2048);

/** Every IdP field of lib/admin/README.md with its rule; `null` unsets a nullable field (back to its default). */
const idpFields = {
  name: exactText(1024),
  displayName: storableText(256).nullable(),
  enabled: z.boolean(),
  algorithms: algorithms.nullable(),
  jwksUri: jwksUri.nullable(),
  requireJti: z.boolean(),
  maxAssertionLifetimeSeconds: positiveInt,
  iatMaxAgeSeconds: positiveInt.nullable(),
  clockSkewSeconds: nonNegativeInt,
  allowedSubjects: uniqueList(storableText(1024)).nullable(),
  allowedClients: uniqueList(storableText(1024)).nullable(),
  allowedScopes: uniqueList(scopeToken).nullable(),
  issueRefreshToken: z.boolean(),
  replayPolicy,
  discoveryUrl: discoveryUrl.nullable(),
  certificates: z.array(certificateInput).max(MAX_KEYS, `must have at most ${MAX_KEYS} entries`),
  aliases: z
    .array(alias)
    .max(MAX_KEYS, `must have at most ${MAX_KEYS} entries`)
    .superRefine((list, ctx) => {
      list.forEach((value, index) => {
        const first = list.indexOf(value);
        if (first !== index) ctx.addIssue({ code: 'custom', message: `repeats aliases[${first}]`, path: [index], input: value });
      });
    }),
};

/** `POST /identity-providers`: `name` required, every other field optional. */
export const createIdentityProviderBody = z.strictObject({
  ...idpFields,
  displayName: idpFields.displayName.optional(),
  enabled: idpFields.enabled.optional(),
  algorithms: idpFields.algorithms.optional(),
  jwksUri: idpFields.jwksUri.optional(),
  requireJti: idpFields.requireJti.optional(),
  maxAssertionLifetimeSeconds: idpFields.maxAssertionLifetimeSeconds.optional(),
  iatMaxAgeSeconds: idpFields.iatMaxAgeSeconds.optional(),
  clockSkewSeconds: idpFields.clockSkewSeconds.optional(),
  allowedSubjects: idpFields.allowedSubjects.optional(),
  allowedClients: idpFields.allowedClients.optional(),
  allowedScopes: idpFields.allowedScopes.optional(),
  issueRefreshToken: idpFields.issueRefreshToken.optional(),
  replayPolicy: idpFields.replayPolicy.optional(),
  discoveryUrl: idpFields.discoveryUrl.optional(),
  certificates: idpFields.certificates.optional(),
  aliases: idpFields.aliases.optional(),
  rules: z
    .array(createTrustRuleBody)
    .max(MAX_RULES_PER_IDP, `must have at most ${MAX_RULES_PER_IDP} entries`)
    .superRefine((list, ctx) => {
      const names = list.map((rule) => rule.name);
      names.forEach((name, index) => {
        const first = names.indexOf(name);
        if (first !== index)
          ctx.addIssue({ code: 'custom', message: `repeats the name of rules[${first}]`, path: [index, 'name'], input: name });
      });
    })
    .optional(),
});
export type CreateIdentityProviderBody = z.output<typeof createIdentityProviderBody>;

/** `PATCH /identity-providers/:id`: any field of the create body but `rules` (JSON merge patch, RFC 7396); rules have their own resource. */
export const patchIdentityProviderBody = createIdentityProviderBody.omit({ rules: true }).partial();
export type PatchIdentityProviderBody = z.output<typeof patchIdentityProviderBody>;

/** `POST /identity-providers/:id/certificates`. */
export const addCertificateBody = z.strictObject({ pem: z.string(), kid: kid.optional() });

/** `POST /identity-providers/:id/aliases`. */
export const addAliasBody = z.strictObject({ alias });

// ---------------------------------------------------------------------------------------------------
// Tenants, dry run, audit

/** `POST /tenants`. */
export const createTenantBody = z.strictObject({
  domain: z.string().regex(TENANT_DOMAIN, 'must be a DNS-style name such as example.com (letters, digits, inner hyphens, dots)'),
});

/** `POST /assertions/validate`. */
export const validateAssertionBody = z.strictObject({
  assertion: z.string().min(1, 'must not be empty'),
  /** The client the assertion would be presented by (docs/validation.md step 6); without it, the allowed-clients rule is not judged. */
  clientId: storableText(1024).optional(),
  /** A requested scope (space-separated), judged against the IdP's allowed scopes (docs/validation.md step 7). */
  scope: z.string().max(4096, 'must be at most 4096 characters').optional(),
});

/** A query parameter: a string given once (Express turns a repeated one into an array). */
function queryParam() {
  return z.string({
    error: (issue) => (Array.isArray(issue.input) ? 'must be given only once' : 'must be a plain string value'),
  });
}

/** The query every tenant-scoped route takes. */
export const tenantQuery = z.strictObject({ tenantDomain: queryParam().optional() });

/** Routes that are not tenant-scoped take no query at all. */
export const emptyQuery = z.strictObject({});

/** `GET /issued-tokens`. */
export const issuedTokensQuery = z.strictObject({
  tenantDomain: queryParam().optional(),
  idp: queryParam().pipe(storableText(1024)).optional(),
  sub: queryParam().pipe(storableText(1024)).optional(),
  clientId: queryParam().pipe(storableText(1024)).optional(),
  limit: queryParam()
    .regex(/^[1-9][0-9]{0,3}$/, 'must be an integer from 1 to 1000')
    .transform(Number)
    .refine((n) => n <= 1000, 'must be an integer from 1 to 1000')
    .optional(),
});

// ---------------------------------------------------------------------------------------------------
// Parsing and messages

const EXPECTED: Record<string, string> = {
  string: 'a string',
  int: 'an integer',
  // Every number of the admin API is an integer; zod reports a non-number as "expected number".
  number: 'an integer',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
};

/** `certificates[1].pem` from zod's path. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
    '',
  );
}

/**
 * Validates `input` with `schema`; on failure throws a 400 {@link AdminError} whose message names every
 * offending field (at most three) and whose `field` is the first of them.
 *
 * @param where `'body'` or `'query'`, for the wording of unknown names and of a non-object body.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.output<S> {
  // `reportInput` only so a message can say "null is not allowed"; the input is never echoed.
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  // Unknown names first: a misspelt field usually also shows up as a missing one.
  const issues = [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const problems = issues.slice(0, 3).map((issue) => describeIssue(issue, where));
  const first = problems[0]!;
  return throwInvalid(problems.map((p) => p.text).join('; ') + '.', first.field || undefined);
}

function describeIssue(issue: z.core.$ZodIssue, where: 'body' | 'query'): { field: string; text: string } {
  const path = pathText(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((key) => (path ? `${path}.${key}` : key));
    const noun = where === 'query' ? 'query parameter' : 'field';
    return {
      field: names[0] ?? path,
      text: `Unknown ${noun}${names.length > 1 ? 's' : ''} ${names.map((n) => JSON.stringify(n)).join(', ')}`,
    };
  }
  if (issue.code === 'invalid_type' && path === '') {
    return { field: '', text: where === 'query' ? 'The query is malformed' : 'The request body must be a JSON object' };
  }
  if (issue.code === 'invalid_type' && where === 'body') {
    const expected = EXPECTED[issue.expected] ?? issue.expected;
    return { field: path, text: `${path} must be ${expected}${issue.input === null ? ' (null is not allowed here)' : ''}` };
  }
  // Our messages are predicates ("must …", "repeats …"); others (e.g. an algorithm's reason) follow a colon.
  const joiner = /^(must|repeats|is) /.test(issue.message) ? ' ' : ': ';
  return { field: path, text: `${path || where}${joiner}${issue.message}` };
}

function throwInvalid(message: string, field: string | undefined): never {
  throw new AdminError('invalid_request', message, { field });
}
