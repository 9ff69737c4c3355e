import type { ApiObject, ApplicationObject, ClientSecretObject } from '../admin/index.js';

/** Human output of the admin commands: aligned tables and `key: value` blocks. */

export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

function block(title: string, fields: [string, string | undefined][]): string {
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '');
  const width = Math.max(...shown.map(([key]) => key.length)) + 1;
  return [title, ...shown.map(([key, value]) => `  ${`${key}:`.padEnd(width)}  ${value}`)].join('\n') + '\n';
}

/** "oauth, first-party, confidential", "oauth, third-party, public (PKCE)", "m2m". */
export function applicationKind(app: ApplicationObject): string {
  if (app.application_type === 'm2m') return 'm2m';
  return ['oauth', app.is_first_party ? 'first-party' : 'third-party', app.is_public ? 'public (PKCE)' : 'confidential'].join(', ');
}

export function applicationTable(apps: ApplicationObject[]): string {
  if (apps.length === 0) return 'no applications\n';
  return table(
    ['CLIENT_ID', 'NAME', 'TYPE', 'ORGANIZATION'],
    apps.map((app) => [app.client_id, app.name, applicationKind(app), app.organization_id ?? '-']),
  );
}

export function applicationDetails(app: ApplicationObject): string {
  const oauth = app.application_type === 'oauth' ? app : undefined;
  return block(app.name, [
    ['client_id', app.client_id],
    ['type', applicationKind(app)],
    ['organization', app.organization_id],
    ['description', app.description],
    ['redirect_uris', oauth?.redirect_uris.join(' ')],
    ['post_logout_redirect_uris', oauth?.post_logout_redirect_uris?.join(' ')],
    ['logo_uri', oauth?.logo_uri],
    ['logo_uri_dark', oauth?.logo_uri_dark],
    ['scopes', app.scopes?.join(' ')],
    ['resource_server', app.resource_server && `introspects access tokens for ${app.resource_server.audiences.join(' ')}`],
  ]);
}

export function apiTable(apis: ApiObject[]): string {
  if (apis.length === 0) return 'no APIs\n';
  return table(
    ['ID', 'IDENTIFIER', 'NAME', 'SCOPES'],
    apis.map((api) => [api.id, api.identifier, `${api.name}${api.configured ? ' (configured)' : ''}`, api.scopes.map((s) => s.name).join(' ') || '-']),
  );
}

export function apiDetails(api: ApiObject): string {
  return block(api.name, [
    ['id', api.id],
    ['identifier', api.identifier],
    ['access_token_ttl', api.access_token_ttl === undefined ? undefined : `${api.access_token_ttl}s`],
    ['configured', api.configured ? 'yes (seed or options): read-only here' : undefined],
    ...api.scopes.map((scope): [string, string] => [`scope ${scope.name}`, scope.description ?? '-']),
  ]);
}

export function secretTable(secrets: ClientSecretObject[]): string {
  if (secrets.length === 0) return 'no client secrets\n';
  return table(
    ['SECRET_ID', 'HINT', 'CREATED', 'LAST_USED'],
    secrets.map((s) => [s.id, `...${s.secret_hint}`, s.created_at, s.last_used_at ?? 'never']),
  );
}

export const STORE_IT_NOW = 'Store this secret now: it is shown only once and cannot be retrieved again.';

/** The plaintext of a new secret, with the note that it is shown once. */
export function plaintextSecret(label: string, secret: string): string {
  return `\n  ${label}: ${secret}\n\n${STORE_IT_NOW}\n`;
}

export const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
