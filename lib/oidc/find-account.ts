import type { Configuration } from 'oidc-provider';

import type { Directory } from '../accounts/directory.js';

/** Accounts come from the directory; claims are released by scope (profile, email). */
export function findAccount(directory: Pick<Directory, 'findUser'>): Configuration['findAccount'] {
  return async (_ctx, sub) => {
    const user = await directory.findUser(sub);
    if (!user) return undefined;
    return { accountId: user.id, claims: () => Object.assign({}, user, { id: undefined, sub: user.id }) };
  };
}

