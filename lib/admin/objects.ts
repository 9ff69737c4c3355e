import type { ListedApi } from '../apis/registry.js';
import type { Application } from '../apps/applications.js';
import type { ClientSecretInfo } from '../apps/client-secrets.js';
import type { AuthorizedApplication } from '../consents/consents.js';
import type { CreatedApplication, CreatedSecret } from '../apps/registry.js';

/**
 * The admin API's objects, as JSON. Each carries an `object` name (WorkOS-style); optional
 * fields are left out when unset, never null.
 */

type Defined<T> = { [K in keyof T]: Exclude<T[K], undefined> };

/** Drops undefined fields, so an object is the same from the memory store and through JSON. */
function defined<T extends object>(value: T): Defined<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Defined<T>;
}

export type ApplicationObject = { object: 'application' } & Application;
export type CreatedApplicationObject = ApplicationObject & { client_secret?: string };
export type ClientSecretObject = { object: 'client_secret' } & ClientSecretInfo;
export type CreatedClientSecretObject = ClientSecretObject & { secret: string };
export type AuthorizedApplicationObject = { object: 'authorized_application' } & AuthorizedApplication;
/** An API; `configured` when it comes from the configuration (read-only here). */
export type ApiObject = { object: 'api' } & ListedApi;

export function applicationObject(app: Application): ApplicationObject {
  return defined({ object: 'application', ...app }) as ApplicationObject;
}

/** A created application: with its first secret's plaintext, returned this once. */
export function createdApplicationObject({ client_secret, ...app }: CreatedApplication): CreatedApplicationObject {
  return { ...applicationObject(app), ...(client_secret ? { client_secret } : {}) };
}

export function clientSecretObject({ id, secret_hint, created_at, last_used_at }: ClientSecretInfo): ClientSecretObject {
  return defined({ object: 'client_secret', id, secret_hint, created_at, last_used_at }) as ClientSecretObject;
}

/** A created secret: with its plaintext, returned this once. */
export function createdClientSecretObject(created: CreatedSecret): CreatedClientSecretObject {
  return { ...clientSecretObject(created), secret: created.secret };
}

export function authorizedApplicationObject(item: AuthorizedApplication): AuthorizedApplicationObject {
  const { grant_id, client_id, name, organization_id, scopes, granted_at } = item;
  return defined({ object: 'authorized_application', grant_id, client_id, name, organization_id, scopes, granted_at }) as AuthorizedApplicationObject;
}

export function apiObject(api: ListedApi): ApiObject {
  const { id, identifier, name, scopes, access_token_ttl, configured } = api;
  return defined({ object: 'api', id, identifier, name, scopes: scopes.map((scope) => defined({ ...scope })), access_token_ttl, configured }) as ApiObject;
}
