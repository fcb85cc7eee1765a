import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

/**
 * The example server's configuration (example-server/README.md), read from the environment once at start. Every
 * variable is checked here, so a typo stops the server with a sentence naming the variable instead
 * of surfacing later as a confusing failure.
 */
export interface ServerConfig {
  /** `PORT` (default 9443). */
  port: number;
  /** `HOST` (default 127.0.0.1): the address to listen on. */
  host: string;
  /** `TLS` (default on): serve HTTPS with a self-signed development certificate kept in `DATA_DIR`. */
  tls: boolean;
  /** `DATABASE_URL`: a PostgreSQL URL; unset → embedded PGlite under `DATA_DIR`. */
  databaseUrl: string | undefined;
  /** `DATA_DIR` (default `.data`), resolved against the working directory. */
  dataDir: string;
  /** `ADMIN_TOKEN`: the bearer token of `/admin`; unset → a random one, printed at start. */
  adminToken: string | undefined;
  /** `TOKEN_ENDPOINT_URL`: this server's token endpoint as IdPs name it (default derived from TLS, HOST, PORT). */
  tokenEndpointUrl: string;
  /** `DEMO`: on an empty database create the demo application and IdP. Default: on with the embedded database, off with `DATABASE_URL`. */
  demo: boolean;
  /** `LOG_LEVEL` (default info): pino level. */
  logLevel: string;
  /**
   * `WORKERS`: server processes sharing the port (node:cluster). Default: the CPU count
   * (`os.availableParallelism()`) with `DATABASE_URL`, 1 with the embedded database, which lives in
   * one process. 1 runs in-process, without a cluster primary.
   */
  workers: number;
  /** `PRUNE_INTERVAL_SECONDS` (default 300; 0 = off): how often expired replay records are deleted. */
  pruneIntervalSeconds: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOOPBACK_OR_ANY = new Set(['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::']);
const MAX_WORKERS = 256;
const MAX_PRUNE_INTERVAL_SECONDS = 86_400;

/**
 * Reads and validates the environment. Throws {@link ConfigError} listing every problem at once.
 *
 * @example
 * const config = loadConfig(process.env); // PORT=9443, TLS on, PGlite under ./.data …
 */
export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd(), cpus = availableParallelism()): ServerConfig {
  const problems: string[] = [];
  const value = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  let port = 9443;
  const rawPort = value('PORT');
  if (rawPort !== undefined) {
    if (!/^\d+$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
      problems.push(`PORT must be a whole number from 1 to 65535; got ${JSON.stringify(rawPort)}.`);
    } else port = Number(rawPort);
  }

  const host = value('HOST') ?? '127.0.0.1';
  if (/\s|\//.test(host)) problems.push(`HOST must be a host name or IP address to listen on; got ${JSON.stringify(host)}.`);

  const tls = onOff(value('TLS'), 'TLS', true, problems);

  const databaseUrl = value('DATABASE_URL');
  if (databaseUrl !== undefined) {
    let protocol = '';
    try {
      protocol = new URL(databaseUrl).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      problems.push(
        'DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:5432/database), or unset for the embedded database.',
      );
    }
  }

  const dataDir = resolve(cwd, value('DATA_DIR') ?? '.data');

  const adminToken = value('ADMIN_TOKEN');
  // RFC 6750 §2.1 b64token: what an `Authorization: Bearer` header can carry.
  if (adminToken !== undefined && (adminToken.length < 16 || !/^[A-Za-z0-9\-._~+/]+=*$/.test(adminToken))) {
    problems.push('ADMIN_TOKEN must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (or unset, for a random one printed at start).');
  }

  let tokenEndpointUrl = value('TOKEN_ENDPOINT_URL');
  if (tokenEndpointUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(tokenEndpointUrl);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      problems.push(
        `TOKEN_ENDPOINT_URL must be an absolute http(s) URL such as https://localhost:9443/oauth2/token; got ${JSON.stringify(tokenEndpointUrl)}.`,
      );
    }
  } else {
    // IdPs name the endpoint as clients reach it: "localhost" for a loopback or wildcard address,
    // as in the WSO2 page (https://localhost:9443/oauth2/token).
    const urlHost = LOOPBACK_OR_ANY.has(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host;
    tokenEndpointUrl = `${tls ? 'https' : 'http'}://${urlHost}:${port}/oauth2/token`;
  }

  const demo = onOff(value('DEMO'), 'DEMO', databaseUrl === undefined, problems);

  const logLevel = (value('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(logLevel)}.`);

  let workers = databaseUrl === undefined ? 1 : Math.min(Math.max(1, cpus), MAX_WORKERS);
  const rawWorkers = value('WORKERS');
  if (rawWorkers !== undefined) {
    if (!/^\d+$/.test(rawWorkers) || Number(rawWorkers) < 1 || Number(rawWorkers) > MAX_WORKERS) {
      problems.push(`WORKERS must be a whole number from 1 to ${MAX_WORKERS}; got ${JSON.stringify(rawWorkers)}.`);
    } else if (Number(rawWorkers) > 1 && databaseUrl === undefined) {
      problems.push(
        `WORKERS=${rawWorkers} needs DATABASE_URL: the embedded database (PGlite) runs inside one process and cannot be shared by several workers. Set DATABASE_URL to a PostgreSQL database, or WORKERS=1.`,
      );
    } else workers = Number(rawWorkers);
  }

  let pruneIntervalSeconds = 300;
  const rawPrune = value('PRUNE_INTERVAL_SECONDS');
  if (rawPrune !== undefined) {
    if (!/^\d+$/.test(rawPrune) || Number(rawPrune) > MAX_PRUNE_INTERVAL_SECONDS) {
      problems.push(
        `PRUNE_INTERVAL_SECONDS must be a whole number of seconds from 0 (off) to ${MAX_PRUNE_INTERVAL_SECONDS}; got ${JSON.stringify(rawPrune)}.`,
      );
    } else pruneIntervalSeconds = Number(rawPrune);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { port, host, tls, databaseUrl, dataDir, adminToken, tokenEndpointUrl, demo, logLevel, workers, pruneIntervalSeconds };
}

function onOff(raw: string | undefined, name: string, fallback: boolean, problems: string[]): boolean {
  if (raw === undefined) return fallback;
  const v = raw.toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  problems.push(`${name} must be "on" or "off"; got ${JSON.stringify(raw)}.`);
  return fallback;
}
