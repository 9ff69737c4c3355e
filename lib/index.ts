/**
 * orgconnect's public API: `createProvider` and the types and helpers around it. Everything
 * else (oidc-provider hooks, pages, store internals) is the implementation's.
 */
export { createProvider, type OrgconnectProvider, type OrgconnectSettings } from './create-provider.js';
export type { OrgconnectOptions, ResolvedOptions, TtlOptions } from './options/options.js';
export type { Directory, User, Organization, Membership, SeedUser } from './accounts/directory.js';
export type { Application, ApplicationInput, OAuthApplication, M2MApplication, ResourceServer } from './apps/applications.js';
export type { Seed } from './options/seed.js';
export type { Store } from './store/store.js';
export type { StoreOption } from './store/open.js';
export type { CurrentUser } from './accounts/host-session.js';
export type { LogoutUrlOptions } from './accounts/host-logout.js';
export type { AuditEvent, AuditEventType, AuditOptions } from './audit.js';
export type { LoginThrottleOptions } from './accounts/login-throttle.js';
export type { RedisClientLike, RedisNode, RedisStoreOptions } from './store/redis-options.js';
export type { ViewsOptions, ViewName } from './pages/views.js';
export type { PrivateJwks, SigningAlg } from './options/keys.js';
export type { ApplicationRegistry } from './apps/registry.js';
export type { Api, ApiInput, ApiScope } from './apis/apis.js';
export { apiId } from './apis/apis.js';
export type { ApiRegistry, ApiUpdate, ListedApi, VersionedApi } from './apis/registry.js';
export { Consents, revokeGrant } from './consents/consents.js';
export type { AuthorizedApplication } from './consents/consents.js';
export type { CreatedApplication, ApplicationUpdate, CreatedSecret, VersionedApplication } from './apps/registry.js';
export type { ClientSecretInfo } from './apps/client-secrets.js';
export { createSeedDirectory } from './accounts/directory.js';
export { loadSeedFile, parseSeed } from './options/seed.js';
export { generateSigningKey, loadJwksFile } from './options/keys.js';
export { MemoryStore } from './store/memory.js';
export { OrgconnectError, OptionsError, SeedError, ApplicationError, ApplicationConflictError, ApiError, ApiConflictError, StoreUnavailableError } from './errors.js';
export { ROUTES } from './http/routes.js';
export { adminApi, AdminError, type AdminOptions, type AdminApiOptions } from './admin/index.js';
export type { Brand, BrandHook, BrandOption, BrandRequest } from './pages/brand.js';
