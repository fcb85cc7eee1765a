/** example-server/README.md's environment, validated at start with clear messages. */
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig } from '../../example-server/config';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('example server configuration', () => {
  it('defaults to https://localhost:9443 with the embedded database under .data and DEMO on', () => {
    expect(loadConfig({}, '/srv/app')).toEqual({
      port: 9443,
      host: '127.0.0.1',
      tls: true,
      databaseUrl: undefined,
      dataDir: '/srv/app/.data',
      adminToken: undefined,
      tokenEndpointUrl: 'https://localhost:9443/oauth2/token',
      demo: true,
      logLevel: 'info',
      workers: 1,
      pruneIntervalSeconds: 300,
    });
  });

  it('derives the token endpoint URL from TLS, HOST and PORT; TOKEN_URL overrides', () => {
    expect(loadConfig({ TLS: 'off', PORT: '8080' }).tokenEndpointUrl).toBe('http://localhost:8080/oauth2/token');
    expect(loadConfig({ HOST: 'auth.internal', PORT: '443' }).tokenEndpointUrl).toBe('https://auth.internal:443/oauth2/token');
    expect(loadConfig({ TOKEN_ENDPOINT_URL: 'https://as.example.com/oauth2/token' }).tokenEndpointUrl).toBe(
      'https://as.example.com/oauth2/token',
    );
  });

  it('turns DEMO off by default with DATABASE_URL, and reads on/off', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@db:5432/x' }).demo).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@db:5432/x', DEMO: 'on' }).demo).toBe(true);
    expect(loadConfig({ DEMO: 'off' }).demo).toBe(false);
    expect(loadConfig({ DATA_DIR: '/var/lib/jwt' }).dataDir).toBe('/var/lib/jwt');
  });

  it('runs one worker per CPU with DATABASE_URL, one with the embedded database; WORKERS overrides', () => {
    const pg = 'postgres://u@db:5432/x';
    expect(loadConfig({ DATABASE_URL: pg }, '/srv', 6).workers).toBe(6);
    expect(loadConfig({ DATABASE_URL: pg }).workers).toBe(availableParallelism());
    expect(loadConfig({}, '/srv', 6).workers).toBe(1);
    expect(loadConfig({ DATABASE_URL: pg, WORKERS: '3' }, '/srv', 6).workers).toBe(3);
    expect(loadConfig({ DATABASE_URL: pg, WORKERS: '1' }, '/srv', 6).workers).toBe(1);
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
  });

  it('refuses WORKERS > 1 with the embedded database, saying why and what to set', () => {
    expect(() => loadConfig({ WORKERS: '2' })).toThrow(ConfigError);
    expect(problemsOf({ WORKERS: '2' })).toEqual([
      'WORKERS=2 needs DATABASE_URL: the embedded database (PGlite) runs inside one process and cannot be shared by several workers. Set DATABASE_URL to a PostgreSQL database, or WORKERS=1.',
    ]);
  });

  it('refuses a WORKERS that is not a whole number from 1 to 256', () => {
    for (const bad of ['0', '-1', '2.5', 'many', '257', '1e3']) {
      expect(problemsOf({ DATABASE_URL: 'postgres://u@db/x', WORKERS: bad })).toEqual([
        `WORKERS must be a whole number from 1 to 256; got ${JSON.stringify(bad)}.`,
      ]);
    }
  });

  it('prunes replay records every 300 s by default; PRUNE_INTERVAL_SECONDS sets it, 0 turns it off', () => {
    expect(loadConfig({ PRUNE_INTERVAL_SECONDS: '0' }).pruneIntervalSeconds).toBe(0);
    expect(loadConfig({ PRUNE_INTERVAL_SECONDS: '60' }).pruneIntervalSeconds).toBe(60);
    expect(loadConfig({ PRUNE_INTERVAL_SECONDS: '86400' }).pruneIntervalSeconds).toBe(86400);
    for (const bad of ['-5', '1.5', 'hourly', '86401']) {
      expect(problemsOf({ PRUNE_INTERVAL_SECONDS: bad })).toEqual([
        `PRUNE_INTERVAL_SECONDS must be a whole number of seconds from 0 (off) to 86400; got ${JSON.stringify(bad)}.`,
      ]);
    }
  });

  it('lists every problem at once, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: '99999',
        TLS: 'maybe',
        DATABASE_URL: 'mysql://x',
        ADMIN_TOKEN: 'short',
        TOKEN_ENDPOINT_URL: 'not a url',
        DEMO: 'yes please',
        LOG_LEVEL: 'loud',
        WORKERS: 'all',
        PRUNE_INTERVAL_SECONDS: 'often',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'PORT',
      'TLS',
      'DATABASE_URL',
      'ADMIN_TOKEN',
      'TOKEN_ENDPOINT_URL',
      'DEMO',
      'LOG_LEVEL',
      'WORKERS',
      'PRUNE_INTERVAL_SECONDS',
    ])
      expect(problems).toContain(name);
    expect((error as Error).message).toMatch(/^Invalid configuration:\n {2}- PORT must be/);
  });
});
