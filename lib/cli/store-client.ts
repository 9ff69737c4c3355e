import { AdminError } from '../admin/errors.js';
import { ApiAdmin, ApplicationAdmin } from '../admin/index.js';
import { ApiRegistry } from '../apis/registry.js';
import { toAdminError } from '../admin/errors.js';
import { ApplicationRegistry } from '../apps/registry.js';
import { loadSeedFile } from '../options/seed.js';
import type { Store } from '../store/store.js';
import type { AdminClient } from './client.js';

export interface StoreClientOptions {
  /** a redis:// URL, or comma-separated cluster nodes (as `orgconnect start --redis`) */
  redis: string;
  prefix?: string;
  /** A seed file: its organizations are the only valid organization ids, its applications and APIs are listed too. */
  seed?: string;
  /** The issuer the apps are served by: an https issuer refuses plain-http redirect URIs. */
  issuer?: string;
}

/**
 * The applications in the store itself, through the same registry and validation as the admin
 * API. Without a directory, any organization id is accepted unless a seed file names the valid
 * ones; oidc-provider's own metadata checks run only on the server (`--server`).
 */
export async function openStoreClient(options: StoreClientOptions): Promise<AdminClient> {
  const seed = options.seed ? await loadSeedFile(options.seed) : undefined;
  const { RedisStore } = await import('../store/redis.js');
  const nodes = options.redis.split(',').map((n) => n.trim()).filter(Boolean);
  const store: Store = new RedisStore({ redis: nodes.length > 1 ? nodes : nodes[0]!, prefix: options.prefix });
  const organizations = seed && new Set(seed.organizations.map((o) => o.id));
  try {
    const registry = await ApplicationRegistry.open(
      store,
      { issuer: options.issuer ?? 'http://localhost', organizationExists: async (id) => organizations?.has(id) ?? true },
      seed?.applications ?? [],
    );
    const admin = new ApplicationAdmin(registry);
    // Only the seed's APIs are known here: those of a server's options (audience, resources, apis) are not.
    const apis = new ApiAdmin(new ApiRegistry(store, {}, seed?.apis ?? []));
    const call = async <T>(operation: () => Promise<T>): Promise<T> => {
      try {
        return await operation();
      } catch (error) {
        const { error: adminError, exposed } = toAdminError(error);
        throw exposed ? adminError : error;
      }
    };
    return {
      target: `${options.redis} (prefix ${options.prefix ?? 'orgconnect:'})`,
      listApplications: (page, filter) => call(() => admin.list(page, filter)),
      getApplication: (id) => call(() => admin.get(id)),
      createApplication: (body) => call(() => admin.create(body)),
      updateApplication: (id, body) => call(() => admin.update(id, body)),
      deleteApplication: (id) => call(() => admin.delete(id)),
      listSecrets: (id) => call(() => admin.listSecrets(id)),
      createSecret: (id) => call(() => admin.createSecret(id)),
      revokeSecret: (id, secretId) => call(() => admin.revokeSecret(id, secretId)),
      // Consents live in grants that only a provider can read and end: ask a running server.
      listAuthorizedApplications: () => Promise.reject(consentsNeedServer()),
      revokeAuthorizedApplication: () => Promise.reject(consentsNeedServer()),
      listApis: (page) => call(() => apis.list(page)),
      getApi: (id) => call(() => apis.get(id)),
      createApi: (body) => call(() => apis.create(body)),
      updateApi: (id, body) => call(() => apis.update(id, body)),
      deleteApi: (id) => call(() => apis.delete(id)),
      close: () => store.close(),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

function consentsNeedServer(): AdminError {
  return new AdminError(400, 'invalid_request', 'consents are managed through a running provider: use --server URL --admin-token TOKEN');
}
