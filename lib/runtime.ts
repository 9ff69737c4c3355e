import type Provider from 'oidc-provider';

import type { ApplicationRegistry } from './registry.js';
import type { Audit } from './audit.js';
import type { Consents } from './consents.js';
import type { Directory } from './directory.js';
import type { LoginThrottle } from './login-throttle.js';
import type { CurrentUser } from './host-session.js';
import type { GrantOrganizations } from './organizations.js';
import type { ResolvedOptions } from './options.js';
import type { Views } from './views.js';
import type { Store } from '../adapters/store.js';

/** What orgconnect's hooks and handlers share: built once in createProvider. */
export interface Runtime {
  options: ResolvedOptions;
  store: Store;
  directory: Directory;
  applications: ApplicationRegistry;
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
