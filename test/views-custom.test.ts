import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';

import {
  authorizationUrl,
  callback,
  exchangeCode,
  launchBrowser,
  openContext,
  screenshot,
  type ColorScheme,
  type OfflineContext,
} from './helpers/browser.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO } from './helpers/relying-party.js';
import type { Brand } from '../lib/pages/brand.js';

const ACME_LOGO = (fill: string, text: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="180" height="40" viewBox="0 0 180 40"><rect x="0" y="4" width="32" height="32" rx="8" fill="${fill}"/><path d="M9 28l7-16 7 16" stroke="#fff" stroke-width="3.5" fill="none" stroke-linejoin="round"/><text x="42" y="28" font-family="Arial, Liberation Sans, sans-serif" font-size="21" font-weight="700" fill="${text}">Acme Cloud</text></svg>`;

/** A views dir: one template (login), a stylesheet addition and the brand's logos. */
function viewsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'orgconnect-views-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'login.ejs'),
    `<h1 class="custom-login">Welcome back to <%= brand.name %></h1>
<p class="lead">Your <%= clientName %> account</p>
<% if (error) { %><p class="alert" role="alert"><%= error %></p><% } %>
<form method="post" action="<%= action %>" class="stack">
  <div class="field"><label for="work-email">Work email</label><input id="work-email" name="email" type="email" value="<%= email %>" autofocus></div>
  <div class="field"><label for="passphrase">Passphrase</label><input id="passphrase" name="password" type="password"></div>
  <button type="submit" class="button primary">Continue</button>
</form>
`,
  );
  writeFileSync(join(dir, 'assets', 'custom.css'), '.custom-login { letter-spacing: 0.05em; }\n');
  writeFileSync(join(dir, 'assets', 'acme-logo.svg'), ACME_LOGO('#0f766e', '#0f172a'));
  writeFileSync(join(dir, 'assets', 'acme-logo-dark.svg'), ACME_LOGO('#2dd4bf', '#f1f5f9'));
  return dir;
}

describe('views in Chromium: customization (views.dir, brand)', function () {
  this.timeout(20_000);
  let browser: Browser;
  let tab: OfflineContext | undefined;
  const dirs: string[] = [];

  before(async function () {
    browser = await launchBrowser(this);
  });
  after(async () => {
    await browser?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    const blocked = tab?.blocked ?? [];
    const problems = tab?.problems ?? [];
    await tab?.context.close();
    tab = undefined;
    expect(blocked, 'requests to other hosts').to.deep.equal([]);
    expect(problems, 'CSP violations and script errors').to.deep.equal([]);
  });

  async function open(op: RunningProvider, colorScheme: ColorScheme = 'light'): Promise<Page> {
    tab = await openContext(browser, [op.issuer], colorScheme);
    return tab.page;
  }

  const rgb = (page: Page, selector: string, property = 'backgroundColor') =>
    page.locator(selector).first().evaluate((el, p) => getComputedStyle(el)[p as 'color'], property);

  describe('views.dir and a static brand', () => {
    let op: RunningProvider;
    const brand: Brand = {
      name: 'Acme Cloud',
      logoUrl: '/assets/acme-logo.svg',
      logoUrlDark: '/assets/acme-logo-dark.svg',
      primaryColor: '#0F766E',
      supportUrl: 'https://help.acme.test/sign-in',
    };
    before(async () => {
      const dir = viewsDir();
      dirs.push(dir);
      op = await startProvider({ views: { dir }, brand });
    });
    after(() => op?.stop());

    it('renders the overridden template, keeps the built-in ones, and the flow completes', async () => {
      const page = await open(op);
      await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
      await page.locator('h1.custom-login').waitFor();
      expect(await page.locator('h1').innerText()).to.equal('Welcome back to Acme Cloud');
      expect(await page.locator('h1').evaluate((el) => getComputedStyle(el).letterSpacing)).not.to.equal('normal'); // custom.css is linked
      await page.getByLabel('Work email').fill(DEMO.alice.email);
      await page.getByLabel('Passphrase').fill(DEMO.alice.password);
      await page.getByRole('button', { name: 'Continue' }).click();

      // The organization page is still orgconnect's, in the brand's color.
      await page.getByRole('heading', { name: 'Choose an organization' }).waitFor();
      await page.getByRole('button', { name: 'Globex' }).click();
      const params = await callback(page);
      expect(await exchangeCode(op.issuer, DEMO.portal.clientId, params.get('code')!, DEMO.portal.redirectUri)).to.include({ org_id: 'org_globex' });
    });

    for (const scheme of ['light', 'dark'] as const) {
      it(`${scheme}: themes the built-in pages with the brand's name, logo, color and help link`, async () => {
        const page = await open(op, scheme);
        await page.goto(authorizationUrl(op.issuer, DEMO.crm.clientId, DEMO.crm.redirectUri, 'openid'));
        await page.locator('.custom-login').waitFor();
        expect(await page.title()).to.equal('Sign in · Acme Cloud');
        // Consent is remembered: each color scheme signs in a user who has not approved the app yet.
        const user = scheme === 'light' ? DEMO.bob : DEMO.carol;
        await page.getByLabel('Work email').fill(user.email);
        await page.getByLabel('Passphrase').fill(user.password);
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.locator('.consent-head').waitFor();

        const logo = page.locator('img.brand-logo');
        await logo.evaluate((img: HTMLImageElement) => img.decode());
        expect(await logo.evaluate((img: HTMLImageElement) => img.currentSrc)).to.equal(
          `${op.issuer}/assets/${scheme === 'dark' ? 'acme-logo-dark.svg' : 'acme-logo.svg'}`,
        );
        expect(await logo.getAttribute('alt')).to.equal('Acme Cloud');
        const help = page.getByRole('link', { name: /Help/ });
        expect(await help.getAttribute('href')).to.equal('https://help.acme.test/sign-in');
        // Third-party notice names the brand.
        expect(await page.locator('.notice').innerText()).to.contain('Partner CRM is not made by Acme Cloud.');

        expect(await rgb(page, '.button.primary')).to.equal('rgb(15, 118, 110)'); // stands out on both cards: kept as is
        // Link-sized text needs 4.5:1: darkened on the light card, lightened on the dark one.
        expect(await rgb(page, '.account button.link', 'color')).to.equal(scheme === 'light' ? 'rgb(15, 118, 110)' : 'rgb(75, 152, 146)');
        expect(await page.locator('link[rel=stylesheet]').evaluateAll((links) => links.map((l) => new URL((l as HTMLLinkElement).href).pathname))).to.deep.equal([
          '/assets/orgconnect.css',
          '/assets/brand.css',
          '/assets/custom.css',
        ]);
        await screenshot(page, `brand-consent-${scheme}`);
        await page.getByRole('button', { name: 'Allow' }).click();
        expect((await callback(page)).get('code')).to.be.a('string');
      });
    }
  });

  describe('a per-request brand hook', () => {
    let op: RunningProvider;
    const seen: { clientId?: string; view: string; host: string }[] = [];
    before(async () => {
      op = await startProvider({
        brand: (ctx, { clientId, view }) => {
          seen.push({ clientId, view, host: ctx.host });
          if (clientId === DEMO.crm.clientId) return { name: 'Partner Hub', primaryColor: '#b91c1c' };
          if (clientId === DEMO.portal.clientId) return { name: 'Acme Support', primaryColor: '#1d4ed8' };
          return undefined;
        },
      });
    });
    after(() => op?.stop());

    it('brands each application its own way in one process', async () => {
      const page = await open(op);
      await page.goto(authorizationUrl(op.issuer, DEMO.crm.clientId, DEMO.crm.redirectUri));
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.locator('.brand-name').innerText()).to.equal('Partner Hub');
      expect(await rgb(page, '.button.primary')).to.equal('rgb(185, 28, 28)');
      await screenshot(page, 'brand-hook-partner');

      await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.locator('.brand-name').innerText()).to.equal('Acme Support');
      expect(await rgb(page, '.button.primary')).to.equal('rgb(29, 78, 216)');
      expect(seen.at(-1)).to.deep.equal({ clientId: DEMO.portal.clientId, view: 'login', host: new URL(op.issuer).host });

      // An unknown application never reaches the hook with its client_id: the default look.
      await page.goto(authorizationUrl(op.issuer, 'client_nobody', DEMO.portal.redirectUri));
      await page.getByRole('heading', { name: 'Unknown application' }).waitFor();
      expect(await page.locator('.brand').count()).to.equal(0);
      expect(seen.at(-1)).to.deep.equal({ clientId: undefined, view: 'error', host: new URL(op.issuer).host });
    });
  });
});
