import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Knex } from 'knex';
import { validityAt } from '../certificates';
import { openDatabase } from '../db/connect';
import { CliError, describeCliError, exitCodeOf } from './errors';
import type { IdpSummary, RuleSummary } from './identity-providers';
import { mintAssertion } from './mint';
import { runOperation, type OperationInput, type OperationName, type OperationResult } from './operations';
import { findRunningServer } from './remote';
import { DEFAULT_TENANT } from '../shared/tenant';

/** What the commands need from the outside world; tests inject their own. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * Opens the database named by `--database-url`/`DATABASE_URL`, or the embedded one under
   * `--data-dir`/`DATA_DIR`. Default: the package's `openDatabase`. A knex returned by an injected
   * opener is not destroyed by the command.
   */
  openDatabase?(options: { databaseUrl?: string; dataDir: string }): Promise<Knex>;
}

/**
 * Runs the CLI on `argv` (as `process.argv`: node, script, args…) and resolves to the exit code.
 * Errors are one sentence on stderr and a non-zero code, never a stack trace.
 */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander already printed the message
    const usesUrl = Boolean(program.opts().databaseUrl ?? ctx.env.DATABASE_URL);
    ctx.stderr(`error: ${describeCliError(error, usesUrl).message}\n`);
    return exitCodeOf(error);
  }
}

