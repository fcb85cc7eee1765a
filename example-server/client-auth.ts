import type { Request } from 'express';
import { JwtBearerError } from '../lib/errors';
import { DEFAULT_TENANT, resolveTenant } from '../lib/grant/request-context';
import { normaliseBasicAuthorization } from '../lib/http/client-credentials';
import { answerFor, type ErrorAnswer } from '../lib/http/failure';
import { FormBodyError, readFormBody, type FormFields } from '../lib/http/form-body';
import type { GrantStore } from '../lib/store/types';
import type { Tenant } from '../lib/types';
import type { ExampleClient, ExampleModel } from './model';

export interface AuthenticatedCall {
  tenant: Tenant;
  client: ExampleClient;
  body: FormFields;
}

/** A refusal, with the header RFC 6749 §5.2 asks for on a 401. */
export interface Refusal {
  answer: ErrorAnswer;
  wwwAuthenticate?: string;
}

const INVALID_CLIENT: Refusal = {
  answer: { status: 401, error: 'invalid_client', description: 'Client authentication failed.' },
  wwwAuthenticate: 'Basic realm="oauth2"',
};

/**
 * Client authentication for revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1), exactly as
 * the token endpoint does it (SPEC §7): a form body, `?tenantDomain=`, and either HTTP Basic with
 * form-url-decoded credentials (RFC 6749 §2.3.1) or `client_id` + `client_secret` in the body — not both.
 */
export async function authenticateClient(
  req: Request,
  deps: { model: ExampleModel; store: GrantStore; bodyLimit?: number },
): Promise<AuthenticatedCall | Refusal> {
  try {
    if (!req.is('application/x-www-form-urlencoded')) {
      return refusal(400, 'invalid_request', 'The body must be application/x-www-form-urlencoded.');
    }
    const body = await readFormBody(req, deps.bodyLimit ?? 64 * 1024);
    const tenant = await resolveTenant(deps.store, (req.query as Record<string, unknown>).tenantDomain ?? DEFAULT_TENANT);

    let id: string | undefined;
    let secret: string | undefined;
    const basic = normaliseBasicAuthorization(req.headers.authorization);
    if (basic === null) return INVALID_CLIENT;
    if (basic) {
      if (body.client_id !== undefined || body.client_secret !== undefined) {
        return refusal(400, 'invalid_request', 'Use one client authentication method, not both.');
      }
      const decoded = Buffer.from(basic.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      id = decoded.slice(0, colon);
      secret = decoded.slice(colon + 1);
    } else {
      id = body.client_id;
      secret = body.client_secret;
    }
    if (!id || !secret) return INVALID_CLIENT;

    // As tokenEndpoint does: the model reads the request's tenant as `this.tenant`.
    const scoped = Object.create(deps.model, { tenant: { value: tenant, enumerable: true } }) as { tenant: Tenant };
    const client = await deps.model.getClient.call(scoped, id, secret);
    if (!client) return INVALID_CLIENT;
    return { tenant, client, body };
  } catch (error) {
    if (error instanceof FormBodyError) {
      return error.kind === 'too_large'
        ? refusal(413, 'invalid_request', 'The request body is too large.')
        : refusal(400, 'invalid_request', 'A request parameter was given more than once or is malformed.');
    }
    if (error instanceof JwtBearerError) return refusal(error.status, error.error, error.description);
    return { answer: answerFor(error) };
  }
}

export function isRefusal(value: AuthenticatedCall | Refusal): value is Refusal {
  return 'answer' in value;
}

function refusal(status: number, error: string, description: string): Refusal {
  return { answer: { status, error, description } };
}
