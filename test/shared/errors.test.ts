/** Every error class of the package shares one base and a stable `code`; reasons form one closed union. */
import { AdminError } from '../../lib/admin/errors';
import { CertificateParseError, parseCertificate } from '../../lib/certificates';
import { CliError } from '../../lib/cli/errors';
import { DataDirLockedError } from '../../lib/db/data-dir-lock';
import {
  ConfigurationError,
  JwtBearerError,
  OAuth2JwtBearerError,
  REASONS,
  StoreUnavailableError,
  type ReasonCode,
} from '../../lib/errors';
import { FormBodyError } from '../../lib/http/form-body';
import * as entry from '../../lib';
import { JwksFetchError } from '../../lib/keys';
import { LruMap } from '../../lib/lru';

describe('the common error base', () => {
  const cases: Array<[string, unknown, string]> = [
    ['JwtBearerError', new JwtBearerError('assertion_expired'), 'assertion_expired'],
    ['StoreUnavailableError', new StoreUnavailableError(new Error('down')), 'store_unavailable'],
    ['ConfigurationError', new ConfigurationError('options.x must be …'), 'invalid_configuration'],
    ['CertificateParseError', new CertificateParseError('not a certificate'), 'invalid_certificate'],
    ['AdminError', new AdminError('conflict', 'taken'), 'conflict'],
    ['DataDirLockedError', new DataDirLockedError('/tmp/x.lock', 1), 'data_dir_locked'],
    ['JwksFetchError', new JwksFetchError('status 500'), 'jwks_fetch_failed'],
    ['FormBodyError', new FormBodyError('repeated'), 'form_body_invalid'],
    ['CliError', new CliError('no such IdP'), 'cli_failed'],
  ];

  it.each(cases)('%s extends OAuth2JwtBearerError and Error, with its stable code and name', (name, error, code) => {
    expect(error).toBeInstanceOf(OAuth2JwtBearerError);
    expect(error).toBeInstanceOf(Error);
    expect((error as OAuth2JwtBearerError).code).toBe(code);
    expect((error as Error).name).toBe(name);
  });

  it('is exported from the main entry, as are the classes a host catches', () => {
    expect(entry.OAuth2JwtBearerError).toBe(OAuth2JwtBearerError);
    for (const cls of [
      entry.JwtBearerError,
      entry.StoreUnavailableError,
      entry.ConfigurationError,
      entry.CertificateParseError,
      AdminError,
      entry.DataDirLockedError,
    ]) {
      expect(cls.prototype).toBeInstanceOf(OAuth2JwtBearerError);
    }
  });

  it('reaches what a library function really throws', () => {
    let thrown: unknown;
    try {
      parseCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OAuth2JwtBearerError);
    expect((thrown as OAuth2JwtBearerError).code).toBe('invalid_certificate');
  });
});

describe('reason codes', () => {
  it('JwtBearerError carries its reason as its code, with the OAuth error and status of that reason', () => {
    for (const reason of Object.keys(REASONS) as ReasonCode[]) {
      const error = new JwtBearerError(reason);
      expect(error.code).toBe(reason);
      expect(error.reason).toBe(reason);
      expect(error.error).toBe(REASONS[reason]);
      expect(error.description).toMatch(/^[A-Z].+\.$/);
    }
  });

  it.each([
    ['method_not_allowed', 405, 'invalid_request'],
    ['content_type_invalid', 400, 'invalid_request'],
    ['body_too_large', 413, 'invalid_request'],
    ['client_auth_multiple', 400, 'invalid_request'],
    ['rate_limited', 429, 'temporarily_unavailable'],
    ['store_unavailable', 503, 'temporarily_unavailable'],
    ['assertion_expired', 400, 'invalid_grant'],
  ] as const)('%s answers %i %s', (reason, status, error) => {
    expect(new JwtBearerError(reason)).toMatchObject({ status, error });
  });
});

describe('configuration mistakes found at start are ConfigurationError', () => {
  it('a host that is not node-oauth2-server', () => {
    expect(() => entry.createJwtBearerGrant({ host: {} as never, store: { findTenant: async () => null } as never })).toThrow(
      ConfigurationError,
    );
  });

  it('an LRU of no entries', () => {
    expect(() => new LruMap(0)).toThrow(ConfigurationError);
  });
});
