import type Provider from 'oidc-provider';

import type { ApiRegistry } from './apis/registry.js';
import type { ApplicationRegistry } from './apps/registry.js';
import type { Audit } from './audit.js';
import type { Consents } from './consents/consents.js';
import type { Directory } from './accounts/directory.js';
import type { LoginThrottle } from './accounts/login-throttle.js';
import type { CurrentUser } from './accounts/host-session.js';
import type { GrantOrganizations } from './consents/grant-records.js';
import type { ResolvedOptions } from './options/options.js';
import type { Views } from './pages/views.js';
import type { Store } from './store/store.js';

/** What orgconnect's hooks and handlers share: built once in createProvider. */
export interface Runtime {
  options: ResolvedOptions;
  store: Store;
  directory: Directory;
  applications: ApplicationRegistry;
  /** The APIs (resource servers) access tokens are issued for. */
  apis: ApiRegistry;
  grantOrganizations: GrantOrganizations;
  views: Views;
  /** Users' remembered consents. */
  consents: Consents;
  /** Reports audit events. */
  audit: Audit;
  /** Failed-login limits, unless turned off. */
  loginThrottle?: LoginThrottle;
  /** The host app's signed-in user, when the host logs users in itself. */
  currentUser?: CurrentUser;
  /** Set once the oidc-provider instance exists (hooks run only after that). */
  provider: Provider;
}
