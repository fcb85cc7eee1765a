import { createHash } from 'node:crypto';
import type { JsonSchema, OpenApiDocument, OpenApiOperation } from './openapi';

/** The page of {@link renderAdminApiHtml} and the headers to send it with. */
export interface AdminApiPage {
  html: string;
  /** Send as `Content-Security-Policy`: no script at all, the one inline style by its hash. */
  contentSecurityPolicy: string;
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem;color:#1d2430}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ccd3de}h3{font-size:1.05rem;margin:1.6rem 0 .3rem}
code,.path{font-family:ui-monospace,monospace}
.method{display:inline-block;min-width:4.2rem;font:600 .8rem ui-monospace,monospace;color:#fff;border-radius:3px;padding:.15rem .4rem;text-align:center;text-transform:uppercase}
.get{background:#1f6f43}.post{background:#1f4e8c}.patch{background:#8a5a00}.delete{background:#9b1c1c}
table{border-collapse:collapse;margin:.4rem 0 .8rem;width:100%}th,td{border:1px solid #ccd3de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f6;font-weight:600}nav ul{columns:2}.muted{color:#5b6678}
`.trim();

/**
 * Renders an {@link OpenApiDocument} of the admin API as one self-contained HTML page: operations with
 * their parameters, bodies and answers, then every schema as a table of fields. Nothing is fetched
 * from elsewhere (no CDN, no script), so the page works offline and under a strict CSP.
 *
 * @example
 * const page = renderAdminApiHtml(adminOpenApiDocument());
 * app.get('/admin/docs', (_req, res) => res.set('Content-Security-Policy', page.contentSecurityPolicy).type('html').send(page.html));
 */
export function renderAdminApiHtml(document: OpenApiDocument): AdminApiPage {
  const base = document.servers[0]?.url ?? '';
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op: op as OpenApiOperation })),
  );
  const parts: string[] = [
    `<h1>${esc(document.info.title)} <span class="muted">${esc(document.info.version)}</span></h1>`,
    `<p>${inline(document.info.description)}</p>`,
    `<p>Base URL: <code>${esc(base)}</code> · Authentication: ${Object.values(document.components.securitySchemes)
      .map((s) => inline(s.description))
      .join('; ')}</p>`,
    `<p>Machine-readable: <a href="openapi.json"><code>openapi.json</code></a> (OpenAPI ${esc(document.openapi)}).</p>`,
    '<nav><h2>Operations</h2><ul>',
    ...operations.map(
      ({ path, method, op }) =>
        `<li><a href="#${esc(op.operationId)}"><span class="method ${esc(method)}">${esc(method)}</span> <span class="path">${esc(path)}</span></a></li>`,
    ),
    '</ul></nav>',
  ];
  for (const tag of document.tags) {
    parts.push(`<h2>${esc(tag.name)}</h2><p>${inline(tag.description)}</p>`);
    for (const { path, method, op } of operations.filter((o) => o.op.tags.includes(tag.name)))
      parts.push(renderOperation(path, method, op));
  }
  parts.push('<h2>Schemas</h2>');
  for (const [name, schema] of Object.entries(document.components.schemas)) parts.push(renderSchema(name, schema));

  const styleHash = createHash('sha256').update(STYLE, 'utf8').digest('base64');
  const html = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(document.info.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    ...parts,
    '</body></html>',
  ].join('\n');
  const contentSecurityPolicy = [
    "default-src 'none'",
    `style-src 'sha256-${styleHash}'`,
    "img-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

function renderOperation(path: string, method: string, op: OpenApiOperation): string {
  const out = [
    `<h3 id="${esc(op.operationId)}"><span class="method ${esc(method)}">${esc(method)}</span> <span class="path">${esc(path)}</span> — ${esc(op.summary)}</h3>`,
  ];
  if (op.description) out.push(`<p>${inline(op.description)}</p>`);
  if (op.parameters?.length) {
    out.push('<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>');
    for (const p of op.parameters) {
      out.push(
        `<tr><td><code>${esc(p.name)}</code>${p.required ? ' (required)' : ''}</td><td>${esc(p.in)}</td><td>${typeText(p.schema)}</td><td>${inline(p.description ?? '')}</td></tr>`,
      );
    }
    out.push('</table>');
  }
  if (op.requestBody) {
    const [type, media] = Object.entries(op.requestBody.content)[0] ?? [];
    if (type && media) out.push(`<p>Body (<code>${esc(type)}</code>): ${typeText(media.schema)}</p>`);
  }
  out.push('<table><tr><th>status</th><th>answer</th></tr>');
  for (const [status, response] of Object.entries(op.responses)) {
    const schema = response.content ? Object.values(response.content)[0]?.schema : undefined;
    out.push(`<tr><td>${esc(status)}</td><td>${inline(response.description)}${schema ? ` ${typeText(schema)}` : ''}</td></tr>`);
  }
  out.push('</table>');
  return out.join('\n');
}

function renderSchema(name: string, schema: JsonSchema): string {
  const out = [`<h3 id="schema-${esc(name)}">${esc(name)}</h3>`];
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return `${out[0]}<p>${typeText(schema)}</p>`;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  out.push('<table><tr><th>field</th><th>type</th><th>rules</th></tr>');
  for (const [field, property] of Object.entries(properties)) {
    out.push(
      `<tr><td><code>${esc(field)}</code>${required.has(field) ? ' (required)' : ''}</td><td>${typeText(property)}</td><td>${rulesText(property)}</td></tr>`,
    );
  }
  out.push('</table>');
  if (schema.additionalProperties === false) out.push('<p class="muted">No other fields (unknown ones are refused).</p>');
  return out.join('\n');
}

/** A short type: `string`, `integer | null`, `array of IdentityProvider`, a link for a `$ref`. */
function typeText(schema: JsonSchema | undefined): string {
  if (!schema) return 'any';
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop() ?? '';
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (variants) return variants.map(typeText).join(' | ');
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ');
  if (schema.type === 'array') return `array of ${typeText(schema.items as JsonSchema | undefined)}`;
  if (typeof schema.type === 'string') return esc(schema.type);
  return 'any';
}

/** Constraints worth reading: lengths, bounds, patterns, descriptions. */
function rulesText(schema: JsonSchema): string {
  const rules: string[] = [];
  const variants = ((schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined) ?? [schema];
  for (const s of variants) {
    if (s.minLength !== undefined || s.maxLength !== undefined) rules.push(`length ${s.minLength ?? 0}–${s.maxLength ?? '∞'}`);
    if (s.minimum !== undefined || s.maximum !== undefined) rules.push(`${s.minimum ?? '−∞'} to ${s.maximum ?? '∞'}`);
    if (s.maxItems !== undefined) rules.push(`at most ${String(s.maxItems)} entries`);
    if (typeof s.pattern === 'string') rules.push(`pattern <code>${esc(s.pattern)}</code>`);
    if (typeof s.description === 'string') rules.push(inline(s.description));
  }
  if (typeof schema.description === 'string' && variants[0] !== schema) rules.push(inline(schema.description));
  return rules.join('; ');
}

/** Escaped text in which `backticks` become code. */
function inline(text: string): string {
  return esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function esc(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
