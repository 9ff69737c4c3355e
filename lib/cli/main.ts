#!/usr/bin/env node
import { join } from 'node:path';

import { Command, InvalidArgumentError, Option } from 'commander';

import { createProvider, type OrgconnectProvider } from '../index.js';
import { loadJwksFile, normalizeJwks } from '../options/keys.js';
import { packageRoot } from '../package-root.js';
import { loadSeedFile, type Seed } from '../options/seed.js';
import type { ApiInput } from '../apis/apis.js';
import { OptionsError, OrgconnectError } from '../errors.js';
import { apiFromFlag } from './apis.js';
import { registerAdminCommands } from './index.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

interface StartOptions {
  port: number;
  host: string;
  issuer?: string;
  seed: string;
  jwks?: string;
  redis?: string;
  redisPrefix?: string;
  adminToken?: string;
  registration?: 'off' | 'open' | 'token';
  cimd?: 'on' | 'off';
  /** `IDENTIFIER[=SCOPE,SCOPE]` values (several per value, space-separated, from ORGCONNECT_APIS). */
  api?: string[];
}

/** `--jwks FILE` / `JWKS_FILE`, or the JWKS itself in the `JWKS` environment variable (for secret stores). */
async function signingKeys(file: string | undefined) {
  if (file) return { jwks: await loadJwksFile(file) };
  const inline = process.env.JWKS;
  if (!inline) return undefined;
  try {
    return { jwks: await normalizeJwks(JSON.parse(inline), 'JWKS (environment)') };
  } catch (error) {
    if (error instanceof SyntaxError) throw new OptionsError('JWKS (environment) is not valid JSON');
    throw error;
  }
}

/** `--redis`: one redis:// URL, or a comma-separated list of cluster nodes (host:port or URLs). */
function redisStore(value: string | undefined, prefix: string | undefined) {
  if (!value) return undefined;
  const nodes = value.split(',').map((n) => n.trim()).filter(Boolean);
  return { redis: nodes.length > 1 ? nodes : nodes[0]!, prefix };
}

/** What a developer needs to point an app at the local provider. */
function describe(orgconnect: OrgconnectProvider, seed: Seed, seedPath: string, extraApis: ApiInput[]): string {
  const lines = [
    `orgconnect is running`,
    `  issuer:    ${orgconnect.issuer}`,
    `  discovery: ${orgconnect.issuer}/.well-known/openid-configuration`,
    `  seed:      ${seedPath}`,
    `  store:     ${orgconnect.store.kind}`,
    '',
    'applications:',
  ];
  for (const app of seed.applications) {
    const kind = app.application_type === 'm2m' ? 'M2M' : `${app.is_first_party ? 'first-party' : 'third-party'}${app.is_public ? ', public (PKCE)' : ''}`;
    lines.push(`  ${app.name} [${kind}]`, `    client_id:     ${app.client_id}`);
    if (app.client_secret) lines.push(`    client_secret: ${app.client_secret}`);
    if (app.application_type === 'oauth') lines.push(`    redirect_uris: ${app.redirect_uris.join(' ')}`);
    if (app.organization_id) lines.push(`    organization:  ${app.organization_id}`);
  }
  const apis = [...seed.apis, ...extraApis];
  if (apis.length) {
    lines.push('', 'apis (request tokens with resource=<identifier>):');
    for (const api of apis) lines.push(`  ${api.identifier}  ${api.name}  [${(api.scopes ?? []).map((s) => s.name).join(' ') || 'no scopes'}]`);
  }
  lines.push('', `users (passwords in ${seedPath}):`);
  for (const user of seed.users) lines.push(`  ${user.email}  ${user.organizations?.length ? `[${user.organizations.join(', ')}]` : '[no organization]'}`);
  return lines.join('\n');
}

