import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { resolveOptions } from '../lib/options/options.js';

import { createProvider, OptionsError } from '../lib/index.js';
import type { Runtime } from '../lib/runtime.js';
import { createViews, logoutPages } from '../lib/pages/views.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO } from './helpers/relying-party.js';
import { formAction, UserAgent } from './helpers/user-agent.js';

const HTML = { accept: 'text/html,application/xhtml+xml' };

function authorizationUrl(issuer: string, params: Record<string, string>): string {
  return `${issuer}/oauth2/authorize?${new URLSearchParams({ response_type: 'code', scope: 'openid', ...params })}`;
}

/** Pages must keep working under a CSP without 'unsafe-inline': no inline script or style. */
function expectNoInlineCode(html: string): void {
  expect(html).not.to.match(/<script\b/i);
  expect(html).not.to.match(/<style\b/i);
  expect(html).not.to.match(/\sstyle\s*=/i);
  expect(html).not.to.match(/\son[a-z]+\s*=/i);
}

async function captureConsoleError<T>(run: () => Promise<T>): Promise<{ result: T; logged: string[] }> {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
  try {
    return { result: await run(), logged };
  } finally {
    console.error = original;
  }
}

describe('views: options, assets and pages over HTTP', () => {
  describe('brand and views options', () => {
    const invalid: [string, Record<string, unknown>, RegExp][] = [
      ['a color that is not hex', { brand: { primaryColor: 'red; } body { display: none' } }, /invalid option brand\.primaryColor: must be a hex color/],
      ['a named color', { brand: { primaryColor: 'teal' } }, /brand\.primaryColor/],
      ['a javascript: logo', { brand: { logoUrl: 'javascript:alert(1)' } }, /invalid option brand\.logoUrl: must be an http\(s\) URL or a path/],
      ['a protocol-relative logo', { brand: { logoUrlDark: '//cdn.example/logo.svg' } }, /brand\.logoUrlDark/],
      ['a javascript: support link', { brand: { supportUrl: 'javascript:alert(1)' } }, /invalid option brand\.supportUrl: must be an http\(s\) or mailto: URL/],
      ['an unknown brand field', { brand: { colour: '#fff' } }, /invalid option brand: Unrecognized key/],
      ['a brand that is a string', { brand: 'Acme' }, /invalid option brand: must be a brand object/],
      ['an empty name', { brand: { name: '  ' } }, /brand\.name: must not be empty/],
      ['a views dir that does not exist', { views: { dir: '/nonexistent/orgconnect-views' } }, /invalid option views\.dir: must be an existing folder/],
    ];
    for (const [what, options, message] of invalid) {
      it(`refuses ${what}, naming the option`, async () => {
        const error = await createProvider({ issuer: 'http://127.0.0.1:1', ...options } as never).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(OptionsError);
        expect((error as Error).message).to.match(message);
      });
    }

    it('normalizes the color and accepts a hook', async () => {
      const resolved = await resolveOptions({ issuer: 'http://127.0.0.1:1', brand: { name: 'Acme', primaryColor: '#0AF' } });
      expect(resolved.brand).to.deep.equal({ name: 'Acme', primaryColor: '#00aaff' });
      const hook = () => ({ name: 'Per request' });
      expect((await resolveOptions({ issuer: 'http://127.0.0.1:1', brand: hook })).brand).to.equal(hook);
    });
  });

  describe('pages and assets', () => {
    let op: RunningProvider;
    let dir: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'orgconnect-views-'));
      mkdirSync(join(dir, 'assets'));
      mkdirSync(join(dir, 'partials'));
      writeFileSync(join(dir, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
      // A partial overridden alone: the built-in login page picks it up.
      writeFileSync(join(dir, 'partials', 'cancel.ejs'), '<form method="post" action="<%= abortUrl %>"><button class="link">Not now</button></form>\n');
      op = await startProvider({ views: { dir }, brand: { name: '<b>Acme</b> & Co', primaryColor: '#0f766e', supportUrl: 'https://help.acme.test/?a=1&b=2' } });
    });
    after(async () => {
      await op?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves the stylesheet with a content hash, cacheable for good', async () => {
      const agent = new UserAgent();
      const page = await agent.follow(authorizationUrl(op.issuer, { client_id: DEMO.portal.clientId, redirect_uri: DEMO.portal.redirectUri }), DEMO.portal.redirectUri);
      const href = page.html!.match(/href="([^"]*\/assets\/orgconnect\.css\?v=[0-9a-f]{12})"/)![1]!;
      const css = await fetch(new URL(href.replace(/&amp;/g, '&'), op.issuer));
      expect(css.status).to.equal(200);
      expect(css.headers.get('content-type')).to.equal('text/css; charset=utf-8');
      expect(css.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
      expect(await css.text()).to.contain('prefers-color-scheme: dark');
    });

    it('generates the brand stylesheet from a hex color only', async () => {
      const good = await fetch(`${op.issuer}/assets/brand.css?primary=0f766e`);
      expect(good.status).to.equal(200);
      expect(good.headers.get('content-type')).to.equal('text/css; charset=utf-8');
      const css = await good.text();
      expect(css).to.contain('--primary: #0f766e;');
      expect(css).to.match(/@media \(prefers-color-scheme: dark\)/);
      for (const bad of ['red', '0f766e;}body{display:none', '', 'url(x)', '12345']) {
        expect((await fetch(`${op.issuer}/assets/brand.css?primary=${encodeURIComponent(bad)}`)).status, bad).to.equal(404);
      }
    });

    it('serves the files of <views.dir>/assets, and nothing outside it', async () => {
      const logo = await fetch(`${op.issuer}/assets/logo.svg`);
      expect(logo.status).to.equal(200);
      expect(logo.headers.get('content-type')).to.equal('image/svg+xml');
      expect(logo.headers.get('x-content-type-options')).to.equal('nosniff');
      for (const path of ['/assets/..%2Fpackage.json', '/assets/%2e%2e/package.json', '/assets/../package.json', '/assets/.hidden.css', '/assets/x.js', '/assets/partials/cancel.ejs']) {
        const response = await fetch(`${op.issuer}${path}`);
        expect(response.status, path).to.equal(404);
        expect(await response.text(), path).not.to.contain('"name": "orgconnect"');
      }
    });

    it('renders every interaction page without inline code, uncached, with the brand escaped', async () => {
      const agent = new UserAgent();
      let page = await agent.follow(authorizationUrl(op.issuer, { client_id: DEMO.crm.clientId, redirect_uri: DEMO.crm.redirectUri }), DEMO.crm.redirectUri);
      expect(page.response!.headers.get('cache-control')).to.equal('no-store');
      const html = page.html!;
      expectNoInlineCode(html);
      expect(html).to.contain('&lt;b&gt;Acme&lt;/b&gt; &amp; Co');
      expect(html).not.to.contain('<b>Acme</b>');
      expect(html).to.contain('href="https://help.acme.test/?a=1&amp;b=2"');
      expect(html).to.contain('/assets/brand.css?primary=0f766e');
      expect(html).to.contain('>Not now</button>'); // the overridden partial
      page = await agent.follow(formAction(page.html!, page.url, '/login')!, DEMO.crm.redirectUri, { form: { email: DEMO.alice.email, password: DEMO.alice.password } });
      expectNoInlineCode(page.html!);
      expect(page.html).to.match(/name="organization_id" value="org_acme"/);
      expect(page.html).not.to.match(/checked|autofocus/);
      page = await agent.follow(formAction(page.html!, page.url, '/organization')!, DEMO.crm.redirectUri, { form: { organization_id: 'org_acme' } });
      expectNoInlineCode(page.html!);
      expect(page.html).to.contain('Partner CRM is not made by &lt;b&gt;Acme&lt;/b&gt; &amp; Co.');
    });
  });

  describe('error pages (renderError and interaction errors)', () => {
    let op: RunningProvider;
    before(async () => {
      op = await startProvider();
    });
    after(() => op?.stop());

    it('shows an unknown client as a page without echoing the client_id or a stack trace', async () => {
      const response = await fetch(authorizationUrl(op.issuer, { client_id: '<script>alert(1)</script>', redirect_uri: DEMO.crm.redirectUri }), { headers: HTML });
      expect(response.status).to.equal(400);
      expect(response.headers.get('content-type')).to.match(/^text\/html/);
      const html = await response.text();
      expect(html).to.contain('<h1>Unknown application</h1>');
      expect(html).not.to.match(/alert\(1\)|&lt;script|<script/);
      expect(html).not.to.match(/\bat [\w.<>]+ \(|node_modules|\.js:\d+/);
      expectNoInlineCode(html);
    });

    it('shows an unregistered redirect_uri as a page without echoing it', async () => {
      const response = await fetch(authorizationUrl(op.issuer, { client_id: DEMO.crm.clientId, redirect_uri: 'https://attacker.example/"><script>x</script>' }), { headers: HTML });
      expect(response.status).to.equal(400);
      const html = await response.text();
      expect(html).to.contain('<h1>Unexpected return address</h1>');
      expect(html).not.to.match(/attacker|<script/);
    });

    it('shows an expired interaction as a page', async () => {
      const response = await fetch(`${op.issuer}/interaction/not-an-interaction`, { headers: HTML });
      expect(response.status).to.equal(400);
      const html = await response.text();
      expect(html).to.contain('<h1>This sign-in has expired</h1>');
      expect(html).not.to.contain('not-an-interaction');
    });

    it('refuses a form whose URL names another interaction than the browser’s cookie', async () => {
      const agent = new UserAgent();
      const first = await agent.follow(authorizationUrl(op.issuer, { client_id: DEMO.portal.clientId, redirect_uri: DEMO.portal.redirectUri }), DEMO.portal.redirectUri);
      const other = await new UserAgent().follow(authorizationUrl(op.issuer, { client_id: DEMO.portal.clientId, redirect_uri: DEMO.portal.redirectUri }), DEMO.portal.redirectUri);
      expect(first.url).not.to.equal(other.url);
      // The browser's cookie names the first interaction; the form names the other one.
      const cookie = await agent.jar.getCookieString(`${first.url}/login`);
      const response = await fetch(`${other.url}/login`, {
        method: 'POST',
        headers: { ...HTML, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: DEMO.bob.email, password: DEMO.bob.password }),
        redirect: 'manual',
      });
      expect(response.status).to.equal(400);
      expect(await response.text()).to.contain('<h1>This sign-in has expired</h1>');
      // ... and the first interaction is untouched: its own form still works.
      const done = await agent.follow(formAction(first.html!, first.url, '/login')!, DEMO.portal.redirectUri, { form: { email: DEMO.bob.email, password: DEMO.bob.password } });
      expect(new URL(done.url).searchParams.get('code')).to.be.a('string');
    });
  });

  describe('a brand hook that fails', () => {
    for (const [what, hook, logged] of [
      ['throws', () => Promise.reject(new Error('brand database is down')), /brand hook failed for the login page \(Error: brand database is down\)/],
      ['returns an invalid brand', () => ({ primaryColor: 'url(https://evil.example/x)' }), /brand hook failed for the login page \(primaryColor: must be a hex color/],
    ] as const) {
      it(`${what}: the page is shown with the default look and the error is logged`, async () => {
        const op = await startProvider({ brand: hook as never });
        try {
          const { result: page, logged: errors } = await captureConsoleError(() =>
            new UserAgent().follow(authorizationUrl(op.issuer, { client_id: DEMO.portal.clientId, redirect_uri: DEMO.portal.redirectUri }), DEMO.portal.redirectUri),
          );
          expect(page.response!.status).to.equal(200);
          expect(page.html).to.contain('<h1>Sign in</h1>');
          expect(page.html).not.to.match(/brand\.css|evil\.example/);
          expect(errors.join('\n')).to.match(logged);
        } finally {
          await op.stop();
        }
      });
    }
  });

  describe('logoutPages (oidc-provider\'s rpInitiatedLogout sources)', () => {
    /** Just what the logout pages use of the runtime and of oidc-provider's context. */
    function fakes(brand: Runtime['options']['brand']) {
      const runtime = { options: { brand }, views: createViews({}, '/oauth') } as unknown as Runtime;
      const headers: Record<string, string> = {};
      const ctx = {
        oidc: { client: { clientId: DEMO.portal.clientId, clientName: 'Support <Portal>' } },
        set: (name: string, value: string) => void (headers[name.toLowerCase()] = value),
        type: '',
        body: '' as unknown,
      };
      return { runtime, ctx, headers, pages: logoutPages(runtime) };
    }
    const FORM = '<form id="op.logoutForm" method="post" action="/oauth/oauth2/logout/confirm"><input type="hidden" name="xsrf" value="s3cr3t"/></form>';

    it('renders the sign-out question around oidc-provider\'s form, branded for the app', async () => {
      const seen: unknown[] = [];
      const { ctx, headers, pages } = fakes((_ctx, request) => {
        seen.push(request);
        return { name: 'Acme', primaryColor: '#1d4ed8' };
      });
      await pages.logoutSource(ctx as never, FORM);
      const html = String(ctx.body);
      expect(ctx.type).to.equal('html');
      expect(headers['cache-control']).to.equal('no-store');
      expect(html).to.contain(FORM);
      expect(html).to.match(/<button type="submit" form="op\.logoutForm" name="logout" value="yes" class="button primary">Sign out of all apps<\/button>/);
      expect(html).to.contain('Only sign out of Support &lt;Portal&gt;');
      expect(html).to.contain('/oauth/assets/brand.css?primary=1d4ed8');
      expect(html).to.contain('<span class="brand-name">Acme</span>');
      expect(seen).to.deep.equal([{ clientId: DEMO.portal.clientId, view: 'logout' }]);
      expectNoInlineCode(html.replace(FORM, ''));
    });

    it('renders the signed-out page', async () => {
      const { ctx, pages } = fakes({ name: 'Acme' });
      await pages.postLogoutSuccessSource(ctx as never);
      expect(String(ctx.body)).to.contain('<h1>You are signed out</h1>');
      expect(String(ctx.body)).to.contain('signed out of <strong>Support &lt;Portal&gt;</strong>');
    });
  });
});
