import { AdminError } from '../admin/errors.js';
import { OrgconnectError } from '../errors.js';
import type { AdminClient } from './client.js';

const TIMEOUT_MS = 15_000;

/** A running server's admin API (`--server URL --admin-token TOKEN`). */
export function openHttpClient({ server, token }: { server: string; token: string }): AdminClient {
  const base = server.replace(/\/+$/, '');
  const path = (...segments: string[]) => `/admin/${segments.map(encodeURIComponent).join('/')}`;

  async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new OrgconnectError(`cannot reach ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await response.text();
    if (response.status === 204) return undefined as T;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new OrgconnectError(`unexpected answer from ${base}${url}: HTTP ${response.status}, not JSON`);
    }
    if (response.ok) return json as T;
    const error = typeof json.error === 'string' ? json.error : 'error';
    const description = typeof json.error_description === 'string' ? json.error_description : `HTTP ${response.status}`;
    // A 404 may come from a server whose admin API is off: its document is missing too.
    if (response.status === 404 && !(await hasAdminApi())) {
      throw new AdminError(404, 'not_found', `${base} has no admin API (start it with --admin-token or ORGCONNECT_ADMIN_TOKEN)`);
    }
    if (response.status === 401) throw new AdminError(401, error, `${description} (check --admin-token or ORGCONNECT_ADMIN_TOKEN)`);
    throw new AdminError(response.status, error, description);
  }

  async function hasAdminApi(): Promise<boolean> {
    const response = await fetch(`${base}/admin/openapi.json`, { signal: AbortSignal.timeout(TIMEOUT_MS) }).catch(() => undefined);
    await response?.body?.cancel();
    return response?.status === 200;
  }

  return {
    target: base,
    listApplications: (page, filter = {}) => {
      const query = new URLSearchParams({ limit: String(page.limit) });
      if (page.after !== undefined) query.set('after', page.after);
      if (filter.organization_id !== undefined) query.set('organization_id', filter.organization_id);
      return request('GET', `${path('applications')}?${query}`);
    },
    getApplication: (id) => request('GET', path('applications', id)),
    createApplication: (body) => request('POST', path('applications'), body),
    updateApplication: (id, body) => request('PATCH', path('applications', id), body),
    deleteApplication: (id) => request('DELETE', path('applications', id)),
    listSecrets: (id) => request('GET', path('applications', id, 'client_secrets')),
    createSecret: (id) => request('POST', path('applications', id, 'client_secrets'), {}),
    revokeSecret: (id, secretId) => request('DELETE', path('applications', id, 'client_secrets', secretId)),
    listAuthorizedApplications: (userId) => request('GET', `${path('users', userId, 'authorized_applications')}?limit=100`),
    revokeAuthorizedApplication: (userId, clientId, organizationId) => {
      const query = organizationId === undefined ? '' : `?${new URLSearchParams({ organization_id: organizationId })}`;
      return request('DELETE', `${path('users', userId, 'authorized_applications', clientId)}${query}`);
    },
    listApis: (page) => {
      const query = new URLSearchParams({ limit: String(page.limit) });
      if (page.after !== undefined) query.set('after', page.after);
      return request('GET', `${path('apis')}?${query}`);
    },
    getApi: (id) => request('GET', path('apis', id)),
    createApi: (body) => request('POST', path('apis'), body),
    updateApi: (id, body) => request('PATCH', path('apis', id), body),
    deleteApi: (id) => request('DELETE', path('apis', id)),
    close: async () => {},
  };
}
