import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { bundleConsole, WEB_DIR } from './bundle';

export interface ConsoleOptions {
  /** The token endpoint URL the console's curl command names (the IdP alias), as the server's config has it. */
  tokenEndpointUrl: string;
  /** Told when the bundle cannot be built (the answer is then a 500 with a fixed sentence). */
  onError?: (error: unknown) => void;
}

/**
 * Everything the console serves is same-origin and static: scripts only from this server (no inline
 * script: the page's settings travel in a `<meta>`), styles only from this server, requests only to
 * this origin (`/admin`), never framed, never cached (admin pages), no `Referer` to anyone.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f4e8c"/><path d="M4 8h8M8 4v8" stroke="#fff" stroke-width="2"/></svg>';

/**
 * The admin console of the example server, mounted at `/console`: `GET /console` is the page, and
 * `/console/app.js` (bundled from `web/` on first use, kept in memory) and `/console/console.css` its
 * assets. The page asks for the admin token and sends it only as `Authorization: Bearer` to `/admin`:
 * the token is never in a URL, in this HTML or in a log line.
 *
 * @example
 * app.use('/console', consoleRoute({ tokenEndpointUrl: 'https://localhost:9443/oauth2/token' }));
 */
export function consoleRoute(options: ConsoleOptions): Router {
  let bundle: Promise<string> | undefined;
  let css: Promise<string> | undefined;
  let html: Promise<string> | undefined;
  const load = (file: string) => readFile(join(WEB_DIR, file), 'utf8');

  const router = express.Router();
  router.use((_req, res, next) => {
    res.set(HEADERS);
    next();
  });

  const send = (res: Response, type: string, body: Promise<string>, reset: () => void) =>
    body.then(
      (text) => res.type(type).send(text),
      (error: unknown) => {
        reset(); // a failed build is retried on the next request
        options.onError?.(error);
        res.status(500).type('text/plain').send('The console could not be built; see the server log.');
      },
    );

  router.get('/', (req: Request, res: Response) => {
    const base = req.baseUrl;
    html ??= load('index.html');
    void send(
      res,
      'html',
      html.then((template) =>
        template.replaceAll('%BASE%', escapeHtml(base)).replaceAll('%TOKEN_ENDPOINT_URL%', escapeHtml(options.tokenEndpointUrl)),
      ),
      () => (html = undefined),
    );
  });
  router.get('/app.js', (_req, res) => {
    bundle ??= bundleConsole();
    void send(res, 'text/javascript', bundle, () => (bundle = undefined));
  });
  router.get('/console.css', (_req, res) => {
    css ??= load('console.css');
    void send(res, 'text/css', css, () => (css = undefined));
  });
  router.get('/favicon.svg', (_req, res) => {
    res.type('image/svg+xml').send(FAVICON);
  });
  router.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('Not found.');
  });
  return router;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
