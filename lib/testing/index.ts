/**
 * `orgconnect/testing`: a real provider for your tests. Start one with test users, organizations
 * and applications, sign users in headlessly over HTTP, and mint real tokens for the APIs you test.
 *
 * ```ts
 * import { startTestProvider } from 'orgconnect/testing';
 *
 * const op = await startTestProvider();
 * const token = await op.mintAccessToken({ app: 'test_web', user: 'bob@example.com' });
 * // ... call your API with `Authorization: Bearer ${token}`, verified against op.issuer ...
 * await op.stop();
 * ```
 *
 * No test-framework globals: plain async functions, for mocha, node:test, vitest and jest alike.
 */
export { startTestProvider } from './provider.js';
export type {
  MintOptions,
  Scopes,
  SignInOptions,
  SignInResult,
  SignInStep,
  TestProvider,
  TestProviderOptions,
  TokenSet,
} from './provider.js';
export { testData, type TestData } from './defaults.js';
export { TestBrowser, type BrowserPage, type BrowserRequest } from './browser.js';
export { CookieJar, type StoredCookie } from './cookie-jar.js';
export { storeConformance, type StoreConformanceCheck } from './store-conformance.js';
