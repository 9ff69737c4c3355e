import { existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

import { DEMO } from './relying-party.js';

/** Debian's Chromium; never a downloaded browser build. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
export const DOCS_SCREENSHOTS_DIR = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/** Partner CRM's logos (test data): a "P" mark, and a variant for dark backgrounds. */
export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128"><rect width="128" height="128" rx="30" fill="#0284c7"/><path fill="#fff" fill-rule="evenodd" d="M42 96V32h28a22 22 0 0 1 0 44H58v20zm16-34h11a8 8 0 0 0 0-16H58z"/></svg>`;
export const LOGO_DARK_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128"><rect width="128" height="128" rx="30" fill="#7dd3fc"/><path fill="#0c1a2a" fill-rule="evenodd" d="M42 96V32h28a22 22 0 0 1 0 44H58v20zm16-34h11a8 8 0 0 0 0-16H58z"/></svg>`;

/** The demo apps' origins (fixtures/demo.json): their redirect URIs and logos live there. */
export const RELYING_PARTY_ORIGINS = ['http://localhost:5001', 'http://localhost:5002'];
const RELYING_PARTY_PORTS = [5001, 5002];

/**
 * Stand-ins for the demo apps at localhost:5001 and :5002: a callback page and Partner CRM's
 * logos. Chromium resolves `localhost` to the loopback address they listen on (127.0.0.x, not
 * 127.0.0.1, so a demo running on the real ports does not collide). They are real servers because
 * Playwright does not route the redirect hops that bring the browser back to a callback.
 */
async function startRelyingParties(): Promise<{ address: string; servers: Server[] }> {
  for (let host = 2; host < 40; host += 1) {
    const address = `127.0.0.${host}`;
    const servers: Server[] = [];
    try {
      for (const port of RELYING_PARTY_PORTS) {
        const server = createServer((req, res) => {
          const { pathname } = new URL(req.url ?? '/', 'http://localhost');
          if (pathname === '/logo.png' || pathname === '/logo-dark.png') {
            res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
            return res.end(pathname === '/logo.png' ? LOGO_SVG : LOGO_DARK_SVG);
          }
          res.writeHead(pathname === '/callback' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
          res.end('<!doctype html><title>Back at the app</title><p>Back at the app</p>');
        });
        servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, address, () => resolve());
        });
      }
      return { address, servers };
    } catch {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  }
  throw new Error('cannot listen on ports 5001 and 5002 of any 127.0.0.x address');
}

/**
 * Launches headless Chromium for a suite (call from `before`), with the demo apps' stand-ins.
 * Without Chromium the suite is skipped with a loud warning on a developer machine, and fails
 * in CI (CI is set).
 */
export async function launchBrowser(suite: Mocha.Context): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    if (process.env.CI) {
      throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: the browser tests of the views cannot run (apt-get install chromium)`);
    }
    const bar = '!'.repeat(88);
    console.warn(
      `\n${bar}\n!!  SKIPPING THE BROWSER TESTS OF THE VIEWS: no Chromium at ${CHROMIUM_PATH}.\n` +
        `!!  Install it (apt-get install chromium) or set CHROMIUM_PATH. CI fails without it.\n${bar}\n`,
    );
    suite.skip();
  }
  const apps = await startRelyingParties();
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP localhost ${apps.address}`],
    headless: true,
  });
  browser.on('disconnected', () => {
    for (const server of apps.servers) {
      server.closeAllConnections();
      server.close();
    }
  });
  return browser;
}

export type ColorScheme = 'light' | 'dark';

export interface OfflineContext {
  context: BrowserContext;
  page: Page;
  /** Requests the pages tried to send anywhere but the allowed origins (aborted). */
  blocked: string[];
  /** CSP violations and script errors reported by the pages. */
  problems: string[];
}

/**
 * A fresh browser profile that can reach only `origins` (the provider under test) and the demo
 * apps' stand-ins: anything else is aborted and recorded, so a page that needs the network (a
 * CDN, a web font) shows up. Requests to allowed origins are not routed at all.
 */
export async function openContext(browser: Browser, origins: string[], colorScheme: ColorScheme = 'light'): Promise<OfflineContext> {
  const context = await browser.newContext({ colorScheme, viewport: { width: 760, height: 860 }, deviceScaleFactor: 1, locale: 'en-US' });
  const blocked: string[] = [];
  const problems: string[] = [];
  const allowed = [...origins, ...RELYING_PARTY_ORIGINS];
  await context.route(
    (url) => !allowed.some((origin) => url.href.startsWith(`${origin}/`)),
    async (route) => {
      blocked.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  return { context, page, blocked, problems };
}

/** Saves a full-page screenshot to test-artifacts/ (and docs/screenshots/ with UPDATE_SCREENSHOTS=1 when `docs`). */
export async function screenshot(page: Page, name: string, { docs = false } = {}): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = `${ARTIFACTS_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  if (docs && process.env.UPDATE_SCREENSHOTS) {
    mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
    await copyFile(path, `${DOCS_SCREENSHOTS_DIR}${name}.png`);
  }
  return path;
}

/**
 * The share of an element's rendered pixels that have `color` (an `rgb(r, g, b)` string), read
 * from a real screenshot of it: what a person would see, pseudo-elements and broken images included.
 */
export async function colorShare(page: Page, element: Locator, color: string): Promise<number> {
  const png = (await element.screenshot({ animations: 'disabled' })).toString('base64');
  // Decoded in a blank page of the same profile: the page under test may forbid data: images.
  const scratch = await page.context().newPage();
  const share = await scratch.evaluate(
    async ({ png, color }) => {
      const target = color.match(/\d+/g)!.slice(0, 3).map(Number);
      const image = new Image();
      image.src = `data:image/png;base64,${png}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext('2d')!;
      context.drawImage(image, 0, 0);
      const { data } = context.getImageData(0, 0, image.width, image.height);
      let matching = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - target[0]!) + Math.abs(data[i + 1]! - target[1]!) + Math.abs(data[i + 2]! - target[2]!) <= 12) matching += 1;
      }
      return matching / (data.length / 4);
    },
    { png, color },
  );
  await scratch.close();
  return share;
}

// ---- driving a sign-in -------------------------------------------------------------------

/** Client secrets of the demo apps the browser tests sign in to. */
export const SECRETS: Record<string, string> = {
  [DEMO.crm.clientId]: DEMO.crm.secret,
  [DEMO.portal.clientId]: DEMO.portal.secret,
};

export function authorizationUrl(issuer: string, clientId: string, redirectUri: string, scope = 'openid profile email'): string {
  const url = new URL(`${issuer}/oauth2/authorize`);
  url.search = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope, state: randomBytes(8).toString('hex') }).toString();
  return url.href;
}

/** Waits for the browser to reach the app's callback and returns its query (code or error). */
export async function callback(page: Page): Promise<URLSearchParams> {
  await page.waitForURL(/^http:\/\/localhost:500[12]\/callback/);
  return new URL(page.url()).searchParams;
}

/** Redeems a code like the app would (client_secret_basic) and returns the access token's claims. */
export async function exchangeCode(issuer: string, clientId: string, code: string, redirectUri: string, secret = SECRETS[clientId]) {
  const response = await fetch(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
  });
  expect(response.status, await response.clone().text()).to.equal(200);
  return decodeJwt(((await response.json()) as { access_token: string }).access_token);
}

export async function fillLogin(page: Page, user: { email: string; password: string }): Promise<void> {
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

