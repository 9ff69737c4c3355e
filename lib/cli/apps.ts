import { Option, type Command } from 'commander';

import { action } from './actions.js';
import { listAllApplications } from './client.js';
import { addConnectionOptions, UsageError } from './connection.js';
import { applicationDetails, applicationTable, json, plaintextSecret, STORE_IT_NOW } from './format.js';
import type { CliIo } from './io.js';

/** `--scope a --scope b`: repeatable options collect into a list. */
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

interface AppFlags {
  name?: string;
  type?: 'oauth' | 'm2m';
  firstParty?: boolean;
  thirdParty?: boolean;
  public?: boolean;
  organization?: string;
  redirectUri?: string[];
  postLogoutRedirectUri?: string[];
  logoUri?: string;
  logoUriDark?: string;
  backchannelLogoutUri?: string;
  scope?: string[];
  resourceServerAudience?: string[];
  description?: string;
}

/** The application flags shared by `create` and `update`. */
function addApplicationFlags(command: Command, { update }: { update: boolean }): Command {
  const clears = update ? ' ("" removes it)' : '';
  command
    .addOption(new Option('--name <name>', 'the name shown on the consent screen'))
    .addOption(new Option('--first-party', 'first-party: no consent screen (OAuth apps)').conflicts('thirdParty'))
    .addOption(new Option('--third-party', 'third-party: users consent; needs --organization (OAuth apps)'))
    .addOption(new Option('--organization <id>', `the owning organization (third-party and M2M apps)${clears}`))
    .addOption(new Option('--redirect-uri <uri>', `a redirect URI, repeatable${update ? ' (replaces the list)' : ''}`).argParser(collect))
    .addOption(new Option('--post-logout-redirect-uri <uri>', 'a post-logout redirect URI, repeatable').argParser(collect))
    .addOption(new Option('--logo-uri <url>', `logo on the consent screen${clears}`))
    .addOption(new Option('--logo-uri-dark <url>', `logo in dark mode${clears}`))
    .addOption(new Option('--backchannel-logout-uri <url>', `where a logout token is posted when the user signs out${clears}`))
    .addOption(new Option('--scope <scope>', `a scope the app may request, repeatable${update ? ' (replaces the list; --scope "" removes it)' : ''}`).argParser(collect))
    .addOption(
      new Option(
        '--resource-server-audience <uri>',
        `make the app a resource server (an API) that may introspect access tokens for this audience, repeatable${update ? ' (replaces the list; --resource-server-audience "" removes it)' : ''}`,
      ).argParser(collect),
    )
    .addOption(new Option('--description <text>', `free text for administrators${clears}`));
  return command;
}

/** The admin API body of `apps create`. Flags that do not fit the type are usage errors. */
export function createBody(flags: AppFlags): Record<string, unknown> {
  const type = flags.type ?? 'oauth';
  if (!flags.name) throw new UsageError('--name is required');
  const body: Record<string, unknown> = { application_type: type, name: flags.name };
  if (flags.description !== undefined) body.description = flags.description;
  if (flags.organization !== undefined) body.organization_id = flags.organization;
  if (flags.scope) body.scopes = flags.scope;
  if (flags.resourceServerAudience) body.resource_server = { audiences: flags.resourceServerAudience };
  if (type === 'm2m') {
    const oauthOnly = (
      [
        ['--first-party', flags.firstParty],
        ['--third-party', flags.thirdParty],
        ['--public', flags.public],
        ['--redirect-uri', flags.redirectUri],
        ['--post-logout-redirect-uri', flags.postLogoutRedirectUri],
        ['--logo-uri', flags.logoUri],
        ['--logo-uri-dark', flags.logoUriDark],
        ['--backchannel-logout-uri', flags.backchannelLogoutUri],
      ] as const
    ).filter(([, value]) => value !== undefined);
    if (oauthOnly.length) throw new UsageError(`${oauthOnly.map(([flag]) => flag).join(', ')}: only for --type oauth`);
    if (flags.organization === undefined) throw new UsageError('--organization is required for --type m2m');
    return body;
  }
  if (!flags.redirectUri?.length) throw new UsageError('--redirect-uri is required for --type oauth (repeat it for several)');
  body.is_first_party = flags.thirdParty !== true;
  if (flags.public) body.is_public = true;
  body.redirect_uris = flags.redirectUri;
  if (flags.postLogoutRedirectUri) body.post_logout_redirect_uris = flags.postLogoutRedirectUri;
  if (flags.logoUri !== undefined) body.logo_uri = flags.logoUri;
  if (flags.logoUriDark !== undefined) body.logo_uri_dark = flags.logoUriDark;
  if (flags.backchannelLogoutUri !== undefined) body.backchannel_logout_uri = flags.backchannelLogoutUri;
  return body;
}

