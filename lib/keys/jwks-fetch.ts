import { OAuth2JwtBearerError } from '../errors';

/** A fetch function with the signature of Node's global `fetch` (undici). */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Bounds of one JWKS download. */
export interface JwksFetchLimits {
  /** The whole exchange (connect, headers and body) must finish within this many milliseconds. */
  timeoutMs: number;
  /** The body may be at most this many bytes. */
  maxBytes: number;
}

/** What one successful download gives. */
export interface JwksDocument {
  text: string;
  cacheControl: string | null;
  age: string | null;
}

/**
 * A JWKS download that failed; `message` is a fixed sentence for logs (never the body, never the URI).
 * Key sources turn it into `JwtBearerError('key_source_unavailable')`. Code: `jwks_fetch_failed`.
 */
export class JwksFetchError extends OAuth2JwtBearerError {
  readonly code = 'jwks_fetch_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwksFetchError';
  }
}

/** What is asked for and what answer is accepted: the `Accept` header and the media types (lower case, no parameters). */
export interface DocumentKind {
  accept: string;
  mediaTypes: ReadonlySet<string>;
}

/** A JWK Set: RFC 7517 §8.5 registers `application/jwk-set+json`; most servers say `application/json`. */
export const JWK_SET_DOCUMENT: DocumentKind = {
  accept: 'application/jwk-set+json, application/json;q=0.9',
  mediaTypes: new Set(['application/json', 'application/jwk-set+json']),
};

/**
 * GETs a JWK Set (or, with another `kind`, another JSON document of an IdP's, such as its OpenID Provider
 * configuration) with hard bounds. One deadline covers the whole exchange: it aborts the request (which
 * also errors a body still streaming) and, independently, settles the returned promise, so the caller
 * never waits longer than `timeoutMs` plus a timer tick, whatever the server does (accepts and hangs,
 * sends headers and drips the body, or never accepts).
 *
 * Refused, each as a {@link JwksFetchError}: any status but 200 — redirects included (`redirect:
 * 'manual'`: the configured URI is the trust anchor; following a `Location` would let whoever controls
 * a redirect on that origin, or an open redirect, choose our keys, and could leave https for http);
 * a media type other than those of `kind` (for a JWK Set, `application/json` or
 * `application/jwk-set+json`: a login page or proxy error in HTML is a clear failure, not a parse
 * error); a `Content-Length` above `maxBytes` (nothing read); a body that grows past `maxBytes` (the
 * stream is cancelled there); a body that is not UTF-8.
 */
export async function fetchJwksDocument(
  url: URL,
  limits: JwksFetchLimits,
  fetchImpl: FetchFunction,
  kind: DocumentKind = JWK_SET_DOCUMENT,
): Promise<JwksDocument> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new JwksFetchError(`no complete answer within ${limits.timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, limits.timeoutMs);
  });
  const attempt = download(url, limits, fetchImpl, kind, controller.signal);
  attempt.catch(() => undefined); // if the deadline wins, the attempt's own rejection is expected and unobserved
  try {
    return await Promise.race([attempt, deadline]);
  } catch (error) {
    controller.abort(); // whatever went wrong, release the connection
    throw error instanceof JwksFetchError ? error : new JwksFetchError(describeNetworkError(error), { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

async function download(
  url: URL,
  limits: JwksFetchLimits,
  fetchImpl: FetchFunction,
  kind: DocumentKind,
  signal: AbortSignal,
): Promise<JwksDocument> {
  const response = await fetchImpl(url.href, { method: 'GET', redirect: 'manual', signal, headers: { accept: kind.accept } });
  const body = response.body;
  const refuse = async (message: string): Promise<never> => {
    await body?.cancel().catch(() => undefined);
    throw new JwksFetchError(message);
  };
  if (response.status >= 300 && response.status < 400) return refuse(`HTTP ${response.status}: redirects are not followed`);
  if (response.status !== 200) return refuse(`HTTP ${response.status}`);
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!kind.mediaTypes.has(mediaType))
    return refuse(`content type ${mediaType ? JSON.stringify(mediaType.slice(0, 60)) : '(none)'} is not application/json`);
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) > limits.maxBytes)
    return refuse(`body of ${Number(declared)} bytes is over the ${limits.maxBytes}-byte limit`);

  const chunks: Uint8Array[] = [];
  let size = 0;
  if (body) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limits.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new JwksFetchError(`body is over the ${limits.maxBytes}-byte limit`);
      }
      chunks.push(value);
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw new JwksFetchError('body is not UTF-8');
  }
  return { text, cacheControl: response.headers.get('cache-control'), age: response.headers.get('age') };
}

/** undici says `fetch failed` and puts the reason (ECONNREFUSED, ENOTFOUND, a TLS error…) in `cause`. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : (error as { code?: unknown })?.code;
  return `request failed${typeof code === 'string' ? ` (${code.slice(0, 60)})` : ''}`;
}
