/**
 * Endpoint paths, relative to the issuer. WorkOS Connect's paths are the defaults, so relying
 * parties configured by discovery or by hand for WorkOS find everything where they expect it.
 */
export const ROUTES = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  jwks: '/oauth2/jwks',
  userinfo: '/oauth2/userinfo',
  introspection: '/oauth2/introspection',
  revocation: '/oauth2/revoke',
  end_session: '/oauth2/logout',
  pushed_authorization_request: '/oauth2/par',
  device_authorization: '/oauth2/device_authorization',
  registration: '/oauth2/register',
  code_verification: '/oauth2/device',
} as const;

/** Where the interaction views live, relative to the issuer. */
export const INTERACTION_PATH = '/interaction';
