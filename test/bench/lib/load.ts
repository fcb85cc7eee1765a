import autocannon from 'autocannon';

/**
 * One fixed-duration autocannon run against the token endpoint (loopback only) in which every answer
 * is checked: a non-200, or a 200 without an access token, is a failure, never just a slower figure.
 */
export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  /** The next request body; undefined when the assertions ran out. */
  nextBody: () => string | undefined;
}

export interface LoadResult {
  /** 200 answers with an access token. */
  ok: number;
  non200: number;
  noToken: number;
  /** Connection errors and timeouts, as autocannon counts them. */
  errors: number;
  /** Requests for which no unused assertion was left (the run is stopped at the first). */
  exhausted: number;
  durationS: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** A few failing answers, for the message. */
  samples: string[];
}

export function failures(r: LoadResult): number {
  return r.non200 + r.noToken + r.errors + r.exhausted;
}

const SPENT_BODY = 'grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=pool-ran-out';

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const counts = { ok: 0, non200: 0, noToken: 0, exhausted: 0 };
  const samples: string[] = [];
  const sample = (text: string) => {
    if (samples.length < 5) samples.push(text);
  };
  return new Promise((resolve, reject) => {
    const instance: ReturnType<typeof autocannon> = autocannon(
      {
        url: options.url,
        method: 'POST',
        connections: options.connections,
        duration: options.durationS,
        timeout: 10,
        headers: { ...options.headers, 'content-type': 'application/x-www-form-urlencoded' },
        requests: [
          {
            // Called once for every request sent (autocannon rebuilds a request that has a setupRequest).
            setupRequest: (request) => {
              const body = options.nextBody();
              if (body === undefined) {
                counts.exhausted++;
                setImmediate(() => instance?.stop());
              }
              return { ...request, body: body ?? SPENT_BODY };
            },
            onResponse: (status, body) => {
              if (status !== 200) {
                counts.non200++;
                sample(`${status} ${body.slice(0, 300)}`);
                return;
              }
              let token: unknown;
              try {
                token = (JSON.parse(body) as { access_token?: unknown }).access_token;
              } catch {
                // counted below
              }
              if (typeof token === 'string' && token.length > 0) counts.ok++;
              else {
                counts.noToken++;
                sample(`200 without access_token: ${body.slice(0, 300)}`);
              }
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const errors = result.errors + result.timeouts;
        if (errors > 0) sample(`${result.errors} connection errors, ${result.timeouts} timeouts`);
        resolve({
          ...counts,
          errors,
          durationS: result.duration,
          perSecond: counts.ok / result.duration,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          samples,
        });
      },
    );
  });
}
