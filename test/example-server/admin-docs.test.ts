/** The example server publishes its admin API's description: OpenAPI 3.1 JSON and a self-hosted HTML page. */
import request from 'supertest';
import { adminOpenApiDocument } from '../../lib/admin';
import { createExampleFixture, type ExampleFixture } from './fixture';

describe('example server: /admin/openapi.json and /admin/docs', () => {
  let fx: ExampleFixture;

  beforeAll(async () => {
    fx = await createExampleFixture();
  });
  afterAll(() => fx.close());

  it('serves the document of the admin API as mounted here, without the admin token', async () => {
    const res = await request(fx.app).get('/admin/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(adminOpenApiDocument({ basePath: '/admin', applications: { list: true } }));
    expect(res.body.paths['/applications']).toHaveProperty('get');
  });

  it('renders it as HTML with a strict CSP: no script, no other origin, only its own inline style', async () => {
    const res = await request(fx.app).get('/admin/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = res.headers['content-security-policy'];
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*';/);
    expect(csp).not.toMatch(/unsafe|\*|https?:/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.text).not.toMatch(/<script/i);
    expect(res.text).toContain('<span class="method post">post</span> <span class="path">/identity-providers</span>');
  });

  it('keeps everything else under /admin behind the admin token', async () => {
    expect((await request(fx.app).get('/admin/tenants')).status).toBe(401);
    expect((await request(fx.app).get('/admin/docs/extra')).status).toBe(401);
    expect((await fx.admin('get', '/admin/tenants')).status).toBe(200);
  });
});
