import express, { type Router } from 'express';
import { adminOpenApiDocument, renderAdminApiHtml } from '../../lib/admin';

/**
 * `GET /admin/openapi.json` (the admin API as OpenAPI 3.1) and `GET /admin/docs` (the same as one
 * self-contained HTML page: no script, no CDN, a strict CSP). Both describe the API, never its data, so
 * they are served without the admin token; mount before the admin router.
 */
export function adminDocsRoute(options: { basePath: string; applications: { list: boolean } }): Router {
  const document = adminOpenApiDocument({ basePath: options.basePath, applications: options.applications });
  const text = JSON.stringify(document);
  const page = renderAdminApiHtml(document);
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    res.set({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    res.type('application/json').send(text);
  });
  router.get('/docs', (_req, res) => {
    res.set({
      'Content-Security-Policy': page.contentSecurityPolicy,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    res.type('html').send(page.html);
  });
  return router;
}
