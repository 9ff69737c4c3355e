import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';

import { ADMIN_PATH, adminApi } from '../admin/index.js';
import { HOST_LOGOUT_PATH, hostLogout } from '../accounts/host-logout.js';
import { hostSessionLogin } from '../accounts/host-session.js';
import { jwtAccessTokenEndpoints, userinfoForJwts } from '../oidc/patches/jwt-access-token-endpoints.js';
import { unauthorizedClientError } from '../oidc/patches/unauthorized-client-error.js';
import { mintInitialAccessToken, registrationRateLimit } from '../oidc/registration.js';
import { CONNECTED_APPS_PATH, connectedAppsRouter } from '../pages/connected-apps.js';
import { interactionRouter } from '../pages/interactions/router.js';
import type { Runtime } from '../runtime.js';
import { assets } from './assets.js';
import { devicePolling } from './device-polling.js';
import { dispatchByPath, type PathRoute } from './dispatch.js';
import { health } from './health.js';
import { enterOwnContext, leaveOwnContext } from './own-context.js';
import { responseDefaults } from './response-defaults.js';
import { INTERACTION_PATH, ROUTES } from './routes.js';

/**
 * The Koa app: orgconnect's edge middleware and interaction pages in front of oidc-provider.
 * The app's keys are the cookie keys: oidc-provider signs its cookies with the keys of the app
 * it runs in, and interaction handlers read them with its own.
 */
export function buildApp(runtime: Runtime, provider: Provider): Koa {
  const app = new Koa();
  app.keys = runtime.options.cookies.keys;
  app.proxy = runtime.options.proxy;
  app.maxIpsCount = runtime.options.proxyHops;
  app.silent = true;
  app.use(enterOwnContext(app));
  app.use(responseDefaults({ hsts: runtime.options.production }));

  const { admin } = runtime.options;
  const interactions = interactionRouter(runtime);
  const routes: PathRoute[] = [
    { paths: ['/health'], middleware: [health(runtime.store)] },
    { paths: ['/assets/'], middleware: [assets(runtime.options.views.dir)] },
    {
      paths: [ROUTES.token, ROUTES.device_authorization],
      middleware: [unauthorizedClientError, devicePolling(runtime.store, { interval: runtime.options.deviceFlow.interval, deviceCodeTtl: runtime.options.ttl.deviceCode })],
    },
    { paths: [ROUTES.introspection, ROUTES.revocation], middleware: [jwtAccessTokenEndpoints] },
    { paths: [ROUTES.registration], middleware: [registrationRateLimit(runtime.store, runtime.options.registration.perIpPerHour)] },
    { paths: [ROUTES.userinfo], middleware: [userinfoForJwts] },
    {
      paths: [INTERACTION_PATH, `${INTERACTION_PATH}/`],
      middleware: [hostSessionLogin(runtime, runtime.currentUser), interactions.routes(), interactions.allowedMethods()],
    },
    { paths: [CONNECTED_APPS_PATH, `${CONNECTED_APPS_PATH}/`], middleware: [connectedAppsRouter(runtime).routes()] },
    { paths: [HOST_LOGOUT_PATH], middleware: [hostLogout(runtime)] },
  ];
  if (admin) {
    const { applications, apis, consents, directory, options } = runtime;
    const initialAccessTokens =
      options.registration.policy === 'token' ? (mint: { organizationId?: string; expiresIn?: number }) => mintInitialAccessToken(provider, runtime.store, mint) : undefined;
    const organizationExists = async (id: string) => (await directory.findOrganization(id)) !== undefined;
    routes.unshift({
      paths: [ADMIN_PATH, `${ADMIN_PATH}/`],
      middleware: [adminApi({ ...admin, issuer: options.issuer, applications, apis, consents, directory, initialAccessTokens, organizationExists })],
    });
  }
  // A request oidc-provider does not answer either goes on to the host's middleware, if any.
  app.use(dispatchByPath(routes, [mount(provider), leaveOwnContext]));
  return app;
}

