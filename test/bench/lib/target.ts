import { randomBytes } from 'node:crypto';
import { JWT_BEARER_GRANT_TYPE } from '../../../lib/grant/jwt-bearer-grant';
import { assertionClaims, signAssertion, type TestSigningKey } from '../../helpers/keys';
import { type BenchApplication, type BenchIdp, basicAuth, createBenchApplication, createBenchIdp } from './admin-setup';
import { deferCleanup } from './cleanup';
import { type CpuPerRequest, cpuPerRequest, cpuSnapshot } from './cpu';
import { type BenchDatabase, createBenchDatabase } from './database';
import { failures, type LoadResult, runLoad } from './load';
import { AssertionPool, exportPrivateKeyPem, type Minter } from './mint';
import { type RunningServer, startExampleServer } from './server-process';

/**
 * One example server with a fresh database of its own, the benchmark's application and IdP in it, and a
 * pool of assertions for that IdP: the unit every end-to-end figure is measured on.
 */
export type Grant = 'jwt' | 'cc';

export interface RunFigure extends LoadResult {
  grant: Grant;
  cpu: CpuPerRequest;
}

export interface TargetOptions {
  adminUrl: string;
  workers: number;
  logLevel: string;
  connections: number;
  /** Request rate assumed before one is measured, to size the first pool. */
  maxRps: number;
  key: TestSigningKey;
  minter: Minter;
  /** The assertions' `sub` (default `bench-user`) and further claims (default none). */
  sub?: string;
  claims?: Record<string, unknown>;
}

export const BENCH_IDP = 'bench-idp';

/** A request that failed under load: reported by its message and samples, without a stack. */
export class RunFailure extends Error {}

export class Target {
  /** Fastest JWT rate seen on this target: sizes the next pool. */
  private bestJwtRps = 0;

  private constructor(
    readonly db: BenchDatabase,
    readonly server: RunningServer,
    readonly app: BenchApplication,
    readonly idp: BenchIdp,
    private readonly pool: AssertionPool,
    private readonly options: TargetOptions,
    private readonly dropDb: () => Promise<void>,
  ) {}

  static async start(options: TargetOptions): Promise<Target> {
    const db = await createBenchDatabase(options.adminUrl);
    const dropDb = deferCleanup(() => db.drop());
    let server: RunningServer | undefined;
    try {
      const adminToken = randomBytes(24).toString('base64url');
      server = await startExampleServer({ databaseUrl: db.url, adminToken, workers: options.workers, logLevel: options.logLevel });
      const app = await createBenchApplication(server.baseUrl, adminToken);
      const idp = await createBenchIdp(server.baseUrl, adminToken, {
        name: BENCH_IDP,
        certificatePem: options.key.certificatePem,
        kid: options.key.kid,
        alias: server.tokenUrl,
      });
      const pool = new AssertionPool(options.minter, {
        privateKeyPem: exportPrivateKeyPem(options.key.privateKey),
        kid: options.key.kid,
        iss: BENCH_IDP,
        aud: server.tokenUrl,
        sub: options.sub ?? 'bench-user',
        lifetimeSeconds: 3600,
        claims: options.claims,
      });
      const target = new Target(db, server, app, idp, pool, options, dropDb);
      await target.smokeTest();
      return target;
    } catch (error) {
      await server?.stop();
      await dropDb();
      throw error;
    }
  }

  /** One JWT grant signed by the test helpers (not the minter) and one client_credentials grant must work. */
  private async smokeTest(): Promise<void> {
    for (const res of [await this.exchange(), await this.post('grant_type=client_credentials')]) {
      if (res.status !== 200 || !(res.body as { access_token?: unknown }).access_token)
        throw new Error(`smoke test: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    }
  }

  /**
   * One JWT grant outside any measured run, with an assertion signed by the test helpers (not the minter):
   * the pool's claims, with `overrides` (e.g. a claim no trust rule accepts). Its status and JSON body.
   */
  async exchange(overrides: Record<string, unknown> = {}): Promise<{ status: number; body: unknown }> {
    const claims = assertionClaims({
      ...this.options.claims,
      iss: BENCH_IDP,
      aud: this.server.tokenUrl,
      sub: this.options.sub ?? 'bench-user',
      ...overrides,
    });
    const assertion = await signAssertion(this.options.key, claims, { kid: this.options.key.kid });
    return this.post(`grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${assertion}`);
  }

  private async post(body: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(this.server.tokenUrl, { method: 'POST', headers: this.headers(), body });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = { text: text.slice(0, 300) };
    }
    return { status: res.status, body: json };
  }

  private headers(): Record<string, string> {
    return { authorization: basicAuth(this.app), 'content-type': 'application/x-www-form-urlencoded' };
  }

  /** One measured run of `grant` for `durationS`; throws with the failing answers if any request failed. */
  async run(grant: Grant, durationS: number): Promise<RunFigure> {
    let nextBody: () => string | undefined;
    if (grant === 'jwt') {
      // Leftovers of earlier runs are still unused and valid for an hour; top up to 1.6× the best rate seen,
      // never below BENCH_MAX_RPS: a short cold warm-up under-states what the next run can do.
      const rps = Math.max(this.bestJwtRps, this.options.maxRps);
      await this.pool.ensure(Math.ceil(rps * durationS * 1.6) + 2 * this.options.connections + 1000);
      nextBody = () => {
        const a = this.pool.take();
        return a === undefined ? undefined : `grant_type=${JWT_BEARER_GRANT_TYPE}&assertion=${a}`;
      };
    } else {
      nextBody = () => 'grant_type=client_credentials';
    }
    const before = cpuSnapshot(this.server.pid);
    const result = await runLoad({
      url: this.server.tokenUrl,
      connections: this.options.connections,
      durationS,
      headers: { authorization: basicAuth(this.app) },
      nextBody,
    });
    const after = cpuSnapshot(this.server.pid);
    const responses = result.ok + result.non200 + result.noToken;
    const figure: RunFigure = { ...result, grant, cpu: cpuPerRequest(before, after, responses) };
    if (failures(result) > 0) {
      const why =
        result.exhausted > 0
          ? ` (the assertion pool ran out: raise BENCH_MAX_RPS above ${Math.round(this.bestJwtRps || this.options.maxRps)})`
          : '';
      throw new RunFailure(
        `${failures(result)} failed requests in a ${grant} run on ${this.server.baseUrl}${why}: ` +
          `${result.non200} non-200, ${result.noToken} 200 without access_token, ${result.errors} connection errors/timeouts, ${result.exhausted} without an assertion; ${result.ok} ok.\n` +
          `  samples:\n    ${result.samples.join('\n    ')}\n--- server output ---\n${this.server.output().trim().split('\n').slice(-20).join('\n')}`,
      );
    }
    if (grant === 'jwt') this.bestJwtRps = Math.max(this.bestJwtRps, result.perSecond);
    return figure;
  }

  /** "minted 40,000 RS256 assertions on 2 threads in 5.2 s; 31,000 used, each once". */
  assertionNote(): string {
    const p = this.pool;
    return `minted ${p.minted.toLocaleString('en-US')} RS256 assertions on ${p.minter.threads} threads in ${(p.mintMs / 1000).toFixed(1)} s; ${p.used.toLocaleString('en-US')} sent, each once`;
  }

  async close(): Promise<void> {
    await this.server.stop();
    await this.dropDb();
  }
}
