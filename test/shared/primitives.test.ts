/** The shared primitives: one definition each, used by the verifier, the store, the admin API and hosts. */
import { isLoopbackHost, jwksUriProblem } from '../../lib/admin';
import { checkJwksUrl, isLoopbackHostname } from '../../lib/shared/jwks-uri';
import { parseJsonObject } from '../../lib/shared/json';
import { isScopeToken, isUuid } from '../../lib/shared/patterns';
import { DEFAULT_TENANT } from '../../lib/shared/tenant';
import { isStorableText } from '../../lib/shared/text';
import * as entry from '../../lib';

describe('isStorableText', () => {
  it.each([
    ['plain text', 'jwtIDP', true],
    ['non-ASCII', 'Zoë 🔑', true],
    ['a NUL', 'a\u0000b', false],
    ['a lone high surrogate', 'a\ud800b', false],
    ['a lone low surrogate', '\udc00', false],
    ['not a string', 42, false],
  ])('%s → %p', (_name, value, expected) => expect(isStorableText(value)).toBe(expected));
});

describe('patterns', () => {
  it.each([
    ['read', true],
    ['urn:example:scope/a!#$', true],
    ['', false],
    ['two words', false],
    ['quote"d', false],
    ['back\\slash', false],
    ['é', false],
  ])('scope token %p → %p', (value, expected) => expect(isScopeToken(value)).toBe(expected));

  it('UUIDs in canonical form only, any case', () => {
    expect(isUuid('6f1c2a4e-0b7d-4c1e-9a8b-2f3e4d5c6b7a')).toBe(true);
    expect(isUuid('6F1C2A4E-0B7D-4C1E-9A8B-2F3E4D5C6B7A')).toBe(true);
    expect(isUuid('{6f1c2a4e-0b7d-4c1e-9a8b-2f3e4d5c6b7a}')).toBe(false);
    expect(isUuid('6f1c2a4e0b7d4c1e9a8b2f3e4d5c6b7a')).toBe(false);
    expect(isUuid(null)).toBe(false);
  });

  it('the main entry exports the same ones, and the default tenant', () => {
    expect(entry.isScopeToken).toBe(isScopeToken);
    expect(entry.isUuid).toBe(isUuid);
    expect(entry.DEFAULT_TENANT).toBe(DEFAULT_TENANT);
  });
});

describe('parseJsonObject', () => {
  it.each([
    ['{"a":1}', true],
    ['{"a":1,"\\u0061":2}', 'duplicate member name'],
    ['{"x":{"a":1,"a":2}}', 'duplicate member name'],
    ['{"__proto__":{}}', '__proto__ member'],
    ['[1]', 'not a JSON object'],
    ['{', 'not JSON'],
  ])('%s', (text, outcome) => {
    const result = parseJsonObject(text);
    if (outcome === true) expect(result.ok).toBe(true);
    else expect(result).toEqual({ ok: false, problem: outcome });
  });
});

describe('the loopback and JWKS URI rule', () => {
  it('is one rule, under the admin API name too', () => {
    expect(isLoopbackHost).toBe(isLoopbackHostname);
  });

  it.each([
    ['https://idp.example.com/jwks', undefined],
    ['http://127.0.0.1:8080/jwks', undefined],
    ['http://localhost/jwks', undefined],
    ['http://[::1]/jwks', undefined],
    ['jwks.json', 'not_absolute'],
    ['http://idp.example.com/jwks', 'http_not_loopback'],
    ['ftp://127.0.0.1/jwks', 'scheme_not_https'],
    ['https://u:p@idp.example.com/jwks', 'credentials'],
    ['https://idp.example.com/jwks#k', 'fragment'],
  ])('%s → %p, the same verdict at fetch time and in the admin API', (uri, code) => {
    const check = checkJwksUrl(uri);
    expect(check.ok ? undefined : check.code).toBe(code);
    expect(jwksUriProblem(uri) === undefined).toBe(code === undefined);
  });
});
