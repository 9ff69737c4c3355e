import type { ApplicationInput } from '../apps/applications.js';
import type { ApplicationRegistry, ApplicationUpdate } from '../apps/registry.js';
import { badRequest, notFound } from './errors.js';
import {
  applicationObject,
  clientSecretObject,
  createdApplicationObject,
  createdClientSecretObject,
  type ApplicationObject,
  type ClientSecretObject,
  type CreatedApplicationObject,
  type CreatedClientSecretObject,
} from './objects.js';
import { paginate, type ListResponse, type PageRequest } from './pagination.js';
import { createApplicationBody, createSecretBody, parseBody, READ_ONLY_FIELDS, updateApplicationBody } from './validation.js';

/**
 * Applications and their client secrets, as the admin API (and the CLI) manage them. Bodies are
 * validated here, so the HTTP layer and `orgconnect apps --redis` refuse the same input the same way.
 * Unknown ids are 404s; what the registry refuses (ApplicationError) becomes a 422 upstream.
 */
export class ApplicationAdmin {
  constructor(readonly registry: ApplicationRegistry) {}

  async list(page: PageRequest, filter: { organization_id?: string } = {}): Promise<ListResponse<ApplicationObject>> {
    const apps = await this.registry.list();
    const selected = filter.organization_id === undefined ? apps : apps.filter((app) => app.organization_id === filter.organization_id);
    const listed = paginate(selected, (app) => app.client_id, page);
    return { ...listed, data: listed.data.map(applicationObject) };
  }

  async get(clientId: string): Promise<ApplicationObject> {
    return (await this.getVersioned(clientId)).object;
  }

  /** The application and its version: the HTTP layer's `ETag`. */
  async getVersioned(clientId: string): Promise<{ object: ApplicationObject; version: number }> {
    if (clientId === '') throw badRequest('an application id is required');
    const found = await this.registry.getVersioned(clientId);
    if (!found) throw notFound(`no application "${clientId}"`);
    return { object: applicationObject(found.application), version: found.version };
  }

  async create(body: unknown): Promise<CreatedApplicationObject> {
    // The registry refuses what is well-formed but incomplete (an M2M app without organization: 422).
    const input = parseBody(createApplicationBody, body) as ApplicationInput;
    return createdApplicationObject(await this.registry.create(input));
  }

  /** A partial update (PUT and PATCH alike); `null` removes an optional field. */
  async update(clientId: string, body: unknown): Promise<ApplicationObject> {
    return (await this.updateVersioned(clientId, body)).object;
  }

  /**
   * The same, applied only to `ifVersion` when given (`If-Match`: 412 when the application has
   * changed since). Without it the change is applied to the current record: a concurrent change
   * of other fields is kept, never undone.
   */
  async updateVersioned(clientId: string, body: unknown, ifVersion?: number): Promise<{ object: ApplicationObject; version: number }> {
    const parsed = parseBody(updateApplicationBody, body, READ_ONLY_FIELDS);
    await this.#find(clientId);
    const changes = Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, value ?? undefined])) as ApplicationUpdate;
    const updated = await this.registry.update(clientId, changes, ifVersion);
    return { object: applicationObject(updated.application), version: updated.version };
  }

  async delete(clientId: string): Promise<void> {
    if (!(await this.registry.delete(clientId))) throw notFound(`no application "${clientId}"`);
  }

  /** A public app has no secrets: its list is empty. */
  async listSecrets(clientId: string): Promise<ListResponse<ClientSecretObject>> {
    const app = await this.#find(clientId);
    const secrets = isPublic(app) ? [] : await this.registry.listSecrets(clientId);
    return { object: 'list', data: secrets.map(clientSecretObject), list_metadata: { after: null } };
  }

  async createSecret(clientId: string, body: unknown = {}): Promise<CreatedClientSecretObject> {
    parseBody(createSecretBody, body);
    await this.#find(clientId);
    return createdClientSecretObject(await this.registry.createSecret(clientId));
  }

  async revokeSecret(clientId: string, secretId: string): Promise<void> {
    const app = await this.#find(clientId);
    if (isPublic(app) || !(await this.registry.revokeSecret(clientId, secretId))) {
      throw notFound(`no client secret "${secretId}" for application "${clientId}"`);
    }
  }

  async #find(clientId: string) {
    if (clientId === '') throw badRequest('an application id is required');
    const app = await this.registry.get(clientId);
    if (!app) throw notFound(`no application "${clientId}"`);
    return app;
  }
}

function isPublic(app: { application_type: string; is_public?: boolean }): boolean {
  return app.application_type === 'oauth' && app.is_public === true;
}
