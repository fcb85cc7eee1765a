/**
 * What we need of node-oauth2-server. The host module is passed in (never imported here) because an
 * error class from a second installed copy of the host is "foreign" to the server and becomes a 503:
 * our errors must be built from the very module the server runs on (NOTES: "The host").
 */

import { ConfigurationError, type JwtBearerError } from './errors';

type ErrorClass = new (message: string, properties?: Record<string, unknown>) => Error & { code: number; name: string };

/**
 * The parts of `@node-oauth/oauth2-server` 5.x or `oauth2-server` 3.1.x that we use. The module itself
 * fits as it is typed (`import OAuth2Server from '@node-oauth/oauth2-server'`, or `@types/oauth2-server`
 * for 3.1): `AbstractGrantType` is an abstract class there, hence `abstract new`.
 */
export interface HostModule {
  // `never`: the host constructs the grant itself, with options of its own; we never call this constructor.
  AbstractGrantType: abstract new (options: never) => HostGrantType;
  OAuthError: ErrorClass;
  InvalidGrantError: ErrorClass;
  InvalidRequestError: ErrorClass;
  InvalidScopeError: ErrorClass;
  Request: new (options: HostConstructorOptions) => object;
  Response: new (options?: HostConstructorOptions) => { headers?: Record<string, unknown>; body?: unknown };
}

/**
 * What we hand the host's `Request` (`{ method, headers, query, body }`) and `Response` constructors.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the hosts' typings disagree (5.x declares string-valued headers and query, 3.1 any); we pass the request's own, which may hold arrays
type HostConstructorOptions = any;

/**
 * The methods of the host's `AbstractGrantType` our grant calls. Both lines have them; they differ in
 * the scope's shape (see {@link HostLine}), hence `unknown` for scopes.
 */
export interface HostGrantType {
  generateAccessToken(client: unknown, user: unknown, scope: unknown): Promise<string>;
  generateRefreshToken(client: unknown, user: unknown, scope: unknown): Promise<string>;
  getAccessTokenExpiresAt(): Date;
  getRefreshTokenExpiresAt(): Date;
  validateScope(user: unknown, client: unknown, scope: unknown): Promise<unknown>;
}

/** Model methods are called with the model as `this`; 3.x models may also answer by callback. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the host's model is an open bag of methods whose signatures differ by host line and by grant; `unknown` values would not accept the hosts' typed models
export type HostModel = Record<string, any>;

/**
 * `5` for `@node-oauth/oauth2-server` 5.x (ES classes, scope as `string[]`), `3` for `oauth2-server`
 * 3.1.x (ES5 constructors, scope as a string). The two lines differ in exactly these ways for us.
 */
export type HostLine = 3 | 5;

export function hostLine(host: HostModule): HostLine {
  return /^class\b/.test(Function.prototype.toString.call(host.AbstractGrantType)) ? 5 : 3;
}

/** Throws a {@link ConfigurationError} when `host` is not a node-oauth2-server module. */
export function assertHostModule(host: unknown): asserts host is HostModule {
  const names = ['AbstractGrantType', 'OAuthError', 'InvalidGrantError', 'InvalidRequestError', 'InvalidScopeError', 'Request', 'Response'];
  const missing = names.filter((n) => typeof (host as Record<string, unknown> | null | undefined)?.[n] !== 'function');
  if (missing.length > 0) {
    throw new ConfigurationError(
      `options.host must be the node-oauth2-server module the server runs on (require('@node-oauth/oauth2-server') or require('oauth2-server')); missing: ${missing.join(', ')}`,
    );
  }
}

/**
 * Calls a model method that may return a promise (5.x style) or take a trailing callback (3.x style).
 */
export function invokeModel<T>(model: HostModel, method: string, self: unknown, args: unknown[]): Promise<T> {
  const fn = model[method] as (...a: unknown[]) => unknown;
  if (fn.length > args.length) {
    return new Promise<T>((resolve, reject) => {
      fn.call(self, ...args, (err: unknown, value: T) => (err ? reject(err) : resolve(value)));
    });
  }
  return Promise.resolve(fn.apply(self, args) as T);
}

/**
 * Turns our error into the host's own error class, keeping `reason` for logs and metrics. The
 * description is our fixed sentence, never a driver message.
 */
export function toHostError(host: HostModule, error: JwtBearerError): Error {
  // `inner` is where the host keeps an underlying error; the endpoint's 5xx log line reads it.
  const properties = { reason: error.reason, detail: error.detail, inner: error.cause };
  switch (error.error) {
    case 'invalid_request':
      return new host.InvalidRequestError(error.description, properties);
    case 'invalid_scope':
      return new host.InvalidScopeError(error.description, properties);
    case 'invalid_grant':
      return new host.InvalidGrantError(error.description, properties);
    default:
      return new host.OAuthError(error.description, { ...properties, code: error.status, name: error.error });
  }
}
