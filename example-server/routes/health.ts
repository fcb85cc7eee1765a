import type { Request, Response } from 'express';
import type { Knex } from 'knex';

/**
 * `GET /healthz`: 200 when the database answers `select 1` within `timeoutMs`, else 503. The wait is
 * bounded so a hung database cannot hang the probe.
 */
export function healthRoute(deps: { knex: Knex; timeoutMs?: number }) {
  const timeoutMs = deps.timeoutMs ?? 2000;
  return async function health(_req: Request, res: Response): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.knex.raw('select 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
      res.status(200).json({ status: 'ok', database: 'up' });
    } catch {
      res.status(503).json({ status: 'unavailable', database: 'down' });
    } finally {
      clearTimeout(timer);
    }
  };
}
