import { z } from 'zod';

import { notFound, unprocessable } from './errors.js';
import { parseBody } from './validation.js';

/** What the admin API needs to mint initial access tokens (dynamic registration with the `token` policy). */
export type MintInitialAccessToken = (options: { organizationId?: string; expiresIn?: number }) => Promise<{ token: string; expires_at: string }>;

export const createInitialAccessTokenBody = z
  .object({
    organization_id: z.string().min(1).optional().meta({ description: 'The organization that owns the apps registered with this token.' }),
    expires_in: z.number().int().min(60).max(30 * 24 * 3600).optional().meta({ description: 'Lifetime in seconds (default a day).' }),
  })
  .strict()
  .meta({ title: 'CreateInitialAccessToken' });

/** Initial access tokens for Dynamic Client Registration (RFC 7591 section 3), minted by the operator. */
export class RegistrationAdmin {
  constructor(
    readonly mint: MintInitialAccessToken | undefined,
    readonly organizationExists: (id: string) => Promise<boolean>,
  ) {}

  async createInitialAccessToken(body: unknown): Promise<{ object: 'initial_access_token'; token: string; expires_at: string; organization_id?: string }> {
    if (!this.mint) throw notFound('dynamic client registration with initial access tokens is off (registration.policy is not "token")');
    const { organization_id, expires_in } = parseBody(createInitialAccessTokenBody, body ?? {});
    if (organization_id && !(await this.organizationExists(organization_id))) throw unprocessable(`unknown organization_id "${organization_id}"`);
    const minted = await this.mint({ organizationId: organization_id, expiresIn: expires_in });
    return { object: 'initial_access_token', ...minted, ...(organization_id ? { organization_id } : {}) };
  }
}
