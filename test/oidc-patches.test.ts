import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { expect } from 'chai';

import { PATCHES, PATCHES_CHECKED_AGAINST } from '../lib/oidc/patches/index.js';

/**
 * orgconnect's patches of oidc-provider (lib/oidc/patches/) were checked against a list of
 * versions. Another version fails here, loudly: re-read each patched upstream file (named at the
 * top of each patch), then add the version to PATCHES_CHECKED_AGAINST.
 */
describe('oidc-provider patches', () => {
  const require = createRequire(import.meta.url);
  const root = dirname(dirname(require.resolve('oidc-provider')));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

  it(`were checked against the installed oidc-provider (${version})`, () => {
    expect(PATCHES_CHECKED_AGAINST as readonly string[], `oidc-provider ${version} is not among the versions the patches were checked against: ${PATCHES.join('; ')}`).to.include(version);
  });

  it('patch only what is still there upstream', () => {
    const source = (file: string) => readFileSync(join(root, 'lib', file), 'utf8');
    // hashed-client-secrets.ts replaces this method
    expect(source('models/client.js')).to.match(/compareClientSecret\(/);
    // jwt-access-token-endpoints.ts exists because of these two refusals
    expect(source('shared/reject_structured_tokens.js')).to.match(/UnsupportedTokenType|unsupported_token_type/);
    expect(source('actions/userinfo.js')).to.include('token audience prevents accessing the userinfo endpoint');
    // issue-refresh-token.ts restores offline_access after this step drops it
    expect(source('actions/authorization/scopes.js')).to.include("scopes.splice(scopes.indexOf('offline_access'), 1)");
  });
});
