import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { relative } from 'node:path';
import type { Knex } from 'knex';
import { openDatabase } from '../lib/db/connect';
import { migrate } from '../lib/db/migrate';
import { createApp } from './app';
import { ConfigError, loadConfig, type ServerConfig } from './config';
import { randomAlphanumeric } from './credentials';
import { bootstrapDemo, demoBanner } from './demo';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { migrateExample } from './migrate';
import { ensureDevCertificate } from './tls';

/**
 * `npm start`: validates the environment, opens and migrates the database, runs the DEMO bootstrap,
 * and serves the app over HTTPS with the development certificate (or plain HTTP with TLS=off).
 * Human-readable start-up notes (admin token, demo credentials, curl command) go to stderr; stdout
 * carries only the JSON log lines.
 */
export async function start(env: NodeJS.ProcessEnv = process.env): Promise<{ close(): Promise<void>; url: string }> {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel });
  const note = (text: string) => process.stderr.write(`${text}\n`);

  await mkdir(config.dataDir, { recursive: true });
  let knex: Knex;
  try {
    knex = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    await migrate(knex);
    await migrateExample(knex);
  } catch (error) {
    throw new StartError(`Cannot open the database (${config.databaseUrl ? 'DATABASE_URL' : `embedded, in ${config.dataDir}`}): ${(error as Error).message}`, error);
  }

  const adminToken = config.adminToken ?? randomAlphanumeric(40);
  let demoText: string | undefined;
  if (config.demo) {
    const setup = await bootstrapDemo(knex, { dataDir: config.dataDir, tokenEndpointUrl: config.tokenEndpointUrl });
    if (setup) {
      const rel = relative(process.cwd(), config.dataDir);
      demoText = await demoBanner(setup, { dataDirOption: rel === '.data' ? undefined : config.dataDir });
      logger.info({ event: 'demo_created', serviceProvider: setup.serviceProvider, clientId: setup.clientId, issuer: setup.issuer }, 'demo setup created');
    }
  }

  const metrics = createMetrics({ defaultMetrics: true });
  const { app } = createApp({ knex, adminToken, tokenEndpointUrl: config.tokenEndpointUrl, logger, metrics });
  let server: http.Server;
  if (config.tls) {
    const cert = await ensureDevCertificate(config.dataDir, { extraHosts: [config.host] });
    if (cert.created) logger.info({ event: 'tls_certificate_created', path: cert.certPath, notAfter: cert.notAfter }, 'self-signed development certificate created');
    server = https.createServer({ cert: cert.cert, key: cert.key }, app);
  } else {
    server = http.createServer(app);
  }
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new StartError(
          error.code === 'EADDRINUSE' ? `Port ${config.port} on ${config.host} is already in use: set PORT to a free port.` : `Cannot listen on ${config.host}:${config.port}: ${error.message}`,
          error,
        ),
      ),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  const shownHost = ['127.0.0.1', '::1', '0.0.0.0', '::'].includes(config.host) ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${config.tls ? 'https' : 'http'}://${shownHost}:${config.port}`;
  logger.info({ event: 'listening', url, tokenEndpointUrl: config.tokenEndpointUrl, tls: config.tls, database: config.databaseUrl ? 'postgres' : 'embedded' }, 'listening');

  note(banner(config, url, adminToken));
  if (demoText) note(`\n${demoText}\n`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await knex.destroy();
      logger.info({ event: 'stopped' }, 'stopped');
    })());
  return { close, url };
}

function banner(config: ServerConfig, url: string, adminToken: string): string {
  return [
    '',
    `oauth2-jwt-bearer example server on ${url}`,
    `  token endpoint (IdP alias): ${config.tokenEndpointUrl}`,
    `  database: ${config.databaseUrl ? 'DATABASE_URL' : `embedded PGlite in ${config.dataDir}`}`,
    config.adminToken ? '  admin API: /admin with Authorization: Bearer $ADMIN_TOKEN' : `  admin API: /admin with Authorization: Bearer ${adminToken}   (random; set ADMIN_TOKEN to keep one)`,
  ].join('\n');
}

/** A start-up failure with a sentence for the operator; `cause` goes to the log. */
export class StartError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StartError';
  }
}

if (require.main === module) {
  // A closed pipe (`npm start | head`, then Ctrl-C) must not crash the server before it has shut down.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  start().then(
    ({ close }) => {
      // `on`, not `once`: a wrapper (npm, tsx) may pass the same signal on again; close() is idempotent.
      const stop = (signal: string) => {
        process.stderr.write(`${signal}: shutting down\n`);
        close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    },
    (error) => {
      if (error instanceof ConfigError || error instanceof StartError) process.stderr.write(`${error.message}\n`);
      else process.stderr.write(`Start-up failed: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    },
  );
}
