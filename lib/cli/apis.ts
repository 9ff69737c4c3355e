import { Option, type Command } from 'commander';

import { apiId, type ApiInput } from '../apis/apis.js';
import { action } from './actions.js';
import { listAllApis } from './client.js';
import { addConnectionOptions, UsageError } from './connection.js';
import { apiDetails, apiTable, json } from './format.js';
import type { CliIo } from './io.js';

/** `--scope a --scope b`: repeatable options collect into a list. */
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

interface ApiFlags {
  identifier?: string;
  name?: string;
  scope?: string[];
  accessTokenTtl?: string;
}

/** An API named by its id (`api_...`) or its identifier (an absolute URI, so it has a colon). */
export const apiIdArgument = (value: string) => (value.includes(':') ? apiId(value) : value);

/** `--scope NAME[=DESCRIPTION]` (repeatable); `--scope ""` alone: no scopes. */
function scopesOf(values: string[]): { name: string; description?: string }[] {
  if (values.length === 1 && values[0] === '') return [];
  return values.map((value) => {
    const at = value.indexOf('=');
    if (at === 0 || value === '') throw new UsageError(`--scope "${value}": give NAME or NAME=DESCRIPTION`);
    return at < 0 ? { name: value } : { name: value.slice(0, at), description: value.slice(at + 1) };
  });
}

function ttlOf(value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) throw new UsageError(`--access-token-ttl must be a number of seconds, got "${value}"`);
  return Number(value);
}

/** The admin API body of `apis create`. */
export function createApiBody(flags: ApiFlags): Record<string, unknown> {
  if (!flags.identifier) throw new UsageError('--identifier is required (the API\'s resource indicator, an absolute URI)');
  if (!flags.name) throw new UsageError('--name is required');
  const body: Record<string, unknown> = { identifier: flags.identifier, name: flags.name };
  if (flags.scope) body.scopes = scopesOf(flags.scope);
  if (flags.accessTokenTtl !== undefined) body.access_token_ttl = ttlOf(flags.accessTokenTtl);
  return body;
}

/** The admin API body of `apis update`: only the flags given; `--access-token-ttl ""` removes it. */
export function updateApiBody(flags: ApiFlags): Record<string, unknown> {
  if (flags.identifier !== undefined) throw new UsageError('--identifier cannot change: create another API');
  const body: Record<string, unknown> = {};
  if (flags.name !== undefined) body.name = flags.name;
  if (flags.scope) body.scopes = scopesOf(flags.scope);
  if (flags.accessTokenTtl !== undefined) body.access_token_ttl = flags.accessTokenTtl === '' ? null : ttlOf(flags.accessTokenTtl);
  if (Object.keys(body).length === 0) throw new UsageError('nothing to update: give --name, --scope or --access-token-ttl');
  return body;
}

/**
 * `npm start -- --api "https://mcp.example.com/mcp=mcp:tools,mcp:admin"`: an API from one flag,
 * `IDENTIFIER[=SCOPE,SCOPE...]` (split at the last `=`), named after the identifier's host.
 */
export function apiFromFlag(value: string): ApiInput {
  const at = value.lastIndexOf('=');
  const identifier = at < 0 ? value : value.slice(0, at);
  const scopes = at < 0 ? [] : value.slice(at + 1).split(',').map((s) => s.trim()).filter(Boolean);
  return { identifier, name: URL.parse(identifier)?.host || identifier, scopes: scopes.map((name) => ({ name })) };
}

function addApiFlags(command: Command, { update }: { update: boolean }): Command {
  return command
    .addOption(new Option('--identifier <uri>', "the API's resource indicator: an absolute URI, the tokens' aud (cannot change)"))
    .addOption(new Option('--name <name>', 'the name shown on the consent page'))
    .addOption(
      new Option('--scope <name[=description]>', `a scope and what it lets an app do, repeatable${update ? ' (replaces the list; --scope "" removes every scope)' : ''}`).argParser(collect),
    )
    .addOption(new Option('--access-token-ttl <seconds>', `lifetime of its access tokens${update ? ' ("" removes it: the provider\'s default)' : ''}`));
}

/** `orgconnect apis list|show|create|update|delete`: APIs (resource servers). */
export function registerApisCommand(program: Command, io: CliIo, configure: (command: Command) => Command): Command {
  const apis = configure(program.command('apis').description('manage APIs (resource servers): what clients request tokens for, and their scopes'));

  addConnectionOptions(apis.command('list').description('list APIs (configured ones too)')).action(
    action(io, () => async (client, out) => {
      const all = await listAllApis(client);
      io.stdout(out.json ? json(all) : apiTable(all));
    }),
  );

  addConnectionOptions(apis.command('show').description('show an API').argument('<id|identifier>')).action(
    action(io, ([id]) => async (client, out) => {
      const api = await client.getApi(apiIdArgument(id!));
      io.stdout(out.json ? json(api) : apiDetails(api));
    }),
  );

  addConnectionOptions(addApiFlags(apis.command('create').description('create an API: tokens may be requested for it at once'), { update: false })).action(
    action(io, (_args, command) => {
      const body = createApiBody(command.opts<ApiFlags>());
      return async (client, out) => {
        const api = await client.createApi(body);
        io.stdout(out.json ? json(api) : `created API ${api.id}\n\n${apiDetails(api)}`);
      };
    }),
  );

  addConnectionOptions(addApiFlags(apis.command('update').description('change an API (only the flags given)').argument('<id|identifier>'), { update: true })).action(
    action(io, ([id], command) => {
      const body = updateApiBody(command.opts<ApiFlags>());
      return async (client, out) => {
        const api = await client.updateApi(apiIdArgument(id!), body);
        io.stdout(out.json ? json(api) : `updated API ${api.id}\n\n${apiDetails(api)}`);
      };
    }),
  );

  addConnectionOptions(apis.command('delete').description('delete an API: its identifier is an unknown resource at once').argument('<id|identifier>')).action(
    action(io, ([id]) => async (client, out) => {
      const apiIdValue = apiIdArgument(id!);
      await client.deleteApi(apiIdValue);
      io.stdout(out.json ? json({ object: 'api', id: apiIdValue, deleted: true }) : `deleted API ${apiIdValue}\n`);
    }),
  );

  return apis;
}
