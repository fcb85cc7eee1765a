/**
 * A real HTTP server on 127.0.0.1 that plays an IdP's JWKS endpoint, for the JWKS key source tests:
 * it counts every request (per path too) and can be told to answer with a set, an error, garbage, a
 * redirect, a hang, or a body that never ends.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK } from 'jose';
import type { TestSigningKey } from '../helpers/keys';

export type Responder = (req: IncomingMessage, res: ServerResponse) => void;

export interface JwksServer {
  /** `http://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  /** Requests received, all paths. */
  readonly requests: number;
  /** Requests received for `path`. */
  hits(path: string): number;
  /** Serve `{ keys }` as application/json (with `headers`) from now on, for every path. */
  serveKeys(keys: unknown[], headers?: Record<string, string>): void;
  /** Answer every request with `responder` from now on. */
  respond(responder: Responder): void;
  /** Accept requests and never answer them. */
  hang(): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: unknown[] = []): Promise<JwksServer> {
  let responder: Responder = jsonResponder({ keys });
  let requests = 0;
  const byPath = new Map<string, number>();
  const server = createServer((req, res) => {
    requests++;
    const path = (req.url ?? '/').split('?')[0]!;
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    responder(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path = '/jwks') => `http://127.0.0.1:${port}${path}`,
    get requests() {
      return requests;
    },
    hits: (path) => byPath.get(path) ?? 0,
    serveKeys(next, headers = {}) {
      responder = jsonResponder({ keys: next }, headers);
    },
    respond(next) {
      responder = next;
    },
    hang() {
      responder = () => undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers with `body` as JSON (status 200, `application/json` unless `headers` says otherwise). */
export function jsonResponder(body: unknown, headers: Record<string, string> = {}): Responder {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(text);
  };
}

/** The public JWK of a test key, as an IdP publishes it. */
export async function publicJwk(key: TestSigningKey, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const { kty, n, e, crv, x, y } = await exportJWK(key.publicKey);
  return JSON.parse(JSON.stringify({ kty, n, e, crv, x, y, use: 'sig', alg: key.alg, kid: key.kid, ...extra }));
}

/** Waits until `predicate` holds (polling every 5 ms), at most `ms`. */
export async function until(predicate: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
