/** Shared pieces of the admin API tests: an Express app over a fresh database, an authorised client. */
import express from 'express';
import request from 'supertest';
import { bearerTokenAuthorizer, createAdminRouter, type AdminRouterOptions } from '../../lib/admin';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

export const ADMIN_TOKEN = 'admin-test-token-0123456789';
export const TOKEN_URL = 'https://as.example.test/oauth2/token';
export const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

type Method = 'get' | 'post' | 'patch' | 'delete' | 'put';

export interface AdminFixture {
  db: TestDatabase;
  app: express.Express;
  /** Errors the router reported through `onError` (5xx only). */
  errors: unknown[];
  /** A request with the admin token, to `/admin<path>`. */
  admin(method: Method, path: string): request.Test;
  close(): Promise<void>;
}

/** Mounts the admin router at `/admin` on an Express 5 app over a fresh migrated database. */
export async function createAdminFixture(extra: Partial<AdminRouterOptions> = {}): Promise<AdminFixture> {
  const db = await createTestDatabase();
  const errors: unknown[] = [];
  const app = express();
  app.use(
    '/admin',
    createAdminRouter({
      knex: db.knex,
      authorize: bearerTokenAuthorizer(ADMIN_TOKEN),
      tokenEndpointUrl: TOKEN_URL,
      onError: (error) => errors.push(error),
      ...extra,
    }),
  );
  return {
    db,
    app,
    errors,
    admin: (method, path) => request(app)[method](`/admin${path}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`),
    close: () => db.close(),
  };
}

/** `?tenantDomain=<domain>` appended to a path (with `&` when it already has a query). */
export function inTenant(path: string, domain: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}tenantDomain=${encodeURIComponent(domain)}`;
}
