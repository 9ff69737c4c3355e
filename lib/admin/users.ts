import type { Consents } from '../consents/consents.js';
import type { Directory } from '../accounts/directory.js';
import { notFound } from './errors.js';
import { authorizedApplicationObject, type AuthorizedApplicationObject } from './objects.js';
import { paginate, type ListResponse, type PageRequest } from './pagination.js';

/**
 * A user's authorized applications (remembered consents). A user is known when the directory
 * finds them, or when consents of theirs remain (a user removed from the host app can still be
 * cleaned up).
 */
export class UserAdmin {
  constructor(
    readonly consents: Pick<Consents, 'list' | 'revoke'>,
    readonly directory: Pick<Directory, 'findUser'>,
  ) {}

  /** Ordered by grant id; the cursor is a grant id. */
  async listAuthorized(userId: string, page: PageRequest): Promise<ListResponse<AuthorizedApplicationObject>> {
    const authorized = await this.consents.list(userId);
    if (authorized.length === 0) await this.#known(userId);
    const listed = paginate(authorized, (item) => item.grant_id, page);
    return { ...listed, data: listed.data.map(authorizedApplicationObject) };
  }

  /** Withdraws the user's consent to an app (for one organization, or all of them). */
  async revokeAuthorized(userId: string, clientId: string, organizationId?: string): Promise<void> {
    const revoked = await this.consents.revoke(userId, clientId, organizationId);
    if (revoked > 0) return;
    await this.#known(userId);
    throw notFound(`user "${userId}" has not authorized application "${clientId}"${organizationId ? ` for organization "${organizationId}"` : ''}`);
  }

  async #known(userId: string): Promise<void> {
    if (!(await this.directory.findUser(userId))) throw notFound(`no user "${userId}"`);
  }
}
