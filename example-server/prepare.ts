import { mkdir } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Knex } from 'knex';
import { migrate, openDatabase } from '../lib';
import type { ServerConfig } from './config';
import { randomAlphanumeric } from './credentials';
import { bootstrapDemo, demoBanner } from './demo';
import type { Logger } from './logger';
import { migrateExample } from './migrate';
import { ensureDevCertificate } from './tls';

/** A start-up failure with a sentence for the operator; `cause` goes to the log. */
export class StartError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StartError';
  }
}

/** What the once-only start-up work leaves for serving. */
export interface Prepared {
  /** The migrated database. */
  knex: Knex;
  /** `ADMIN_TOKEN`, or a random one made now (to be shared by every worker). */
  adminToken: string;
  /** The demo lines to print, when DEMO made its setup now. */
  demoText?: string;
  /** The development certificate, with TLS on. */
  tls?: { cert: string; key: string };
}

/**
 * The work done once per start, whatever the number of workers: open and migrate the database, the
 * DEMO bootstrap, the development certificate. With a cluster the primary does it before forking, so
 * workers never race each other to migrate or bootstrap.
 */
export async function prepare(config: ServerConfig, logger: Logger, options: { poolMax?: number } = {}): Promise<Prepared> {
  await mkdir(config.dataDir, { recursive: true });
  let knex: Knex;
  try {
    knex = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      ...(config.databaseUrl && options.poolMax ? { poolMax: options.poolMax } : {}),
    });
  } catch (error) {
    throw databaseError(config, error);
  }
  try {
    try {
      await migrate(knex);
      await migrateExample(knex);
    } catch (error) {
      throw databaseError(config, error);
    }

    const adminToken = config.adminToken ?? randomAlphanumeric(40);
    let demoText: string | undefined;
    if (config.demo) {
      const setup = await bootstrapDemo(knex, { dataDir: config.dataDir, tokenEndpointUrl: config.tokenEndpointUrl });
      if (setup) {
        const rel = relative(process.cwd(), config.dataDir);
        demoText = await demoBanner(setup, { dataDirOption: rel === '.data' ? undefined : config.dataDir });
        logger.info(
          { event: 'demo_created', serviceProvider: setup.serviceProvider, clientId: setup.clientId, issuer: setup.issuer },
          'demo setup created',
        );
      }
    }

    let tls: Prepared['tls'];
    if (config.tls) {
      const cert = await ensureDevCertificate(config.dataDir, { extraHosts: [config.host] });
      if (cert.created)
        logger.info(
          { event: 'tls_certificate_created', path: cert.certPath, notAfter: cert.notAfter },
          'self-signed development certificate created',
        );
      tls = { cert: cert.cert, key: cert.key };
    }
    return { knex, adminToken, demoText, tls };
  } catch (error) {
    // Release the embedded database's lock (and the pool) before the process reports and exits.
    await knex.destroy().catch(() => undefined);
    throw error;
  }
}

function databaseError(config: ServerConfig, error: unknown): StartError {
  const where = config.databaseUrl ? 'DATABASE_URL' : `embedded, in ${config.dataDir}`;
  return new StartError(`Cannot open the database (${where}): ${(error as Error).message}`, error);
}

/** The start-up lines for the operator (stderr): where the server is, and how to reach the admin API. */
export function banner(config: ServerConfig, url: string, adminToken: string): string {
  return [
    '',
    `oauth2-jwt-bearer example server on ${url}`,
    `  token endpoint (IdP alias): ${config.tokenEndpointUrl}`,
    `  database: ${config.databaseUrl ? 'DATABASE_URL' : `embedded PGlite in ${config.dataDir}`}`,
    ...(config.workers > 1 ? [`  workers: ${config.workers} processes on one port`] : []),
    config.adminToken
      ? '  admin API: /admin with Authorization: Bearer $ADMIN_TOKEN'
      : `  admin API: /admin with Authorization: Bearer ${adminToken}   (random; set ADMIN_TOKEN to keep one)`,
  ].join('\n');
}
