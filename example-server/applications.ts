import type { Knex } from 'knex';
import { isScopeToken, JWT_BEARER_GRANT_TYPE, type Tenant } from '../lib';
import { hashSecret, randomAlphanumeric } from './credentials';

/** The grants an application may have (lib/admin/README.md); omitted, it gets all three. */
export const APPLICATION_GRANTS = [JWT_BEARER_GRANT_TYPE, 'refresh_token', 'client_credentials'] as const;
export const KEY_TYPES = ['PRODUCTION', 'SANDBOX'] as const;

export interface ApplicationInput {
  owner: string;
  name: string;
  keyType?: (typeof KEY_TYPES)[number];
  grants?: string[];
  scopes?: string[] | null;
}

export interface CreatedApplication {
  serviceProvider: string;
  clientId: string;
  /** Shown once; only its hash is stored. */
  clientSecret: string;
  keyType: string;
  grants: string[];
  scopes: string[] | null;
}

export interface AdminAnswer {
  status: number;
  body: unknown;
}

/** An input problem, answered 400 with this message and, where there is one, the field it is about. */
export class ApplicationInputError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * `POST /admin/applications` (lib/admin/README.md, example server): creates the service provider
 * `<owner>_<name>_<keyType>` with a generated client id and secret, as WSO2's "generate keys" does.
 * The admin router calls `create(tenant, body)` after authenticating the caller and resolving
 * `?tenantDomain=`.
 */
export function createApplicationService(knex: Knex) {
  return {
    async create(tenant: Pick<Tenant, 'id' | 'domain'>, body: unknown): Promise<AdminAnswer> {
      let input: Required<ApplicationInput>;
      try {
        input = parseApplicationInput(body);
      } catch (error) {
        if (error instanceof ApplicationInputError) {
          return {
            status: 400,
            body: { error: 'invalid_request', error_description: error.message, ...(error.field ? { field: error.field } : {}) },
          };
        }
        throw error;
      }
      try {
        const created = await createApplication(knex, tenant.id, input);
        return { status: 201, body: created };
      } catch (error) {
        if ((error as { code?: string }).code === '23505') {
          return {
            status: 409,
            body: {
              error: 'conflict',
              error_description: `The application ${serviceProviderName(input)} already exists in tenant ${tenant.domain}.`,
            },
          };
        }
        throw error;
      }
    },

    /** `GET /admin/applications`: the tenant's service providers, oldest first; never a secret or its hash. */
    async list(tenant: Pick<Tenant, 'id' | 'domain'>): Promise<AdminAnswer> {
      const rows = await knex('example_applications')
        .where({ tenant_id: tenant.id })
        .orderBy([
          { column: 'created_at', order: 'asc' },
          { column: 'service_provider', order: 'asc' },
        ])
        .select('service_provider', 'owner', 'name', 'key_type', 'client_id', 'grants', 'scopes', 'created_at');
      return {
        status: 200,
        body: rows.map((r) => ({
          serviceProvider: r.service_provider,
          owner: r.owner,
          name: r.name,
          keyType: r.key_type,
          clientId: r.client_id,
          grants: r.grants,
          scopes: r.scopes,
          createdAt: new Date(r.created_at).toISOString(),
        })),
      };
    },
  };
}

/** Inserts an application; throws the database's unique violation (23505) when it exists. */
export async function createApplication(knex: Knex, tenantId: string, input: Required<ApplicationInput>): Promise<CreatedApplication> {
  const clientId = randomAlphanumeric(28);
  const clientSecret = randomAlphanumeric(28);
  const serviceProvider = serviceProviderName(input);
  await knex('example_applications').insert({
    tenant_id: tenantId,
    owner: input.owner,
    name: input.name,
    key_type: input.keyType,
    service_provider: serviceProvider,
    client_id: clientId,
    client_secret_hash: hashSecret(clientSecret),
    grants: input.grants,
    scopes: input.scopes,
  });
  return { serviceProvider, clientId, clientSecret, keyType: input.keyType, grants: input.grants, scopes: input.scopes };
}

export function serviceProviderName(input: { owner: string; name: string; keyType: string }): string {
  return `${input.owner}_${input.name}_${input.keyType}`;
}

/** Validates `{owner, name, keyType?, grants?, scopes?}` with messages that say what to send. */
export function parseApplicationInput(body: unknown): Required<ApplicationInput> {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new ApplicationInputError('The body must be a JSON object {owner, name, keyType?, grants?, scopes?}.');
  const b = body as Record<string, unknown>;
  const known = new Set(['owner', 'name', 'keyType', 'grants', 'scopes']);
  const unknown = Object.keys(b).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new ApplicationInputError(`Unknown field(s): ${unknown.join(', ')}.`, unknown[0]);

  const owner = label(b.owner, 'owner');
  const name = label(b.name, 'name');

  let keyType: (typeof KEY_TYPES)[number] = 'PRODUCTION';
  if (b.keyType !== undefined) {
    const k = typeof b.keyType === 'string' ? b.keyType.toUpperCase() : b.keyType;
    if (!KEY_TYPES.includes(k as never)) throw new ApplicationInputError('keyType must be "PRODUCTION" or "SANDBOX".', 'keyType');
    keyType = k as (typeof KEY_TYPES)[number];
  }

  let grants: string[] = [...APPLICATION_GRANTS];
  if (b.grants !== undefined) {
    if (!Array.isArray(b.grants) || b.grants.length === 0 || !b.grants.every((g) => typeof g === 'string')) {
      throw new ApplicationInputError(`grants must be a non-empty array of grant types: ${APPLICATION_GRANTS.join(', ')}.`, 'grants');
    }
    const bad = b.grants.filter((g) => !APPLICATION_GRANTS.includes(g as never));
    if (bad.length > 0)
      throw new ApplicationInputError(`Unsupported grant type(s): ${bad.join(', ')}; use ${APPLICATION_GRANTS.join(', ')}.`, 'grants');
    grants = [...new Set(b.grants as string[])];
  }

  let scopes: string[] | null = null;
  if (b.scopes !== undefined && b.scopes !== null) {
    if (!Array.isArray(b.scopes) || !b.scopes.every((s) => isScopeToken(s))) {
      throw new ApplicationInputError(
        'scopes must be an array of scope tokens (RFC 6749 §3.3: printable ASCII, no spaces, quotes or backslashes), or null for any scope.',
        'scopes',
      );
    }
    scopes = [...new Set(b.scopes as string[])];
  }
  return { owner, name, keyType, grants, scopes };
}

function label(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim().length === 0)
    throw new ApplicationInputError(`${field} is required: a non-empty string.`, field);
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (value.length > 100 || /[\x00-\x1f\x7f]/.test(value))
    throw new ApplicationInputError(`${field} must be at most 100 printable characters.`, field);
  return value.trim();
}
