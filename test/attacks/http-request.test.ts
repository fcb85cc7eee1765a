/**
 * Threat: the HTTP request around the assertion. Parameters given twice (one layer reads the first,
 * another the last), parameters smuggled through the query string or another content type, other
 * methods, and client credentials given twice or in odd forms.
 *
 * RFC 6749 §3.2 ("the client MUST use the HTTP POST method"; "Request and response parameters MUST NOT
 * be included more than once"), §2.3 ("MUST NOT use more than one authentication method"), §2.3.1 (HTTP
 * Basic, form-url-encoded credentials), §4.5 and RFC 7523 §2.1 (the assertion is a form parameter),
 * §5.2 (errors), Appendix A.1/A.2 (client_id and client_secret are VSCHAR); RFC 9110 §15.5.6 (405 with
 * Allow); RFC 7523 §2.1 ("MUST contain a single JWT"); docs/validation.md step 1, §4.
 */
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { attackTarget, CLIENT, createAttackFixture, HOSTS, INVALID_REQUEST, type AttackTarget, type Expected } from '../helpers/attack-kit';
import { grantForm, JWT_BEARER_GRANT_TYPE, type GrantFixture } from '../helpers/grant-fixture';
import { makeSigningKey, type TestSigningKey } from '../helpers/keys';

const URN = encodeURIComponent(JWT_BEARER_GRANT_TYPE);
const REPEATED = INVALID_REQUEST('parameter_repeated');
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const INVALID_CLIENT_401: Expected = { status: 401, error: 'invalid_client', reason: 'invalid_client' };

let fx: GrantFixture;
let attacker: TestSigningKey;
beforeAll(async () => {
  fx = await createAttackFixture();
  attacker = await makeSigningKey('ES256');
});
afterAll(() => fx?.close());

