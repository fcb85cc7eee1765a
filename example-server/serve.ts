import http from 'node:http';
import https from 'node:https';
import type { Knex } from 'knex';
import { createApp } from './app';
import type { ServerConfig } from './config';
import type { Logger } from './logger';
import { createMetrics } from './metrics';
import { StartError } from './prepare';

export interface Serving {
  /**
   * Stops accepting connections, lets the requests in flight finish (keep-alive connections are closed
   * as soon as their current answer is sent), then closes the store's own connections (a configuration
   * cache's listener) and resolves. The knex pool is the caller's to close.
   */
  close(): Promise<void>;
}

/**
 * Serves the example app on `HOST:PORT` (HTTPS with `tls`, else plain HTTP). In a cluster worker the
 * same call shares the primary's listening socket.
 */
export async function serve(options: {
  config: ServerConfig;
  knex: Knex;
  adminToken: string;
  logger: Logger;
  tls?: { cert: string; key: string };
}): Promise<Serving> {
  const { config, knex, adminToken, logger, tls } = options;
  const metrics = createMetrics({ defaultMetrics: true });
  const { app, store } = createApp({ knex, adminToken, tokenEndpointUrl: config.tokenEndpointUrl, logger, metrics });
  const server: http.Server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, app) : http.createServer(app);
  server.keepAliveTimeout = 5000;

  // server.close() waits for every open connection, and an idle keep-alive one would hold it for up to
  // keepAliveTimeout: once closing, answers (those in flight too) say `Connection: close`, and each
  // connection is shut as soon as its answer is sent.
  let closing = false;
  const inFlight = new Set<http.ServerResponse>();
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight.add(res);
    if (closing) res.setHeader('Connection', 'close');
    res.once('close', () => inFlight.delete(res));
    res.once('finish', () => {
      inFlight.delete(res);
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new StartError(
          error.code === 'EADDRINUSE'
            ? `Port ${config.port} on ${config.host} is already in use: set PORT to a free port.`
            : `Cannot listen on ${config.host}:${config.port}: ${error.message}`,
          error,
        ),
      ),
    );
    server.listen(config.port, config.host, () => resolve());
  });

  let closed: Promise<void> | undefined;
  return {
    close: () =>
      (closed ??= (async () => {
        await new Promise<void>((resolve) => {
          closing = true;
          for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        // A store with a configuration cache holds a listening connection of its own, outside the pool.
        await (store as { close?(): Promise<void> }).close?.();
      })()),
  };
}

/** The URL the server is reached at, as printed and logged ("localhost" for loopback and wildcard addresses). */
export function publicUrl(config: ServerConfig): string {
  const shownHost = ['127.0.0.1', '::1', '0.0.0.0', '::'].includes(config.host)
    ? 'localhost'
    : config.host.includes(':')
      ? `[${config.host}]`
      : config.host;
  return `${config.tls ? 'https' : 'http'}://${shownHost}:${config.port}`;
}
