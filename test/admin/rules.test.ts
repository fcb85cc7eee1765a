/** The admin API's rules that need no database: the bearer authorizer, algorithm and JWKS URI rules, error mapping. */
import type { IncomingMessage } from 'node:http';
import { AdminError, algorithmProblem, bearerTokenAuthorizer, isLoopbackHost, jwksUriProblem } from '../../lib/admin';
import { adminErrorAnswer } from '../../lib/admin/errors';
import { isUuid } from '../../lib/shared/patterns';
import { parseInput, createIdentityProviderBody } from '../../lib/admin/schemas';
import { JwtBearerError, StoreUnavailableError } from '../../lib/errors';
import { DEFAULT_ALGORITHMS } from '../../lib/types';

const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('bearerTokenAuthorizer', () => {
  const token = 'abcdefghijklmnop-0123456789';
  const authorize = bearerTokenAuthorizer(token);

  it('admits exactly `Bearer <token>`, the scheme in any case', () => {
    expect(authorize(req(`Bearer ${token}`))).toBe(true);
    expect(authorize(req(`BEARER ${token}`))).toBe(true);
    expect(authorize(req(`bearer  ${token}`))).toBe(true);
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    token,
    `Basic ${token}`,
    `Bearer ${token}x`,
    `Bearer ${token.slice(1)}`,
    `Bearer ${token} extra`,
    `Bearer ${token.toUpperCase()}`,
  ])('refuses %p', (authorization) => {
    expect(authorize(req(authorization))).toBe(false);
  });

  it.each(['', 'short', 'has space in it 0123456789', 'ünïcödé-token-0123456789', 42 as unknown as string])(
    'refuses to be built with %p',
    (bad) => {
      expect(() => bearerTokenAuthorizer(bad)).toThrow(/admin token/);
    },
  );
});

describe('algorithm rules', () => {
  it('allows exactly the default asymmetric list', () => {
    for (const alg of DEFAULT_ALGORITHMS) expect(algorithmProblem(alg)).toBeUndefined();
  });

  it.each([
    ['none', /never allowed/],
    ['NONE', /never allowed/],
    [' none ', /never allowed/],
    ['HS256', /symmetric/],
    ['hs384', /symmetric/],
    ['HS', /symmetric/],
    ['es256', /case-sensitive.*"ES256"/],
    ['Ed25519', /not a supported algorithm/],
    ['dir', /not a supported algorithm/],
  ])('refuses %p', (alg, message) => {
    expect(algorithmProblem(alg)).toMatch(message);
  });
});

describe('JWKS URI rules', () => {
  it.each(['localhost', '127.0.0.1', '127.255.255.254', '[::1]'])('%s is loopback', (host) => expect(isLoopbackHost(host)).toBe(true));
  it.each(['localhost.example', '128.0.0.1', '10.0.0.1', '[::2]', '0.0.0.0', '127.0.0.256', 'example.com'])('%s is not loopback', (host) =>
    expect(isLoopbackHost(host)).toBe(false),
  );

  it.each([
    'https://idp.example.com/.well-known/jwks.json',
    'https://10.0.0.1:8443/keys',
    'http://localhost/jwks',
    'http://127.0.0.1:9000/jwks',
    'http://[::1]/jwks',
    'http://[0:0:0:0:0:0:0:1]/jwks',
    'http://2130706433/jwks', // 127.0.0.1 as one number: the URL parser normalises it
    'HTTP://LOCALHOST/jwks',
  ])('accepts %s', (uri) => expect(jwksUriProblem(uri)).toBeUndefined());

  it.each(['http://example.com/jwks', 'http://169.254.169.254/latest', 'ws://localhost/jwks', 'javascript:alert(1)', 'jwks.json', ''])(
    'refuses %p',
    (uri) => expect(jwksUriProblem(uri)).toEqual(expect.any(String)),
  );
});

describe('input parsing', () => {
  it('names unknown fields before other problems, at most three problems', () => {
    try {
      parseInput(createIdentityProviderBody, { name: 1, enabled: 'x', requireJti: 'y', clockSkewSeconds: 'z', extra: true }, 'body');
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(AdminError);
      const e = error as AdminError;
      expect(e.field).toBe('extra');
      expect(e.message.split('; ')).toHaveLength(3);
      expect(e.message).toMatch(/^Unknown field "extra"; name must be a string/);
    }
  });

  it('recognises UUIDs only', () => {
    expect(isUuid('5690a007-358a-46c0-925e-95b2aa109d5e')).toBe(true);
    expect(isUuid('5690a007358a46c0925e95b2aa109d5e')).toBe(false);
    expect(isUuid("' or 1=1 --")).toBe(false);
  });
});

describe('error answers', () => {
  it('sends AdminError messages and fields as they are', () => {
    expect(adminErrorAnswer(new AdminError('conflict', 'Taken.', { field: 'name' }))).toEqual({
      status: 409,
      body: { error: 'conflict', error_description: 'Taken.', field: 'name' },
      unexpected: false,
    });
  });

  it.each([
    ['StoreUnavailableError', new StoreUnavailableError(new Error('connect ECONNREFUSED 10.1.2.3:5432'))],
    ['a raw connection error', Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' })],
    ['a knex pool timeout', Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' })],
    ['an admin shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['an unavailable key source', new JwtBearerError('key_source_unavailable')],
  ])('answers 503 temporarily_unavailable for %s, without its text', (_label, error) => {
    const answer = adminErrorAnswer(error);
    expect(answer.status).toBe(503);
    expect(answer.body.error).toBe('temporarily_unavailable');
    expect(JSON.stringify(answer.body)).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|Knex|administrator/);
  });

  it('answers 500 server_error with a fixed sentence for anything else', () => {
    const answer = adminErrorAnswer(new TypeError("Cannot read properties of undefined (reading 'id')"));
    expect(answer).toEqual({
      status: 500,
      body: { error: 'server_error', error_description: 'The server could not complete the request.' },
      unexpected: true,
    });
  });

  it('maps body-parser errors to 400/413/415 invalid_request', () => {
    expect(adminErrorAnswer(Object.assign(new Error('x'), { type: 'entity.too.large', status: 413, limit: 262144 }))).toMatchObject({
      status: 413,
      body: { error: 'invalid_request' },
    });
    expect(adminErrorAnswer(Object.assign(new Error('x'), { type: 'entity.parse.failed', status: 400 }))).toMatchObject({ status: 400 });
    expect(adminErrorAnswer(Object.assign(new Error('x'), { type: 'charset.unsupported', status: 415 }))).toMatchObject({ status: 415 });
  });
});