describe.each(HOSTS)('HTTP request attacks on $name', (hut) => {
  /** Our own form parser, and behind the host's urlencoded (qs) parser: both must refuse alike. */
  let plain: AttackTarget;
  let parsed: AttackTarget;
  let anyMethod: AttackTarget;
  beforeAll(() => {
    plain = attackTarget(fx, hut);
    parsed = attackTarget(fx, hut, { mount: { hostBodyParser: true } });
    anyMethod = attackTarget(fx, hut, { mount: { allMethods: true } });
  });
  const post = (t: AttackTarget, body: string | Buffer, contentType = 'application/x-www-form-urlencoded') =>
    request(t.app).post('/oauth2/token').set('Authorization', basic(CLIENT.id, CLIENT.secret)).set('Content-Type', contentType).send(body);

  describe('RFC 6749 §3.2, RFC 7523 §2.1: a parameter given more than once is refused', () => {
    const cases: Array<[string, (a: string, b: string) => string]> = [
      ['assertion twice, the same value', (a) => `grant_type=${URN}&assertion=${a}&assertion=${a}`],
      ['assertion twice, a forged one first', (a, b) => `grant_type=${URN}&assertion=${b}&assertion=${a}`],
      ['assertion twice, the valid one first', (a, b) => `grant_type=${URN}&assertion=${a}&assertion=${b}`],
      ['assertion twice, one empty', (a) => `grant_type=${URN}&assertion=&assertion=${a}`],
      ['assertion twice, the name percent-encoded once', (a) => `grant_type=${URN}&%61ssertion=${a}&assertion=${a}`],
      ['grant_type twice', (a) => `grant_type=${URN}&grant_type=${URN}&assertion=${a}`],
      ['grant_type twice, refresh_token first', (a) => `grant_type=refresh_token&grant_type=${URN}&assertion=${a}`],
      ['scope twice', (a) => `grant_type=${URN}&assertion=${a}&scope=read&scope=admin`],
      ['client_id twice', (a) => `grant_type=${URN}&assertion=${a}&client_id=${CLIENT.id}&client_id=other`],
      ['client_secret twice', (a) => `grant_type=${URN}&assertion=${a}&client_secret=x&client_secret=y`],
      ['an unknown parameter twice', (a) => `grant_type=${URN}&assertion=${a}&foo=1&foo=2`],
    ];
    it.each(cases)('%s (our parser)', async (_name, body) => {
      const a = await fx.assertion();
      const b = await fx.assertion({ sub: 'root' }, {}, attacker);
      await plain.refused(() => post(plain, body(a, b)), REPEATED, [a]);
      // The assertion was not burnt by the refused request.
      expect((await plain.grant(a)).status).toBe(200);
    });
    it.each(cases)('%s (behind the host urlencoded parser)', async (_name, body) => {
      const a = await fx.assertion();
      await parsed.refused(() => post(parsed, body(a, a)), REPEATED, [a]);
    });

    it.each([
      [
        'assertion[]=… (our parser: no parameter named assertion)',
        'plain',
        (a: string) => `grant_type=${URN}&assertion[]=${a}`,
        INVALID_REQUEST('assertion_missing'),
      ],
      ['assertion[]=… (qs: an array)', 'parsed', (a: string) => `grant_type=${URN}&assertion[]=${a}`, REPEATED],
      ['assertion[0]=… (qs: an array)', 'parsed', (a: string) => `grant_type=${URN}&assertion[0]=${a}`, REPEATED],
      [
        'assertion[x]=… (qs: an object)',
        'parsed',
        (a: string) => `grant_type=${URN}&assertion[x]=${a}`,
        INVALID_REQUEST('assertion_malformed'),
      ],
      [
        '__proto__[assertion]=… (qs prototype pollution)',
        'parsed',
        (a: string) => `grant_type=${URN}&__proto__[assertion]=${a}`,
        INVALID_REQUEST('assertion_missing'),
      ],
      [
        'Assertion=… (names are case-sensitive)',
        'plain',
        (a: string) => `grant_type=${URN}&Assertion=${a}`,
        INVALID_REQUEST('assertion_missing'),
      ],
    ] as Array<[string, 'plain' | 'parsed', (a: string) => string, Expected]>)('%s', async (_name, which, body, expected) => {
      const t = which === 'plain' ? plain : parsed;
      const a = await fx.assertion();
      await t.refused(() => post(t, body(a)), expected, [a]);
    });
  });

  describe('RFC 6749 §3.2, §4.5: the assertion only counts in a form-encoded POST body', () => {
    const contentTypes: Array<[string, string, (body: string) => string | Buffer, Expected]> = [
      ['text/plain', 'text/plain', (b) => b, INVALID_REQUEST('content_type_invalid')],
      [
        'application/json',
        'application/json',
        (b) => JSON.stringify(Object.fromEntries(new URLSearchParams(b))),
        INVALID_REQUEST('content_type_invalid'),
      ],
      [
        'multipart/form-data',
        'multipart/form-data; boundary=x',
        (b) =>
          `--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\n${JWT_BEARER_GRANT_TYPE}\r\n--x\r\nContent-Disposition: form-data; name="assertion"\r\n\r\n${new URLSearchParams(b).get('assertion')}\r\n--x--`,
        INVALID_REQUEST('content_type_invalid'),
      ],
      ['application/xml', 'application/xml', (b) => `<x>${b}</x>`, INVALID_REQUEST('content_type_invalid')],
      ['a look-alike type', 'application/x-www-form-urlencoded-evil', (b) => b, INVALID_REQUEST('content_type_invalid')],
      ['a type without subtype', 'application', (b) => b, INVALID_REQUEST('content_type_invalid')],
      [
        'a UTF-16 body declared by charset',
        'application/x-www-form-urlencoded; charset=utf-16le',
        (b) => Buffer.from(b, 'utf16le'),
        INVALID_REQUEST('invalid_request'),
      ],
      [
        'a gzip body (Content-Encoding is not decoded)',
        'application/x-www-form-urlencoded',
        (b) => gzipSync(b),
        INVALID_REQUEST('invalid_request'),
      ],
    ];
    it.each(contentTypes)('%s', async (name, contentType, encode, expected) => {
      const a = await fx.assertion();
      const form = new URLSearchParams(grantForm(a)).toString();
      await plain.refused(
        () => {
          const req = post(plain, encode(form), contentType);
          return /gzip/.test(name) ? req.set('Content-Encoding', 'gzip') : req;
        },
        expected,
        [a],
      );
      expect((await plain.grant(a)).status).toBe(200);
    });

    it('no Content-Type at all', async () => {
      const a = await fx.assertion();
      await plain.refused(
        () =>
          request(plain.app)
            .post('/oauth2/token')
            .set('Authorization', basic(CLIENT.id, CLIENT.secret))
            .send(Buffer.from(new URLSearchParams(grantForm(a)).toString()))
            .unset('Content-Type'),
        INVALID_REQUEST('content_type_invalid'),
        [a],
      );
    });

    it('the parameters in the query string of a POST with an empty body', async () => {
      const a = await fx.assertion();
      await plain.refused(
        () =>
          request(plain.app)
            .post(`/oauth2/token?${new URLSearchParams(grantForm(a))}`)
            .set('Authorization', basic(CLIENT.id, CLIENT.secret))
            .type('form')
            .send(''),
        INVALID_REQUEST('invalid_request'),
        [a],
      );
    });

    it('the assertion in the query string, the grant type in the body', async () => {
      const a = await fx.assertion();
      await plain.refused(
        () =>
          request(plain.app)
            .post(`/oauth2/token?assertion=${a}`)
            .set('Authorization', basic(CLIENT.id, CLIENT.secret))
            .type('form')
            .send(`grant_type=${URN}`),
        INVALID_REQUEST('assertion_missing'),
        [a],
      );
    });
  });

  describe('RFC 6749 §3.2, RFC 9110 §15.5.6: methods other than POST get 405 with Allow: POST', () => {
    it.each(['get', 'put', 'patch', 'delete', 'options'] as const)('%s, with the grant in the query string', async (method) => {
      const a = await fx.assertion();
      const res = await anyMethod.refused(
        () =>
          request(anyMethod.app)
            [method](`/oauth2/token?${new URLSearchParams(grantForm(a))}`)
            .set('Authorization', basic(CLIENT.id, CLIENT.secret)),
        { status: 405, error: 'invalid_request', reason: 'method_not_allowed' },
        [a],
      );
      expect(res.headers.allow).toBe('POST');
    });

    it('head (405, Allow: POST, no body)', async () => {
      const before = anyMethod.outcomes.length;
      const res = await request(anyMethod.app).head('/oauth2/token');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(anyMethod.outcomes.length - before).toBe(1);
      expect(anyMethod.outcomes.at(-1)).toMatchObject({ outcome: 'refused', status: 405, reason: 'method_not_allowed' });
    });

    it('PUT with a form body carrying the grant', async () => {
      const a = await fx.assertion();
      await anyMethod.refused(
        () =>
          request(anyMethod.app)
            .put('/oauth2/token')
            .set('Authorization', basic(CLIENT.id, CLIENT.secret))
            .type('form')
            .send(new URLSearchParams(grantForm(a)).toString()),
        { status: 405, error: 'invalid_request', reason: 'method_not_allowed' },
        [a],
      );
    });
  });

  describe('RFC 6749 §2.3, §2.3.1, Appendix A: client credentials given twice or malformed', () => {
    it.each([
      ['Basic and a body client_secret (the right one)', { client_id: CLIENT.id, client_secret: CLIENT.secret }],
      ['Basic and a wrong body client_secret', { client_id: CLIENT.id, client_secret: 'wrong' }],
      ['Basic and a body client_secret alone', { client_secret: 'wrong' }],
      ['Basic and another client_id in the body', { client_id: 'other-client' }],
    ])('%s: refused (one method only)', async (_name, extra) => {
      const a = await fx.assertion();
      await plain.refused(
        () =>
          request(plain.app)
            .post('/oauth2/token')
            .set('Authorization', basic(CLIENT.id, CLIENT.secret))
            .type('form')
            .send(new URLSearchParams({ ...grantForm(a), ...extra }).toString()),
        INVALID_REQUEST('client_auth_multiple'),
        [a],
      );
    });

    it('control: Basic and the same client_id in the body (RFC 6749 §3.2.1) is served', async () => {
      const res = await request(plain.app)
        .post('/oauth2/token')
        .set('Authorization', basic(CLIENT.id, CLIENT.secret))
        .type('form')
        .send(new URLSearchParams({ ...grantForm(await fx.assertion()), client_id: CLIENT.id }).toString());
      expect(res.status).toBe(200);
    });

    it.each([
      ['a wrong secret', basic(CLIENT.id, 'wrong')],
      ['an empty client id', basic('', CLIENT.secret)],
      ['a client id with a control character', basic(`${CLIENT.id}\u0001`, CLIENT.secret)],
      ['a form-encoded control character in the id', basic(`${CLIENT.id}%00`, CLIENT.secret)],
      ['a client id with a non-ASCII character', basic(`clïent-1`, CLIENT.secret)],
      ['a secret with a NUL', basic(CLIENT.id, `${CLIENT.secret}\u0000`)],
      ['a form-encoded colon in the id', basic('client%3A1', CLIENT.secret)],
      ['no colon', `Basic ${Buffer.from(CLIENT.id).toString('base64')}`],
      ['not base64', 'Basic %%%'],
      ['an empty Basic', 'Basic '],
      ['Basic with a bad percent-escape', basic('client-1%', CLIENT.secret)],
    ])('Basic with %s: 401 invalid_client with WWW-Authenticate', async (_name, header) => {
      const a = await fx.assertion();
      const res = await plain.refused(
        () =>
          request(plain.app)
            .post('/oauth2/token')
            .set('Authorization', header)
            .type('form')
            .send(new URLSearchParams(grantForm(a)).toString()),
        INVALID_CLIENT_401,
        [a, header.slice(6)],
      );
      expect(res.headers['www-authenticate']).toMatch(/^Basic/);
    });

    it.each([
      ['a Bearer header', 'Bearer some-token'],
      ['a Digest header', 'Digest username="client-1"'],
    ])('%s instead of client credentials: invalid_client', async (_name, header) => {
      const a = await fx.assertion();
      await plain.refused(
        () =>
          request(plain.app)
            .post('/oauth2/token')
            .set('Authorization', header)
            .type('form')
            .send(new URLSearchParams(grantForm(a)).toString()),
        { status: 400, error: 'invalid_client', reason: 'invalid_client' },
        [a],
      );
    });
  });
});