async function start(opts: StartOptions): Promise<void> {
  const issuer = opts.issuer || `http://localhost:${opts.port}`;
  const seed = await loadSeedFile(opts.seed);
  const cookieKeys = process.env.COOKIE_KEYS?.split(',').map((k) => k.trim()).filter(Boolean);
  const apis = (opts.api ?? []).flatMap((value) => value.split(/\s+/)).filter(Boolean).map(apiFromFlag);
  const orgconnect = await createProvider({
    issuer,
    seed,
    apis,
    store: redisStore(opts.redis, opts.redisPrefix),
    audit: { log: true },
    admin: opts.adminToken ? { token: opts.adminToken } : undefined,
    // Unset: open registration and metadata documents in development (a loopback issuer), off otherwise.
    registration: opts.registration ? { policy: opts.registration } : undefined,
    clientIdMetadataDocument: opts.cimd ? { enabled: opts.cimd === 'on' } : undefined,
    keys: await signingKeys(opts.jwks),
    cookies: cookieKeys?.length ? { keys: cookieKeys } : undefined,
  });
  await orgconnect.listen(opts.port, opts.host);
  console.log(describe(orgconnect, seed, opts.seed, apis));
  const { registration, clientIdMetadataDocument } = orgconnect.settings;
  console.log(`\nclients without pre-registration: dynamic registration ${registration === 'off' ? 'off' : `${registration} (${orgconnect.issuer}/oauth2/register)`}, client ID metadata documents ${clientIdMetadataDocument ? 'on' : 'off'}`);
  if (opts.adminToken) console.log(`\nadmin API: ${orgconnect.issuer}/admin (OpenAPI: ${orgconnect.issuer}/admin/openapi.json)`);
  if (orgconnect.settings.signing.generated) {
    console.warn(`\nwarning: signing keys were generated (dev only${opts.redis ? ', shared through Redis' : ''}); pass --jwks FILE in production`);
  }

  const stop = async () => {
    await orgconnect.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** An environment variable set to an empty string means "not set" (a cleared variable in a shell or CI). */
function dropEmptyEnvironment(): void {
  for (const name of ['PORT', 'HOST', 'ISSUER', 'SEED_FILE', 'JWKS_FILE', 'JWKS', 'COOKIE_KEYS', 'REDIS_URL', 'REDIS_PREFIX', 'ORGCONNECT_ADMIN_TOKEN', 'ORGCONNECT_REGISTRATION', 'ORGCONNECT_CIMD', 'ORGCONNECT_APIS']) {
    if (process.env[name] === '') delete process.env[name];
  }
}

export function cli(): Command {
  dropEmptyEnvironment();
  const program = new Command('orgconnect').description('An OAuth 2.0 / OpenID Connect provider with organizations');
  program
    .command('start', { isDefault: true })
    .description('start a local provider (embedded in-memory store)')
    .addOption(new Option('-p, --port <port>', 'port to listen on').env('PORT').default(3000).argParser(port))
    .addOption(new Option('--host <host>', 'address to listen on').env('HOST').default('127.0.0.1'))
    .addOption(new Option('--issuer <url>', 'issuer URL (default http://localhost:<port>)').env('ISSUER'))
    .addOption(new Option('--seed <file>', 'seed file: organizations, users, applications').env('SEED_FILE').default(join(packageRoot, 'fixtures', 'demo.json')))
    .addOption(new Option('--jwks <file>', 'private JWKS to sign with (default: generated)').env('JWKS_FILE'))
    .addOption(new Option('--redis <url>', 'Redis store: a redis:// URL, or comma-separated cluster nodes (default: in-memory)').env('REDIS_URL'))
    .addOption(new Option('--redis-prefix <prefix>', 'key prefix, so several issuers can share one Redis').env('REDIS_PREFIX'))
    .addOption(new Option('--registration <policy>', 'dynamic client registration: off, open or token (default: open on a loopback issuer, else off)').choices(['off', 'open', 'token']).env('ORGCONNECT_REGISTRATION'))
    .addOption(new Option('--cimd <on|off>', 'client ID metadata documents (default: on on a loopback issuer, else off)').choices(['on', 'off']).env('ORGCONNECT_CIMD'))
    .addOption(new Option('--admin-token <token>', 'enable the admin API (/admin) with this bearer token (32+ characters)').env('ORGCONNECT_ADMIN_TOKEN'))
    .addOption(
      new Option('--api <identifier=scopes>', 'an API (resource server): its identifier (the tokens\' aud) and comma-separated scopes, e.g. https://mcp.example.com/mcp=mcp:tools,mcp:admin; repeatable')
        .env('ORGCONNECT_APIS')
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .action(start);
  registerAdminCommands(program);
  return program;
}

cli()
  .parseAsync()
  .catch((error: unknown) => {
    // A message, never a stack trace: CLI users are not debugging orgconnect.
    console.error(`orgconnect: ${error instanceof OrgconnectError || error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