/** The commander program; exposed for tests and for `--help` generation. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('oauth2-jwt-bearer');
  program
    .description('Manage the OAuth 2.0 JWT Bearer grant (RFC 7523): database, identity providers, test assertions.')
    .addOption(new Option('--database-url <url>', 'PostgreSQL URL (default: $DATABASE_URL; unset: the embedded database under --data-dir)'))
    .addOption(new Option('--data-dir <dir>', 'directory of the embedded database (default: $DATA_DIR or .data)'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout(s), writeErr: (s) => ctx.stderr(s) })
    .showHelpAfterError('(run with --help for usage)');

  const globals = () => program.opts<{ databaseUrl?: string; dataDir?: string }>();
  const dataDir = () => resolve(ctx.cwd, globals().dataDir ?? ctx.env.DATA_DIR ?? '.data');

  /**
   * Runs one database operation. On the embedded database while an example server holds it, the
   * server runs it (`server-bridge.ts`): one writer per data directory, and the server sees the change
   * at once. Otherwise the CLI opens the database for this command and closes it afterwards (an
   * injected opener's knex is left open).
   */
  const operate = async <K extends OperationName>(name: K, input: OperationInput<K>): Promise<OperationResult<K>> => {
    const databaseUrl = globals().databaseUrl ?? (ctx.env.DATABASE_URL || undefined);
    const injected = Boolean(ctx.openDatabase);
    if (!databaseUrl && !injected) {
      const server = await findRunningServer(dataDir());
      if (server) {
        const result = await server.run(name, input);
        if (result !== 'unreachable') {
          ctx.stderr(`(run by the example server on this data directory, process ${server.endpoint.pid})\n`);
          return result;
        }
      }
    }
    const knex = await (ctx.openDatabase ?? openDatabase)({ databaseUrl, dataDir: dataDir() });
    try {
      return await runOperation(knex, name, input);
    } finally {
      if (!injected) await knex.destroy();
    }
  };
  const out = (line = '') => ctx.stdout(`${line}\n`);
  /** The lint's warnings go to stderr: they never fail a command, and stdout stays parseable (--json). */
  const warn = (warnings: ReadonlyArray<{ message: string }>, about = '') =>
    warnings.forEach((w) => ctx.stderr(`warning: ${about}${w.message}\n`));
  const sub = (name: string) =>
    new Command(name).exitOverride().configureOutput({ writeOut: (s) => ctx.stdout(s), writeErr: (s) => ctx.stderr(s) });
  const collect = (value: string, previous: string[]) => [...previous, value];
  const readCert = async (file: string) => {
    try {
      return { source: file, bytes: await readFile(resolve(ctx.cwd, file)) };
    } catch (error) {
      throw new CliError(`Cannot read certificate file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };

  program
    .command('migrate')
    .description("create or update the package's tables (safe to run again)")
    .action(async () => {
      const applied = await operate('migrate', {});
      out(applied.length > 0 ? `Migrated: ${applied.join(', ')}.` : 'Database is up to date.');
    });

  const tenant = sub('tenant').description('tenants (the default tenant is carbon.super)');
  tenant
    .command('add <domain>')
    .description('add a tenant (for ?tenantDomain=<domain>)')
    .action(async (domain: string) => {
      const { created } = await operate('tenant.add', { domain });
      out(created ? `Tenant ${domain} added.` : `Tenant ${domain} already exists.`);
    });
  tenant
    .command('list')
    .description('list tenants')
    .action(async () => (await operate('tenant.list', {})).forEach((t) => out(t.domain)));
  program.addCommand(tenant);

  const idp = sub('idp').description('identity providers: the trusted issuers of assertions');
  idp
    .command('add')
    .description('register an identity provider: its name is the JWT iss, its aliases the accepted aud values')
    .requiredOption('--name <issuer>', 'identity provider name = the JWT "iss" (e.g. jwtIDP)')
    .option('--cert <file>', 'public certificate, PEM or DER as `keytool -export` writes it (repeatable)', collect, [])
    .option('--alias <audience>', 'audience by which the IdP names this token endpoint (repeatable)', collect, [])
    .option('--tenant <domain>', 'tenant domain', DEFAULT_TENANT)
    .option('--display-name <text>', 'display name')
    .option('--jwks-uri <url>', 'JWKS URI instead of (or besides) certificates')
    .option('--algorithms <list>', 'comma-separated allow-list of JWS algorithms (default: RS*, PS*, ES*, EdDSA)')
    .option('--no-require-jti', 'accept assertions without a jti (replay is then keyed on the signed content)')
    .option(
      '--replay-policy <policy>',
      'once (default: every assertion single-use) or reuse (tokens reused by design, at most an hour long)',
    )
    .option('--discovery [url]', "keys through OpenID Connect discovery: the configuration URL, or none for the issuer's own")
    .option('--json', 'print the result as JSON')
    .action(
      async (o: {
        name: string;
        cert: string[];
        alias: string[];
        tenant: string;
        displayName?: string;
        jwksUri?: string;
        algorithms?: string;
        requireJti: boolean;
        replayPolicy?: string;
        discovery?: string | true;
        json?: boolean;
      }) => {
        const certificates = await Promise.all(o.cert.map(readCert));
        const created = await operate('idp.add', {
          tenant: o.tenant,
          name: o.name,
          displayName: o.displayName,
          certificates,
          aliases: o.alias,
          jwksUri: o.jwksUri,
          algorithms: o.algorithms
            ?.split(',')
            .map((a) => a.trim())
            .filter(Boolean),
          requireJti: o.requireJti,
          replayPolicy: o.replayPolicy,
          discoveryUrl: o.discovery,
        });
        warn(created.warnings);
        if (o.json) return out(JSON.stringify(created, null, 2));
        out(`Identity provider ${created.name} added to tenant ${created.tenant} (id ${created.id}).`);
        printIdp(out, created);
      },
    );
  idp
    .command('list')
    .description('list identity providers with their aliases and certificates')
    .option('--tenant <domain>', 'only this tenant')
    .option('--json', 'print JSON')
    .action(async (o: { tenant?: string; json?: boolean }) => {
      const idps = await operate('idp.list', { tenant: o.tenant });
      if (o.json) return out(JSON.stringify(idps, null, 2));
      if (idps.length === 0) return out('No identity providers.');
      for (const i of idps) {
        out(`${i.name} (tenant ${i.tenant}, ${i.enabled ? 'enabled' : 'disabled'}, id ${i.id})`);
        printIdp(out, i);
        warn(i.warnings, `${i.name} (tenant ${i.tenant}): `);
      }
    });
  idp
    .command('remove')
    .description('delete an identity provider (its refresh tokens stop working)')
    .requiredOption('--name <issuer>', 'identity provider name')
    .option('--tenant <domain>', 'tenant domain', DEFAULT_TENANT)
    .action(async (o: { name: string; tenant: string }) => {
      await operate('idp.remove', { tenant: o.tenant, name: o.name });
      out(`Identity provider ${o.name} removed from tenant ${o.tenant}.`);
    });

  const cert = sub('cert').description("an identity provider's certificates");
  cert
    .command('add')
    .description('add a certificate (e.g. a successor, before the old one expires)')
    .requiredOption('--name <issuer>', 'identity provider name')
    .requiredOption('--cert <file>', 'certificate file, PEM or DER')
    .option('--kid <kid>', 'key id that assertions name in their header')
    .option('--tenant <domain>', 'tenant domain', DEFAULT_TENANT)
    .action(async (o: { name: string; cert: string; kid?: string; tenant: string }) => {
      const file = await readCert(o.cert);
      const added = await operate('cert.add', { tenant: o.tenant, name: o.name, kid: o.kid, ...file });
      out(
        `Certificate ${added.thumbprint} added to ${o.name} (${added.subject}, valid ${iso(added.notBefore)} to ${iso(added.notAfter)}).`,
      );
    });
  cert
    .command('remove')
    .description('remove a certificate, named by its thumbprint (x5t#S256) or id')
    .requiredOption('--name <issuer>', 'identity provider name')
    .requiredOption('--thumbprint <thumbprint>', 'certificate thumbprint or id, as `idp list` shows')
    .option('--tenant <domain>', 'tenant domain', DEFAULT_TENANT)
    .action(async (o: { name: string; thumbprint: string; tenant: string }) => {
      await operate('cert.remove', { tenant: o.tenant, name: o.name, certificate: o.thumbprint });
      out(`Certificate ${o.thumbprint} removed from ${o.name}.`);
    });
  idp.addCommand(cert);

  const rule = sub('rule').description(
    "an identity provider's trust rules: CEL conditions its assertions must meet (docs/workload-identity.md)",
  );
  rule
    .command('add')
    .description('add a trust rule; with enforced rules, an assertion is accepted only when one of them matches')
    .requiredOption('--idp <issuer>', 'identity provider name')
    .requiredOption('--name <name>', 'rule name (unique within the IdP; audited)')
    .requiredOption(
      '--condition <cel>',
      'CEL of type bool over claims, header and client, e.g. "claims.repository_owner_id == \'1342004\'"',
    )
    .option('--subject <cel>', 'CEL of type string: the subject handed to the host (default: claims.sub)')
    .option('--client <id>', 'a client that may present what the rule admits (repeatable; none: any client of the tenant)', collect, [])
    .option('--scope <scope>', 'a scope the rule allows (repeatable; none: no bound of its own)', collect, [])
    .option('--shadow', 'evaluate and report only, do not enforce')
    .option('--position <n>', 'evaluation order, ascending (default: after the last rule)')
    .option('--tenant <domain>', 'tenant domain', DEFAULT_TENANT)
    .option('--json', 'print the rule as JSON')
    .action(
      async (o: {
        idp: string;
        name: string;
        condition: string;
        subject?: string;
        client: string[];
        scope: string[];
        shadow?: boolean;
        position?: string;
        tenant: string;
        json?: boolean;
      }) => {
        if (o.position !== undefined && !/^\d{1,10}$/.test(o.position))
          throw new CliError('--position must be a whole number (0 or more).');
        const added = await operate('rule.add', {
          tenant: o.tenant,
          idp: o.idp,
          name: o.name,
          condition: o.condition,
          subject: o.subject,
          clients: o.client,
          scopes: o.scope.length > 0 ? o.scope : undefined,
          shadow: o.shadow,
          position: o.position === undefined ? undefined : Number(o.position),
        });
        warn(added.warnings);
        if (o.json) return out(JSON.stringify(added.rules, null, 2));
        out(`Trust rule ${added.rules.name} added to ${added.idp} (position ${added.rules.position}, ${added.rules.mode}).`);
      },
    );
  rule
    .command('list')
    .description("list an identity provider's trust rules in evaluation order")
    .requiredOption('--idp <issuer>', 'identity provider name')
    .option('--tenant <domain>', 'tenant domain', DEFAULT_TENANT)
    .option('--json', 'print JSON')
    .action(async (o: { idp: string; tenant: string; json?: boolean }) => {
      const listed = await operate('rule.list', { tenant: o.tenant, idp: o.idp });
      warn(listed.warnings);
      if (o.json) return out(JSON.stringify(listed.rules, null, 2));
      if (listed.rules.length === 0) return out(`No trust rules: ${listed.idp} admits every assertion that passes the other checks.`);
      listed.rules.forEach((r) => printRule(out, r));
    });
  rule
    .command('remove')
    .description('remove a trust rule (in force at once)')
    .requiredOption('--idp <issuer>', 'identity provider name')
    .requiredOption('--name <name>', 'rule name')
    .option('--tenant <domain>', 'tenant domain', DEFAULT_TENANT)
    .action(async (o: { idp: string; name: string; tenant: string }) => {
      await operate('rule.remove', { tenant: o.tenant, idp: o.idp, name: o.name });
      out(`Trust rule ${o.name} removed from ${o.idp}.`);
    });
  idp.addCommand(rule);
  program.addCommand(idp);

  program
    .command('mint')
    .description("sign an assertion (RFC 7523 §3) with an identity provider's private key, e.g. to test a registration")
    .requiredOption('--key <file>', 'PEM private key of the identity provider')
    .requiredOption('--iss <issuer>', 'issuer: the identity provider name')
    .requiredOption('--sub <subject>', 'subject (the user the token will speak for)')
    .option('--aud <audience>', 'audience: the token endpoint URL or an alias of it (repeatable, at least one)', collect, [])
    .option('--exp <seconds>', 'lifetime in seconds', '300')
    .option('--jti <id>', 'JWT ID (default: a random UUID)')
    .option('--kid <kid>', 'key id header')
    .option('--alg <alg>', "signing algorithm (default: the key's own, e.g. RS256 for an RSA key)")
    .option('--claim <name=value>', 'extra claim; value parsed as JSON when it can be (repeatable)', collect, [])
    .action(
      async (o: {
        sub: string;
        aud: string[];
        iss: string;
        exp: string;
        jti?: string;
        kid?: string;
        alg?: string;
        key: string;
        claim: string[];
      }) => {
        let privateKeyPem: string;
        try {
          privateKeyPem = await readFile(resolve(ctx.cwd, o.key), 'utf8');
        } catch {
          throw new CliError(`Cannot read the key file ${o.key}.`);
        }
        if (!/^\d+$/.test(o.exp)) throw new CliError('--exp must be a positive whole number of seconds.');
        if (o.aud.length === 0)
          throw new CliError('--aud <audience> is required: the token endpoint URL, or an alias by which the identity provider names it.');
        const assertion = await mintAssertion({
          privateKeyPem,
          iss: o.iss,
          sub: o.sub,
          aud: o.aud,
          expiresIn: Number(o.exp),
          jti: o.jti,
          kid: o.kid,
          alg: o.alg,
          claims: parseClaims(o.claim),
        });
        out(assertion);
      },
    );

  program
    .command('prune')
    .description('delete replay records of assertions that have expired')
    .action(async () => {
      const count = await operate('prune', {});
      out(`Pruned ${count} expired replay record${count === 1 ? '' : 's'}.`);
    });

  return program;
}

function parseClaims(pairs: string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--claim must be name=value; got ${JSON.stringify(pair)}.`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    claims[pair.slice(0, eq)] = value;
  }
  return claims;
}

function printIdp(out: (line?: string) => void, i: IdpSummary): void {
  out(`  aliases: ${i.aliases.length > 0 ? i.aliases.join(', ') : '(none: the server accepts its own token endpoint URL)'}`);
  if (i.jwksUri) out(`  jwks_uri: ${i.jwksUri}`);
  if (i.discoveryUrl) out(`  discovery: ${i.discoveryUrl}`);
  if (i.replayPolicy !== 'once') out(`  replay policy: ${i.replayPolicy}`);
  if (i.rules.length > 0) out(`  trust rules: ${i.rules.map((r) => (r.mode === 'shadow' ? `${r.name} (shadow)` : r.name)).join(', ')}`);
  if (i.certificates.length === 0) out('  certificates: (none)');
  for (const c of i.certificates) {
    const state = validityAt(c, Date.now()).replace(/_/g, ' ');
    out(`  certificate ${c.thumbprint} ${c.subject} ${iso(c.notBefore)}..${iso(c.notAfter)} (${state})${c.kid ? ` kid=${c.kid}` : ''}`);
  }
}

function printRule(out: (line?: string) => void, r: RuleSummary): void {
  out(`${r.position} ${r.name} (${r.mode})`);
  out(`  condition: ${r.condition}`);
  if (r.subject !== null) out(`  subject: ${r.subject}`);
  if (r.clients.length > 0) out(`  clients: ${r.clients.join(', ')}`);
  if (r.scopes !== null) out(`  scopes: ${r.scopes.length > 0 ? r.scopes.join(' ') : '(none)'}`);
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