/** The admin API body of `apps update`: only the flags given; "" removes an optional field. */
export function updateBody(flags: AppFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const orNull = (value: string) => (value === '' ? null : value);
  if (flags.name !== undefined) body.name = flags.name;
  if (flags.firstParty) body.is_first_party = true;
  if (flags.thirdParty) body.is_first_party = false;
  if (flags.description !== undefined) body.description = orNull(flags.description);
  if (flags.organization !== undefined) body.organization_id = orNull(flags.organization);
  if (flags.redirectUri) body.redirect_uris = flags.redirectUri;
  if (flags.postLogoutRedirectUri) body.post_logout_redirect_uris = flags.postLogoutRedirectUri;
  if (flags.logoUri !== undefined) body.logo_uri = orNull(flags.logoUri);
  if (flags.logoUriDark !== undefined) body.logo_uri_dark = orNull(flags.logoUriDark);
  if (flags.backchannelLogoutUri !== undefined) body.backchannel_logout_uri = orNull(flags.backchannelLogoutUri);
  if (flags.scope) body.scopes = flags.scope.length === 1 && flags.scope[0] === '' ? null : flags.scope;
  if (flags.resourceServerAudience) {
    const audiences = flags.resourceServerAudience;
    body.resource_server = audiences.length === 1 && audiences[0] === '' ? null : { audiences };
  }
  if (Object.keys(body).length === 0) throw new UsageError('nothing to update: give at least one of the application flags');
  return body;
}

/** `orgconnect apps create|list|show|update|delete`. */
export function registerAppsCommand(program: Command, io: CliIo, configure: (command: Command) => Command): Command {
  const apps = configure(program.command('apps').description('manage applications (OAuth and M2M)'));

  addConnectionOptions(
    apps
      .command('list')
      .description('list applications')
      .addOption(new Option('--organization <id>', "only this organization's applications")),
  ).action(
    action(io, (_args, command) => {
      const { organization, json: asJson } = command.opts<{ organization?: string; json?: boolean }>();
      return async (client) => {
        const all = await listAllApplications(client, organization === undefined ? {} : { organization_id: organization });
        io.stdout(asJson ? json(all) : applicationTable(all));
      };
    }),
  );

  addConnectionOptions(apps.command('show').description('show an application').argument('<client_id>')).action(
    action(io, ([clientId]) => async (client, out) => {
      const app = await client.getApplication(clientId!);
      io.stdout(out.json ? json(app) : applicationDetails(app));
    }),
  );

  addConnectionOptions(
    addApplicationFlags(
      apps
        .command('create')
        .description('create an application; prints its client secret once')
        .addOption(new Option('--type <type>', 'oauth (users sign in) or m2m (client_credentials)').choices(['oauth', 'm2m']).default('oauth'))
        .addOption(new Option('--public', 'a public OAuth app (CLI, mobile, SPA): no secret, PKCE required')),
      { update: false },
    ),
  ).action(
    action(io, (_args, command) => {
      const body = createBody(command.opts<AppFlags>());
      return async (client, out) => {
        const created = await client.createApplication(body);
        if (out.json) {
          io.stdout(json(created));
          if (created.client_secret) io.stderr(`${STORE_IT_NOW}\n`);
          return;
        }
        const { client_secret, ...app } = created;
        io.stdout(`created application ${app.client_id}\n\n${applicationDetails(app)}`);
        if (client_secret) io.stdout(plaintextSecret('client_secret', client_secret));
      };
    }),
  );

  addConnectionOptions(
    addApplicationFlags(apps.command('update').description('change an application (only the flags given)').argument('<client_id>'), { update: true }),
  ).action(
    action(io, ([clientId], command) => {
      const body = updateBody(command.opts<AppFlags>());
      return async (client, out) => {
        const app = await client.updateApplication(clientId!, body);
        io.stdout(out.json ? json(app) : `updated application ${app.client_id}\n\n${applicationDetails(app)}`);
      };
    }),
  );

  addConnectionOptions(apps.command('delete').description('delete an application: its tokens stop working at once').argument('<client_id>')).action(
    action(io, ([clientId]) => async (client, out) => {
      await client.deleteApplication(clientId!);
      io.stdout(out.json ? json({ object: 'application', client_id: clientId, deleted: true }) : `deleted application ${clientId}\n`);
    }),
  );

  return apps;
}
