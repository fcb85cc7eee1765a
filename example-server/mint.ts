import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { signDemoAssertion } from './demo-assertion';
import { curlCommand, DEFAULT_TOKEN_ENDPOINT_URL, DEMO_ISSUER, demoFiles, readDemoClient } from './demo-files';

const USAGE = `Usage: npm run mint -- [--sub <subject>] [--aud <audience>]... [--exp <seconds>] [--data-dir <dir>] [--curl]

Signs an assertion with the demo IdP key that the example server's DEMO bootstrap made under the data
directory (default: $DATA_DIR or .data). --curl prints the WSO2 page's whole curl command with the demo
application's credentials. For any other key: npx oauth2-jwt-bearer mint --key … --iss … --sub … --aud ….
`;

/** `npm run mint`: resolves to the exit code; one sentence on stderr when it fails. */
export async function runMint(
  args: string[],
  io: { env: NodeJS.ProcessEnv; cwd: string; stdout(s: string): void; stderr(s: string): void },
): Promise<number> {
  let values: { sub?: string; aud?: string[]; exp?: string; 'data-dir'?: string; curl?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        sub: { type: 'string', default: 'admin' },
        aud: { type: 'string', multiple: true },
        exp: { type: 'string', default: '300' },
        'data-dir': { type: 'string' },
        curl: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (!/^[1-9]\d*$/.test(values.exp!)) return fail(io, '--exp must be a positive whole number of seconds.');
  const files = demoFiles(resolve(io.cwd, values['data-dir'] ?? io.env.DATA_DIR ?? '.data'));
  let privateKeyPem: string;
  try {
    privateKeyPem = await readFile(files.privateKey, 'utf8');
  } catch {
    return fail(io, `No demo key at ${files.privateKey}. Start the example server once with DEMO=on (and the same DATA_DIR).`);
  }
  const client = await readDemoClient(files.client);
  const aud = values.aud?.length ? values.aud : [client?.tokenEndpointUrl ?? io.env.TOKEN_ENDPOINT_URL ?? DEFAULT_TOKEN_ENDPOINT_URL];
  const assertion = await signDemoAssertion({ privateKeyPem, iss: DEMO_ISSUER, sub: values.sub!, aud, expiresIn: Number(values.exp) });
  if (!values.curl) {
    io.stdout(`${assertion}\n`);
    return 0;
  }
  if (!client) return fail(io, `No demo application recorded at ${files.client}: --curl needs the example server's DEMO bootstrap.`);
  io.stdout(`${curlCommand({ ...client, assertion })}\n`);
  return 0;
}

function fail(io: { stderr(s: string): void }, message: string): number {
  io.stderr(`error: ${message}\n`);
  return 1;
}

if (require.main === module) {
  void runMint(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  }).then((code) => {
    process.exitCode = code;
  });
}
