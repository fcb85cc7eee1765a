/** Option names spell their unit (`…Bytes`, `…Seconds`, `…Ms`) and every defaults object is exported. */
import OAuth2Server from '@node-oauth/oauth2-server';
import * as entry from '../../lib';
import * as adminEntry from '../../lib/admin';
import { ConfigurationError } from '../../lib/errors';

describe('exported defaults', () => {
  it('are plain objects whose keys name their unit or count', () => {
    const defaults = {
      VERIFIER_DEFAULTS: entry.VERIFIER_DEFAULTS,
      TOKEN_ENDPOINT_DEFAULTS: entry.TOKEN_ENDPOINT_DEFAULTS,
      ADMIN_ROUTER_DEFAULTS: adminEntry.ADMIN_ROUTER_DEFAULTS,
      CERTIFICATE_KEY_SOURCE_DEFAULTS: entry.CERTIFICATE_KEY_SOURCE_DEFAULTS,
      JWKS_DEFAULTS: entry.JWKS_DEFAULTS,
      DISCOVERY_DEFAULTS: entry.DISCOVERY_DEFAULTS,
      DATABASE_DEFAULTS: entry.DATABASE_DEFAULTS,
      CHANGE_FEED_DEFAULTS: entry.CHANGE_FEED_DEFAULTS,
    };
    for (const [name, object] of Object.entries(defaults)) {
      expect({ name, type: typeof object }).toEqual({ name, type: 'object' });
      for (const key of Object.keys(object)) expect(key).toMatch(/(Bytes|Seconds|Ms|^max[A-Z][a-zA-Z]*|^poolMax)$/);
    }
    expect(entry.VERIFIER_DEFAULTS).toEqual({ maxAssertionBytes: 16384 });
    expect(entry.TOKEN_ENDPOINT_DEFAULTS).toEqual({ bodyLimitBytes: 65536 });
    expect(adminEntry.ADMIN_ROUTER_DEFAULTS).toEqual({ bodyLimitBytes: 262144 });
    expect(entry.CERTIFICATE_KEY_SOURCE_DEFAULTS).toEqual({ maxEntries: 1024 });
  });
});

describe('renamed options are validated under their new names', () => {
  const store = { findTenant: async () => null } as unknown as entry.GrantStore;
  const server = new OAuth2Server({
    model: { getClient: async () => null, saveToken: async () => null, getAccessToken: async () => null } as never,
  });

  it.each([0, -1, 1.5, '65536'])('tokenEndpoint bodyLimitBytes %p is a configuration error naming it', (value) => {
    expect(() => entry.tokenEndpoint({ server, host: OAuth2Server as never, model: {}, store, bodyLimitBytes: value as number })).toThrow(
      ConfigurationError,
    );
    expect(() => entry.tokenEndpoint({ server, host: OAuth2Server as never, model: {}, store, bodyLimitBytes: value as number })).toThrow(
      /bodyLimitBytes/,
    );
  });

  it('createCertificateKeySource maxEntries is validated', () => {
    expect(() => entry.createCertificateKeySource({ maxEntries: 0 })).toThrow(/maxEntries must be a positive integer/);
    expect(() => entry.createCertificateKeySource({ maxEntries: 2 })).not.toThrow();
  });

  it('createAssertionVerifier maxAssertionBytes is validated', () => {
    expect(() => entry.createAssertionVerifier({ maxAssertionBytes: 0 })).toThrow(/maxAssertionBytes must be a positive integer/);
  });
});
