import { ConfigurationError, JwtBearerError, StoreUnavailableError } from '../errors';
import { sha256 } from '../hash';
import { assertHostModule, hostLine, invokeModel, toHostError, type HostModel, type HostModule } from '../host';
import type { GrantStore, JwtBearerTokenRow } from '../store/types';
import type { Tenant, VerifiedAssertion } from '../types';
import { createAssertionVerifier, type AssertionVerifier } from '../verifier';
import { readAssertion } from './read-assertion';
import { checkScopePolicy, clientScopes, parseRequestedScope, scopeText } from './scope';
import { DEFAULT_TENANT, resolveTenant, type GrantFacts, type GrantRequest } from './request-context';

/** RFC 7523 §2.1. */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** What {@link JwtBearerGrantOptions.resolveUser} is told besides the verified assertion. */
export interface ResolveUserContext {
  client: Record<string, unknown>;
  tenant: Tenant;
}

/**
 * Options of {@link createJwtBearerGrant}. `H` is the type of the host module passed as `host`; it is
 * inferred, and decides the type of the grant class returned.
 */
export interface JwtBearerGrantOptions<H extends HostModule = HostModule> {
  /** The node-oauth2-server module the server runs on: `require('@node-oauth/oauth2-server')` or `require('oauth2-server')`. */
  host: H;
  store: GrantStore;
  /**
   * This token endpoint's own URL: the audience accepted for IdPs that have no alias (docs/validation.md step 5).
   * Never derived from the request's Host header, which the caller controls. Unset: such IdPs match no audience.
   */
  tokenEndpointUrl?: string;
  /**
   * docs/validation.md step 8: maps verified claims to the host's user; `null`/`undefined` refuses the grant.
   * Default: `{ id: subject, sub: subject, idp: <IdP name>, tenant: <domain> }`, where `subject` is the
   * admitting trust rule's subject, else the `sub` claim (docs/workload-identity.md).
   */
  resolveUser?: (assertion: VerifiedAssertion, context: ResolveUserContext) => unknown | Promise<unknown>;
  /** Longest accepted assertion in bytes (default 16384). Ignored when `verifier` is given. */
  maxAssertionBytes?: number;
  /** A verifier of your own making (e.g. shared with the admin dry run). */
  verifier?: AssertionVerifier;
  /** The clock, for tests. */
  now?: () => Date;
}

const defaultResolveUser = ({ subject, idp }: VerifiedAssertion, { tenant }: ResolveUserContext) => ({
  id: subject,
  sub: subject,
  idp: idp.name,
  tenant: tenant.domain,
});

/**
 * Builds the JWT bearer grant for node-oauth2-server's `extendedGrantTypes`. The host constructs the
 * class anew for every request and passes none of our options, so they live in this closure.
 *
 * @example
 * const OAuth2Server = require('@node-oauth/oauth2-server');
 * const JwtBearer = createJwtBearerGrant({ host: OAuth2Server, store, tokenEndpointUrl });
 * const server = new OAuth2Server({ model, extendedGrantTypes: { [JWT_BEARER_GRANT_TYPE]: JwtBearer } });
 */
