import type { ApiInput } from '../apis/apis.js';
import type { ApiRegistry, ApiUpdate } from '../apis/registry.js';
import { badRequest, notFound } from './errors.js';
import { apiObject, type ApiObject } from './objects.js';
import { paginate, type ListResponse, type PageRequest } from './pagination.js';
import { API_READ_ONLY_FIELDS, createApiBody, parseBody, updateApiBody } from './validation.js';

/**
 * APIs (resource servers), as the admin API (and the CLI) manage them. Bodies are validated here
 * (400); what the registry refuses (ApiError: a bad identifier, one already taken, a configured
 * API) becomes a 422 upstream; unknown ids are 404s.
 */
export class ApiAdmin {
  constructor(readonly registry: ApiRegistry) {}

  async list(page: PageRequest): Promise<ListResponse<ApiObject>> {
    const listed = paginate(await this.registry.list(), (api) => api.id, page);
    return { ...listed, data: listed.data.map(apiObject) };
  }

  async get(id: string): Promise<ApiObject> {
    return (await this.getVersioned(id)).object;
  }

  /** The API and its version: the HTTP layer's `ETag`. */
  async getVersioned(id: string): Promise<{ object: ApiObject; version: number }> {
    if (id === '') throw badRequest('an API id is required');
    const found = await this.registry.getVersioned(id);
    if (!found) throw notFound(`no API "${id}"`);
    return { object: apiObject(found.api), version: found.version };
  }

  async create(body: unknown): Promise<ApiObject> {
    const input = parseBody(createApiBody, body) as ApiInput;
    return apiObject(await this.registry.create(input));
  }

  async update(id: string, body: unknown): Promise<ApiObject> {
    return (await this.updateVersioned(id, body)).object;
  }

  /**
   * A partial update; `null` removes access_token_ttl, `scopes` replaces the list. With
   * `ifVersion` (`If-Match`), applied only to that version (412 otherwise).
   */
  async updateVersioned(id: string, body: unknown, ifVersion?: number): Promise<{ object: ApiObject; version: number }> {
    const parsed = parseBody(updateApiBody, body, API_READ_ONLY_FIELDS);
    await this.getVersioned(id);
    const changes = Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, value ?? undefined])) as ApiUpdate;
    const updated = await this.registry.update(id, changes, ifVersion);
    return { object: apiObject(updated.api), version: updated.version };
  }

  async delete(id: string): Promise<void> {
    await this.getVersioned(id);
    if (!(await this.registry.delete(id))) throw notFound(`no API "${id}"`);
  }
}
