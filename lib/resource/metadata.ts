/**
 * RFC 9728 OAuth 2.0 Protected Resource Metadata: how a client that was refused (or an MCP
 * client that knows nothing yet) learns which authorization server issues tokens for this API.
 */

/** What `createVerifier({ resourceMetadata })` takes; `true` is all defaults. */
export interface ResourceMetadataOptions {
  /**
   * The API's resource identifier: the `aud` its tokens carry and the RFC 8707 `resource` clients
   * ask tokens for. Default: `audience`, when that is a single string. Warned of (once) when it is
   * the issuer: the API needs an identifier of its own.
   */
  resource?: string;
  /** Scopes clients may ask for this API (`scopes_supported`). */
  scopesSupported?: readonly string[];
  /** A human-readable name (`resource_name`). */
  resourceName?: string;
  /** A page documenting the API for developers (`resource_documentation`). */
  resourceDocumentation?: string;
}

/** The JSON document served at the metadata URL. */
export interface ProtectedResourceMetadataDocument {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  /** Only the Authorization header: tokens in query strings leak into logs. */
  bearer_methods_supported: ['header'];
  resource_name?: string;
  resource_documentation?: string;
}

/** The metadata of one API and where RFC 9728 says it is served. */
export interface ProtectedResourceMetadata {
  /** The absolute metadata URL: what `resource_metadata` in `WWW-Authenticate` points at. */
  readonly url: string;
  /** The path of `url`: where to serve `document` on the API's own server. */
  readonly path: string;
  readonly document: Readonly<ProtectedResourceMetadataDocument>;
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * RFC 9728 section 3.1: the well-known segment goes between the host and the resource's path,
 * a trailing slash of the resource dropped: `https://api.example.com/v1` is described at
 * `https://api.example.com/.well-known/oauth-protected-resource/v1`.
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}${WELL_KNOWN}${path}${url.search}`;
}

function absoluteUrl(value: unknown, what: string): string {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new TypeError(`${what} must be an absolute URL`);
  return value;
}

/** An identifier as compared here: parsed (case of scheme and host, default port) and without a trailing slash. */
function comparable(url: string): string {
  return new URL(url).href.replace(/\/$/, '');
}

const warned = new Set<string>();

/**
 * The API's resource identifier being the authorization server's issuer is accepted (orgconnect's
 * default audience is the issuer) but is a misconfiguration: tokens for the provider itself, or for
 * any other API left on the default audience, are then tokens for this API too, and an MCP client
 * asks for a token "for the issuer". Warned once per identifier per process, as orgconnect warns of
 * development settings.
 */
function warnIfIssuer(issuer: string, resource: string): void {
  if (comparable(resource) !== comparable(issuer) || warned.has(resource)) return;
  warned.add(resource);
  console.warn(
    `orgconnect/resource warning: the protected resource metadata's resource (${resource}) is the authorization server's issuer; ` +
      "give the API an identifier of its own (e.g. https://api.example.com), list it in the provider's `resources` (or `audience`), and use it as the verifier's audience",
  );
}

/** Checks the options and builds the document; called once, by `createVerifier`. */
export function resourceMetadata(issuer: string, audience: string | readonly string[], options: true | ResourceMetadataOptions): ProtectedResourceMetadata {
  const given = options === true ? {} : options;
  const fallback = typeof audience === 'string' ? audience : audience.length === 1 ? audience[0] : undefined;
  const resource = given.resource ?? fallback;
  if (resource === undefined) throw new TypeError('resourceMetadata.resource is required when audience names more than one resource');
  absoluteUrl(resource, 'resourceMetadata.resource');
  if (new URL(resource).hash || resource.includes('#')) throw new TypeError('resourceMetadata.resource must not have a fragment (RFC 9728)');
  if (given.resourceDocumentation !== undefined) absoluteUrl(given.resourceDocumentation, 'resourceMetadata.resourceDocumentation');
  warnIfIssuer(issuer, resource);

  const document: ProtectedResourceMetadataDocument = {
    resource,
    authorization_servers: [issuer],
    ...(given.scopesSupported ? { scopes_supported: [...given.scopesSupported] } : {}),
    bearer_methods_supported: ['header'],
    ...(given.resourceName !== undefined ? { resource_name: given.resourceName } : {}),
    ...(given.resourceDocumentation !== undefined ? { resource_documentation: given.resourceDocumentation } : {}),
  };
  const url = protectedResourceMetadataUrl(resource);
  return Object.freeze({ url, path: new URL(url).pathname, document: Object.freeze(document) });
}