export function createJwtBearerGrant<H extends HostModule>(options: JwtBearerGrantOptions<H>): H['AbstractGrantType'] {
  validateOptions(options);
  const { host, store, tokenEndpointUrl } = options;
  const line = hostLine(host);
  const resolveUser = options.resolveUser ?? defaultResolveUser;
  const now = options.now ?? (() => new Date());
  const verifier = options.verifier ?? createAssertionVerifier({ maxAssertionBytes: options.maxAssertionBytes });

  class JwtBearerGrantType extends host.AbstractGrantType {
    declare model: HostModel;

    async handle(request: GrantRequest, client: Record<string, unknown>): Promise<unknown> {
      const facts: GrantFacts = (request.jwtBearer ??= {});
      try {
        return await this.issue(request, client, facts);
      } catch (error) {
        const refusal = asRefusal(error);
        if (refusal) {
          facts.reason = refusal.reason;
          throw toHostError(host, refusal);
        }
        if ((error as { name?: string })?.name === 'invalid_scope') facts.reason = 'scope_not_allowed';
        throw error;
      }
    }

    private async issue(request: GrantRequest, client: Record<string, unknown>, facts: GrantFacts): Promise<unknown> {
      const at = now();
      const assertion = readAssertion(request.body);
      const tenant = request.jwtBearerTenant ?? (await resolveTenant(store, request.query?.tenantDomain ?? DEFAULT_TENANT));

      // docs/validation.md steps 1–6.
      const verifyStarted = performance.now();
      const verified = await verifier.verify(assertion, {
        tenantId: tenant.id,
        clientId: String(client.id),
        now: at,
        tokenEndpointUrl,
        findIdentityProvider: async (issuer: string) => {
          const idp = await store.findIdentityProvider(tenant.id, issuer);
          if (idp?.enabled) facts.issuer = idp.name; // only known names reach logs and metric labels
          return idp;
        },
        onShadowVerdict: (verdict) => {
          facts.shadow = verdict;
        },
      });
      facts.verifyMs = performance.now() - verifyStarted;
      const { idp, claims } = verified;
      if (verified.rule) facts.rule = verified.rule.name;

      // Step 7, the policy lists; step 8, the user; then step 7's model hook, which needs the user.
      const requested = parseRequestedScope(request.body.scope);
      checkScopePolicy(requested, idp.allowedScopes, clientScopes(client), verified.rule?.scopes ?? null);
      const user = await resolveUser(verified, { client, tenant });
      if (user === null || user === undefined) throw new JwtBearerError('user_not_found');
      const scope = await this.validateScope(user, client, line === 5 ? requested : requested?.join(' '));

      // Step 10's values are made before step 9 so that the replay record and the audit row are one write.
      const accessToken: string = await this.generateAccessToken(client, user, scope);
      const withRefresh = idp.issueRefreshToken && Array.isArray(client.grants) && client.grants.includes('refresh_token');
      const refreshToken: string | undefined = withRefresh ? await this.generateRefreshToken(client, user, scope) : undefined;
      const accessTokenExpiresAt: Date = this.getAccessTokenExpiresAt();

      const token: Record<string, unknown> = { accessToken, accessTokenExpiresAt, scope };
      if (refreshToken) {
        token.refreshToken = refreshToken;
        token.refreshTokenExpiresAt = this.getRefreshTokenExpiresAt();
      }
      // One commit: a host whose tokens live in the store's database may hand its token row to the
      // store, written with the replay record and audit row, in place of a second write by saveToken.
      const prepared =
        store.writesTokenRows === true && typeof this.model.jwtBearerTokenRow === 'function'
          ? checkTokenRow(await invokeModel<JwtBearerTokenRow>(this.model, 'jwtBearerTokenRow', this.model, [token, client, user]))
          : undefined;

      // Step 9: only now, so a refused request never burns a genuine jti. An IdP whose tokens are reused by
      // design (replay policy `reuse`, docs/workload-identity.md) gets the audit row without a replay record.
      const recordReplay = idp.replayPolicy !== 'reuse';
      const auditId = await store.recordIssuance(
        {
          tenantId: tenant.id,
          idpId: idp.id,
          idpName: idp.name,
          clientId: String(client.id),
          subject: verified.subject,
          jti: typeof claims.jti === 'string' ? claims.jti : null,
          ruleName: verified.rule?.name ?? null,
          replayKey: verified.replayKey,
          recordReplay,
          replayExpiresAt: new Date((claims.exp + idp.clockSkewSeconds) * 1000),
          scope: scopeText(scope),
          accessTokenSha256: sha256(accessToken),
          refreshTokenSha256: refreshToken ? sha256(refreshToken) : null,
          expiresAt: accessTokenExpiresAt,
          ...(prepared ? { tokenRow: prepared.row } : {}),
        },
        at,
      );
      if (auditId === null) throw new JwtBearerError('jti_replayed');
      if (prepared) return prepared.saved;

      try {
        return await invokeModel(this.model, 'saveToken', this.model, [token, client, user]);
      } catch (error) {
        // The host could not keep the token: give the client its assertion back rather than burn it.
        const replay = { tenantId: tenant.id, idpName: idp.name, replayKey: verified.replayKey, recorded: recordReplay };
        await store.undoIssuance(auditId, replay).catch(() => undefined);
        throw error;
      }
    }
  }
  return JwtBearerGrantType;
}

/** A host's `jwtBearerTokenRow` answer must be `{ row, saved }`: anything else is the host's bug, said plainly. */
function checkTokenRow(answer: JwtBearerTokenRow): JwtBearerTokenRow {
  if (!answer || typeof answer !== 'object' || !answer.row || typeof answer.row !== 'object' || !('saved' in answer)) {
    throw new ConfigurationError('model.jwtBearerTokenRow(token, client, user) must answer { row, saved }.');
  }
  return answer;
}

function asRefusal(error: unknown): JwtBearerError | undefined {
  if (error instanceof JwtBearerError) return error;
  if (error instanceof StoreUnavailableError) return new JwtBearerError('store_unavailable', { cause: error });
  return undefined;
}

function validateOptions(options: JwtBearerGrantOptions): void {
  if (!options || typeof options !== 'object') throw new ConfigurationError('createJwtBearerGrant(options): options must be an object.');
  assertHostModule(options.host);
  if (!options.store || typeof options.store.recordIssuance !== 'function') {
    throw new ConfigurationError('options.store must be a GrantStore (e.g. new KnexGrantStore(knex)).');
  }
  if (options.tokenEndpointUrl !== undefined) {
    try {
      new URL(options.tokenEndpointUrl);
    } catch {
      throw new ConfigurationError(`options.tokenEndpointUrl must be an absolute URL; got ${JSON.stringify(options.tokenEndpointUrl)}.`);
    }
  }
  if (options.resolveUser !== undefined && typeof options.resolveUser !== 'function') {
    throw new ConfigurationError('options.resolveUser must be a function (assertion, context) => user.');
  }
}
