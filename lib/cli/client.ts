import type {
  ApiObject,
  ApplicationObject,
  AuthorizedApplicationObject,
  ClientSecretObject,
  CreatedApplicationObject,
  CreatedClientSecretObject,
  ListResponse,
  PageRequest,
} from '../admin/index.js';

/**
 * What the `apps`, `secrets` and `apis` commands need, whichever way they reach the applications: the
 * store directly (store-client.ts) or a running server's admin API (http-client.ts). Both
 * validate and answer the same way, and fail with an AdminError.
 */
export interface AdminClient {
  /** For messages: "redis://... (prefix orgconnect:)" or "http://localhost:3000". */
  readonly target: string;
  listApplications(page: PageRequest, filter?: { organization_id?: string }): Promise<ListResponse<ApplicationObject>>;
  getApplication(clientId: string): Promise<ApplicationObject>;
  createApplication(body: unknown): Promise<CreatedApplicationObject>;
  updateApplication(clientId: string, body: unknown): Promise<ApplicationObject>;
  deleteApplication(clientId: string): Promise<void>;
  listSecrets(clientId: string): Promise<ListResponse<ClientSecretObject>>;
  createSecret(clientId: string): Promise<CreatedClientSecretObject>;
  revokeSecret(clientId: string, secretId: string): Promise<void>;
  /** A user's authorized applications (remembered consents). */
  listAuthorizedApplications(userId: string): Promise<ListResponse<AuthorizedApplicationObject>>;
  /** Withdraws a user's consent to an app (one organization, or all): its tokens end. */
  revokeAuthorizedApplication(userId: string, clientId: string, organizationId?: string): Promise<void>;
  listApis(page: PageRequest): Promise<ListResponse<ApiObject>>;
  getApi(id: string): Promise<ApiObject>;
  createApi(body: unknown): Promise<ApiObject>;
  updateApi(id: string, body: unknown): Promise<ApiObject>;
  deleteApi(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Every application, following the cursor page after page. */
export async function listAllApplications(client: AdminClient, filter: { organization_id?: string } = {}): Promise<ApplicationObject[]> {
  const all: ApplicationObject[] = [];
  let after: string | undefined;
  do {
    const page = await client.listApplications(after === undefined ? { limit: 100 } : { limit: 100, after }, filter);
    all.push(...page.data);
    after = page.list_metadata.after ?? undefined;
  } while (after !== undefined);
  return all;
}

/** Every API, following the cursor page after page. */
export async function listAllApis(client: AdminClient): Promise<ApiObject[]> {
  const all: ApiObject[] = [];
  let after: string | undefined;
  do {
    const page = await client.listApis(after === undefined ? { limit: 100 } : { limit: 100, after });
    all.push(...page.data);
    after = page.list_metadata.after ?? undefined;
  } while (after !== undefined);
  return all;
}
