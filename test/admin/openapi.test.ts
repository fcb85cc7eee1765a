/**
 * The admin API's OpenAPI 3.1 document against the router it describes: every route the Express router
 * really has (its stack, walked) is in the document with the same method and path, and every documented
 * operation is a route. The document is checked against the OpenAPI 3.1 schema by a pinned validator
 * (run in a child process: it is an ES module), and structurally here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import {
  adminOpenApiDocument,
  createAdminRouter,
  renderAdminApiHtml,
  type AdminRouterOptions,
  type OpenApiDocument,
} from '../../lib/admin';

const ROOT = join(__dirname, '..', '..');
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
const knex = knexFactory({ client: 'pg' }); // never connects: the router is only built, not run

afterAll(() => knex.destroy());

/** `METHOD /path/{param}` for every route in an Express (5) router's stack; `.all()` handlers (405) are not routes. */
function routesOf(router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> }): string[] {
  return router.stack
    .filter((layer) => layer.route)
    .flatMap(({ route }) =>
      Object.keys(route!.methods)
        .filter((method) => method !== '_all')
        .map((method) => `${method.toUpperCase()} ${route!.path.replace(/:(\w+)/g, '{$1}')}`),
    )
    .sort();
}

function operationsOf(document: OpenApiDocument): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort();
}

function routerWith(applications: AdminRouterOptions['applications']) {
  return createAdminRouter({ knex, authorize: () => true, applications }) as unknown as Parameters<typeof routesOf>[0];
}

const answer = async () => ({ status: 200, body: {} });

describe('the OpenAPI document matches the router', () => {
  it.each([
    ['without applications', undefined, undefined],
    ['with applications.create only', { create: answer }, { list: false }],
    ['with applications.create and list', { create: answer, list: answer }, { list: true }],
  ] as const)('%s: the same methods and paths, both ways', (_name, applications, documented) => {
    const routes = routesOf(routerWith(applications));
    const operations = operationsOf(adminOpenApiDocument({ applications: documented }));
    expect(routes.length).toBeGreaterThanOrEqual(13);
    expect(operations).toEqual(routes);
  });

  it('would notice a route missing from the document (control)', () => {
    const routes = routesOf(routerWith({ create: answer, list: answer }));
    expect(operationsOf(adminOpenApiDocument())).not.toEqual(routes);
  });
});

describe('the OpenAPI document is well-formed OpenAPI 3.1', () => {
  const document = adminOpenApiDocument({ applications: { list: true } });

  it('has the 3.1 top level and unique operation ids', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const ids = Object.values(document.paths).flatMap((item) => Object.values(item).map((op) => op!.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(JSON.parse(JSON.stringify(document))).toEqual(document);
  });

  it('declares every path parameter, and only those, as required', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const op of Object.values(item)) {
        const declared = (op!.parameters ?? []).filter((p) => p.in === 'path');
        expect({ path, params: declared.map((p) => p.name).sort() }).toEqual({ path, params: inPath });
        expect(declared.every((p) => p.required)).toBe(true);
        expect(Object.keys(op!.responses).length).toBeGreaterThan(0);
      }
    }
  });

  it('resolves every $ref', () => {
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const name of refs) expect(Object.keys(document.components.schemas)).toContain(name);
  });

  it("derives request bodies from the router's own zod schemas (strict objects)", () => {
    expect(document.components.schemas.CreateIdentityProvider).toMatchObject({
      type: 'object',
      required: ['name'],
      additionalProperties: false,
    });
    expect(document.components.schemas.CreateTenant).toMatchObject({ required: ['domain'], additionalProperties: false });
    const limit = document.paths['/issued-tokens']!.get!.parameters!.find((p) => p.name === 'limit');
    expect(limit?.schema).toMatchObject({ type: 'string', pattern: '^[1-9][0-9]{0,3}$' });
  });

  it('passes the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator), which refuses a broken copy (control)', () => {
    // A parameter `in: "body"` (OpenAPI 2's way) is not OpenAPI 3.1.
    const broken = structuredClone(document) as unknown as { paths: Record<string, Record<string, { parameters: Array<{ in: string }> }>> };
    broken.paths['/identity-providers']!.get!.parameters[0]!.in = 'body';
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      const files = [join(dir, 'openapi.json'), join(dir, 'broken.json')];
      writeFileSync(files[0]!, JSON.stringify(document));
      writeFileSync(files[1]!, JSON.stringify(broken));
      const script = `import { Validator } from '@seriousme/openapi-schema-validator';
        const results = [];
        for (const file of ${JSON.stringify(files)}) {
          const validator = new Validator();
          const result = await validator.validate(file);
          results.push({ valid: result.valid, version: validator.version });
        }
        process.stdout.write(JSON.stringify(results));`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(out)).toEqual([
        { valid: true, version: '3.1' },
        { valid: false, version: '3.1' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the HTML rendering', () => {
  it('lists every operation and schema, with no script and a CSP that admits only its own style', () => {
    const document = adminOpenApiDocument({ applications: { list: true } });
    const page = renderAdminApiHtml(document);
    for (const op of operationsOf(document)) {
      const [method, path] = op.split(' ');
      expect(page.html).toContain(
        `<span class="method ${method!.toLowerCase()}">${method!.toLowerCase()}</span> <span class="path">${path}</span>`,
      );
    }
    for (const name of Object.keys(document.components.schemas)) expect(page.html).toContain(`id="schema-${name}"`);
    expect(page.html).not.toMatch(/<script|https?:\/\/(?!json-schema)/i);
    expect(page.contentSecurityPolicy).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'/);
  });
});
