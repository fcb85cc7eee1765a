/** SPEC §7's environment, validated at start with clear messages. */
import { ConfigError, loadConfig } from '../../example-server/config';

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
    });
  });

  it('derives the token endpoint URL from TLS, HOST and PORT; TOKEN_URL overrides', () => {
    expect(loadConfig({ TLS: 'off', PORT: '8080' }).tokenEndpointUrl).toBe('http://localhost:8080/oauth2/token');
    expect(loadConfig({ HOST: 'auth.internal', PORT: '443' }).tokenEndpointUrl).toBe('https://auth.internal:443/oauth2/token');
    expect(loadConfig({ TOKEN_ENDPOINT_URL: 'https://as.example.com/oauth2/token' }).tokenEndpointUrl).toBe('https://as.example.com/oauth2/token');
  });

  it('turns DEMO off by default with DATABASE_URL, and reads on/off', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@db:5432/x' }).demo).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@db:5432/x', DEMO: 'on' }).demo).toBe(true);
    expect(loadConfig({ DEMO: 'off' }).demo).toBe(false);
    expect(loadConfig({ DATA_DIR: '/var/lib/jwt' }).dataDir).toBe('/var/lib/jwt');
  });

  it('lists every problem at once, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: '99999', TLS: 'maybe', DATABASE_URL: 'mysql://x', ADMIN_TOKEN: 'short', TOKEN_ENDPOINT_URL: 'not a url', DEMO: 'yes please', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'TLS', 'DATABASE_URL', 'ADMIN_TOKEN', 'TOKEN_ENDPOINT_URL', 'DEMO', 'LOG_LEVEL']) expect(problems).toContain(name);
    expect((error as Error).message).toMatch(/^Invalid configuration:\n  - PORT must be/);
  });
});
