import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';

import {
  authorizationUrl,
  callback,
  colorShare,
  exchangeCode,
  fillLogin,
  launchBrowser,
  openContext,
  screenshot,
  type ColorScheme,
  type OfflineContext,
} from './helpers/browser.js';
import { startProvider, type RunningProvider } from './helpers/provider.js';
import { DEMO } from './helpers/relying-party.js';

/** Third-party apps besides Partner CRM: one without a logo, one whose strings are hostile. */
const ZETA_SECRET = 'zeta-analytics-secret-000000004';
const EXTRA_APPS = [
  {
    application_type: 'oauth' as const,
    is_first_party: false,
    organization_id: 'org_partner',
    name: 'Zeta Analytics',
    client_id: 'client_zeta',
    client_secret: ZETA_SECRET,
    redirect_uris: ['http://localhost:5002/callback'],
  },
  {
    application_type: 'oauth' as const,
    is_first_party: false,
    organization_id: 'org_partner',
    name: '<img src=x onerror="window.pwned=1"> & "Sons"',
    client_id: 'client_hostile',
    client_secret: 'hostile-app-secret-00000000005',
    logo_uri: 'http://localhost:5002/logo.png?"><script>window.pwned=2</script>',
    redirect_uris: ['http://localhost:5002/callback'],
  },
];

/** Makes the demo apps' logos fail to load (404) in this page. */
async function breakLogos(page: Page): Promise<void> {
  await page.route(/^http:\/\/localhost:5002\/logo(-dark)?\.png/, (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' }));
}

describe('views in Chromium: sign-in, organization and consent pages', function () {
  this.timeout(20_000);
  let browser: Browser;
  let op: RunningProvider;
  let tab: OfflineContext;

  before(async function () {
    browser = await launchBrowser(this);
    op = await startProvider({ applications: EXTRA_APPS });
  });
  after(async () => {
    await browser?.close();
    await op?.stop();
  });

  async function open(colorScheme: ColorScheme = 'light', options?: { logos?: boolean }): Promise<Page> {
    tab = await openContext(browser, [op.issuer], colorScheme);
    if (options?.logos === false) await breakLogos(tab.page);
    return tab.page;
  }
  afterEach(async () => {
    // Nothing but the provider (and the stand-in apps) was ever contacted: no CDN, no web font.
    const blocked = tab?.blocked ?? [];
    const problems = tab?.problems ?? [];
    await tab?.context.close();
    expect(blocked, 'requests to other hosts').to.deep.equal([]);
    expect(problems, 'CSP violations and script errors').to.deep.equal([]);
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`${scheme}: signs in, picks an organization and allows a third-party app; the code carries the choice`, async () => {
      const page = await open(scheme);
      const loginPage = page.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/interaction/'));
      await page.goto(authorizationUrl(op.issuer, DEMO.crm.clientId, DEMO.crm.redirectUri));

      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      // The pages run under the provider's CSP: no inline script or style may be needed (afterEach
      // fails on any violation the browser reports).
      const csp = (await loginPage).headers()['content-security-policy'] ?? '';
      expect(csp).to.match(/script-src 'self'/).and.to.match(/style-src 'self'/).and.not.to.contain('unsafe-inline');
      expect(await page.locator('.lead').innerText()).to.equal('to continue to Partner CRM');
      expect(await page.evaluate(() => document.activeElement?.id)).to.equal('email');
      await screenshot(page, `login-${scheme}`, { docs: scheme === 'light' });
      await fillLogin(page, DEMO.alice);

      await page.getByRole('heading', { name: 'Choose an organization' }).waitFor();
      const organizations = page.locator('button[name="organization_id"]');
      expect(await page.locator('.org-name').allInnerTexts()).to.deep.equal(['Acme', 'Globex']);
      expect(await organizations.evaluateAll((buttons) => buttons.map((b) => (b as HTMLButtonElement).value))).to.deep.equal(['org_acme', 'org_globex']);
      expect(await page.locator('input:checked, [aria-pressed="true"], [aria-selected="true"]').count()).to.equal(0);
      expect(await page.locator('.account').innerText()).to.contain('Signed in as alice@example.com');
      await screenshot(page, `organization-${scheme}`, { docs: scheme === 'light' });
      // Consent is remembered per organization: each color scheme approves for its own.
      const organization = scheme === 'light' ? { id: 'org_globex', name: 'Globex' } : { id: 'org_acme', name: 'Acme' };
      await page.getByRole('button', { name: organization.name }).click();

      await page.getByRole('heading', { name: `Partner CRM wants to access your ${organization.name} account` }).waitFor();
      expect(await page.locator('.byline').innerText()).to.equal('Partner CRM by Partner Inc.');
      expect(await page.locator('.scopes li').allInnerTexts()).to.deep.equal([
        'Confirm who you are',
        'See your name and profile picture',
        'See your email address',
      ]);
      expect(await page.locator('.redirect-host').innerText()).to.equal('localhost:5002');
      const logo = page.locator('img.avatar-img');
      await logo.evaluate((img: HTMLImageElement) => img.decode());
      const { src, width } = await logo.evaluate((img: HTMLImageElement) => ({ src: img.currentSrc, width: img.naturalWidth }));
      expect(width).to.be.greaterThan(0);
      expect(src).to.equal(scheme === 'dark' ? 'http://localhost:5002/logo-dark.png' : 'http://localhost:5002/logo.png');
      await screenshot(page, `consent-${scheme}`, { docs: true });
      await page.getByRole('button', { name: 'Allow' }).click();

      const params = await callback(page);
      expect(params.get('error')).to.equal(null);
      const claims = await exchangeCode(op.issuer, DEMO.crm.clientId, params.get('code')!, DEMO.crm.redirectUri);
      expect(claims).to.include({ sub: DEMO.alice.id, org_id: organization.id, client_id: DEMO.crm.clientId });
    });
  }

  it('shows the organizations again, with none preselected, on the next sign-in of the same session', async () => {
    const page = await open();
    await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
    await fillLogin(page, DEMO.alice);
    await page.getByRole('button', { name: 'Globex' }).click();
    expect((await callback(page)).get('code')).to.be.a('string');

    await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
    await page.getByRole('heading', { name: 'Choose an organization' }).waitFor();
    expect(await page.locator('.org-name').allInnerTexts()).to.deep.equal(['Acme', 'Globex']);
    expect(await page.evaluate(() => document.activeElement === document.body)).to.equal(true);
    await page.getByRole('button', { name: 'Acme' }).click();
    const params = await callback(page);
    expect(await exchangeCode(op.issuer, DEMO.portal.clientId, params.get('code')!, DEMO.portal.redirectUri)).to.include({ org_id: 'org_acme' });
  });

  it('deny sends the user back with error=access_denied', async () => {
    const page = await open();
    await page.goto(authorizationUrl(op.issuer, DEMO.crm.clientId, DEMO.crm.redirectUri, 'openid email'));
    await fillLogin(page, DEMO.bob);
    await page.getByRole('button', { name: 'Deny' }).click();
    const params = await callback(page);
    expect(params.get('error')).to.equal('access_denied');
    expect(params.get('code')).to.equal(null);
  });

  it('cancel on the login page sends the user back with error=access_denied', async () => {
    const page = await open();
    await page.goto(authorizationUrl(op.issuer, DEMO.crm.clientId, DEMO.crm.redirectUri));
    await page.getByRole('button', { name: 'Cancel and return to Partner CRM' }).click();
    expect((await callback(page)).get('error')).to.equal('access_denied');
  });

  it('a wrong password shows an alert, keeps the email, and never echoes the password', async () => {
    const page = await open('dark');
    await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
    await fillLogin(page, { email: 'alice@example.com', password: 'not-her-password' });
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).to.equal('Incorrect email or password.');
    expect(await page.getByLabel('Email').inputValue()).to.equal('alice@example.com');
    expect(await page.getByLabel('Password').inputValue()).to.equal('');
    expect(await page.content()).not.to.contain('not-her-password');
    expect(await page.getByLabel('Email').getAttribute('aria-invalid')).to.equal('true');
    await screenshot(page, 'login-error-dark');
    await fillLogin(page, DEMO.bob);
    expect((await callback(page)).get('code')).to.be.a('string');
  });

  it('works with the keyboard alone (Tab and Enter), with a visible focus ring', async () => {
    const page = await open();
    await page.goto(authorizationUrl(op.issuer, 'client_zeta', DEMO.crm.redirectUri, 'openid'));
    // The email field has the focus when the page opens (autofocus). Wait for it, without clicking:
    // typing before the browser applies autofocus would lose keystrokes on a slow machine.
    await page.waitForFunction(() => document.activeElement?.id === 'email');
    await page.keyboard.type(DEMO.alice.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(DEMO.alice.password);
    await page.keyboard.press('Enter');

    async function tabTo(description: string, matches: () => boolean): Promise<void> {
      for (let presses = 0; presses < 12; presses += 1) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(matches)) {
          const outline = await page.evaluate(() => {
            const style = getComputedStyle(document.activeElement!);
            return { style: style.outlineStyle, width: Number.parseFloat(style.outlineWidth) };
          });
          expect(outline.style, `focus ring on ${description}`).not.to.equal('none');
          expect(outline.width, `focus ring on ${description}`).to.be.at.least(2);
          return;
        }
      }
      throw new Error(`Tab never reached ${description}`);
    }

    await page.getByRole('heading', { name: 'Choose an organization' }).waitFor();
    await tabTo('Globex', () => (document.activeElement as HTMLButtonElement | null)?.value === 'org_globex');
    await screenshot(page, 'organization-keyboard-focus');
    await page.keyboard.press('Enter');

    await page.locator('.consent-head').waitFor();
    await tabTo('Allow', () => (document.activeElement as HTMLButtonElement | null)?.value === 'allow');
    await page.keyboard.press('Enter');
    const params = await callback(page);
    expect(await exchangeCode(op.issuer, 'client_zeta', params.get('code')!, DEMO.crm.redirectUri, ZETA_SECRET)).to.include({ org_id: 'org_globex' });
  });

  it('shows the initials of an app without a logo', async () => {
    const page = await open();
    await page.goto(authorizationUrl(op.issuer, 'client_zeta', DEMO.crm.redirectUri, 'openid'));
    await fillLogin(page, DEMO.bob);
    await page.locator('.consent-head').waitFor();
    expect(await page.locator('.consent-head .avatar img').count()).to.equal(0);
    const initials = page.locator('.consent-head .avatar').first();
    expect(await initials.innerText()).to.equal('ZA');
    const tone = await initials.evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await colorShare(page, initials, tone)).to.be.greaterThan(0.5);
    await screenshot(page, 'consent-no-logo-light');
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`${scheme}: shows the initials when the app's logo fails to load`, async () => {
      const page = await open(scheme, { logos: false });
      await page.goto(authorizationUrl(op.issuer, DEMO.crm.clientId, DEMO.crm.redirectUri, 'openid'));
      await fillLogin(page, DEMO.bob);
      await page.locator('.consent-head').waitFor();
      const img = page.locator('img.avatar-img');
      await page.waitForFunction(() => {
        const image = document.querySelector<HTMLImageElement>('img.avatar-img');
        return image?.complete && image.naturalWidth === 0;
      });
      expect(await img.getAttribute('data-initials')).to.equal('PC');
      // Seen, not just in the DOM: most of the tile is painted in the initials' color.
      const tile = page.locator('.consent-head .avatar').first();
      const tone = await img.evaluate((el) => getComputedStyle(el, '::after').backgroundColor);
      expect(await colorShare(page, tile, tone)).to.be.greaterThan(0.5);
      await screenshot(page, `consent-broken-logo-${scheme}`);
    });
  }

  it('escapes what an application provides (name, logo URL)', async () => {
    const page = await open();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(authorizationUrl(op.issuer, 'client_hostile', DEMO.crm.redirectUri, 'openid'));
    expect(await page.locator('.lead strong').innerText()).to.equal(EXTRA_APPS[1]!.name);
    await fillLogin(page, DEMO.bob);
    await page.locator('.consent-head').waitFor();
    expect(await page.locator('.app-name').innerText()).to.equal(EXTRA_APPS[1]!.name);
    expect(await page.locator('img[src="x"], script').count()).to.equal(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).to.equal(undefined);
    expect(dialogs).to.deep.equal([]);
    await screenshot(page, 'consent-hostile-app');
  });

  it('"Use another account" from the organization page signs the other user in for the same request', async () => {
    const page = await open();
    await page.goto(authorizationUrl(op.issuer, DEMO.crm.clientId, DEMO.crm.redirectUri, 'openid email'));
    await fillLogin(page, DEMO.alice);
    await page.getByRole('heading', { name: 'Choose an organization' }).waitFor();
    const organizationPage = page.url();
    await page.getByRole('button', { name: 'Use another account' }).click();

    await page.getByRole('heading', { name: 'Use another account' }).waitFor();
    expect(page.url()).to.equal(organizationPage);
    expect(await page.getByLabel('Email').inputValue()).to.equal('');
    await screenshot(page, 'login-switch-account');
    // Reloading keeps asking for an account: the choice is on the interaction, not in the page.
    await page.reload();
    await page.getByRole('heading', { name: 'Use another account' }).waitFor();
    await fillLogin(page, DEMO.bob);

    // oidc-provider ends alice's session (its own logout form, submitted by itself), then resumes.
    await page.locator('.consent-head').waitFor();
    expect(await page.locator('.account').innerText()).to.contain('Signed in as bob@example.com');
    expect(await page.locator('h1').innerText()).to.contain('Acme');
    await page.getByRole('button', { name: 'Allow' }).click();
    const params = await callback(page);
    expect(await exchangeCode(op.issuer, DEMO.crm.clientId, params.get('code')!, DEMO.crm.redirectUri)).to.include({
      sub: DEMO.bob.id,
      org_id: 'org_acme',
    });

    // Alice is signed out: the next request asks for an account again.
    await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
    expect((await callback(page)).get('code')).to.be.a('string'); // bob's session, one org, first-party: no page
  });

  it('"Use another account" from the consent page drops what the previous account chose', async () => {
    const page = await open();
    await page.goto(authorizationUrl(op.issuer, 'client_zeta', DEMO.crm.redirectUri, 'openid'));
    await fillLogin(page, DEMO.alice);
    await page.getByRole('button', { name: 'Acme' }).click();
    await page.locator('.consent-head').waitFor();
    await page.getByRole('button', { name: 'Use another account' }).click();
    await fillLogin(page, DEMO.carol);
    await page.locator('.consent-head').waitFor();
    // carol belongs to no organization: alice's pick (Acme) must not follow her.
    expect(await page.locator('h1').innerText()).to.equal('Zeta Analytics wants to access your account');
    await page.getByRole('button', { name: 'Allow' }).click();
    const params = await callback(page);
    const claims = await exchangeCode(op.issuer, 'client_zeta', params.get('code')!, DEMO.crm.redirectUri, ZETA_SECRET);
    expect(claims.sub).to.equal(DEMO.carol.id);
    expect(claims).not.to.have.property('org_id');
  });

  describe('forms are bound to their interaction', () => {
    it('refuses a form posted for another interaction, with a page that says what happened', async () => {
      const page = await open();
      await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
      await page.locator('form[action$="/login"]').evaluate((form: HTMLFormElement) => {
        form.action = form.action.replace(/\/interaction\/[^/]+\//, '/interaction/another-interaction/');
      });
      const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), fillLogin(page, DEMO.bob)]);
      expect(response.status()).to.equal(400);
      await page.getByRole('heading', { name: 'This sign-in has expired' }).waitFor();
      expect(await page.locator('.lead').innerText()).to.match(/Go back to the application and sign in again/);
      expect(await page.locator('form').count()).to.equal(0);
      await screenshot(page, 'error-light', { docs: true });
    });

    it('refuses a form posted after the interaction expired', async () => {
      const page = await open('dark');
      await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
      const uid = new URL(page.url()).pathname.split('/').pop()!;
      const interaction = await op.orgconnect.provider.Interaction.find(uid);
      await interaction!.destroy();
      await fillLogin(page, DEMO.bob);
      await page.getByRole('heading', { name: 'This sign-in has expired' }).waitFor();
      await screenshot(page, 'error-dark');
    });

    it('refuses the form of a step already completed (back button, resubmission)', async () => {
      const page = await open();
      await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
      const loginPage = page.url();
      await fillLogin(page, DEMO.alice);
      await page.getByRole('heading', { name: 'Choose an organization' }).waitFor();
      await page.locator('form[action$="/organization"]').evaluate((form: HTMLFormElement, action) => {
        form.action = `${action}/organization`;
      }, loginPage);
      await page.getByRole('button', { name: 'Acme' }).click();
      await page.getByRole('heading', { name: 'This sign-in has expired' }).waitFor();

      await page.goto(loginPage);
      await page.getByRole('heading', { name: 'This sign-in has expired' }).waitFor();
    });
  });

  describe('browser-flow errors (renderError)', () => {
    it('an unknown client_id is a human page that does not echo it', async () => {
      const page = await open();
      const url = new URL(`${op.issuer}/oauth2/authorize`);
      url.search = new URLSearchParams({
        client_id: '<script>document.title="pwned"</script>',
        redirect_uri: DEMO.crm.redirectUri,
        response_type: 'code',
        scope: 'openid',
      }).toString();
      const response = await page.goto(url.href);
      expect(response!.status()).to.equal(400);
      await page.getByRole('heading', { name: 'Unknown application' }).waitFor();
      const html = await page.content();
      expect(html).not.to.match(/pwned|&lt;script|<script/);
      expect(html).not.to.match(/\bat .+\.js:\d+/); // no stack trace
      await screenshot(page, 'error-unknown-client');
    });

    it('an unregistered redirect_uri is a human page that does not echo it', async () => {
      const page = await open('dark');
      const response = await page.goto(authorizationUrl(op.issuer, DEMO.crm.clientId, 'https://attacker.example/steal'));
      expect(response!.status()).to.equal(400);
      await page.getByRole('heading', { name: 'Unexpected return address' }).waitFor();
      expect(await page.content()).not.to.contain('attacker.example');
      await screenshot(page, 'error-redirect-uri-dark');
    });
  });

  describe('sign-out pages', () => {
    for (const choice of ['everywhere', 'app only'] as const) {
      it(`asks before signing out, then confirms (${choice})`, async () => {
        const page = await open();
        await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
        await fillLogin(page, DEMO.bob);
        await callback(page);

        await page.goto(`${op.issuer}/oauth2/logout?client_id=${DEMO.portal.clientId}`);
        await page.getByRole('heading', { name: 'Sign out' }).waitFor();
        expect(await page.locator('.lead').innerText()).to.contain('You are signing out of Support Portal');
        if (choice === 'everywhere') {
          await screenshot(page, 'logout-light');
          await page.getByRole('button', { name: 'Sign out of all apps' }).click();
        } else {
          await page.getByRole('button', { name: 'Only sign out of Support Portal' }).click();
        }
        await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
        if (choice === 'everywhere') await screenshot(page, 'logged-out-light');
        else expect(await page.locator('.lead').innerText()).to.contain('signed out of Support Portal');

        // Signed out everywhere: the next sign-in asks for credentials again; otherwise it does not.
        await page.goto(authorizationUrl(op.issuer, DEMO.portal.clientId, DEMO.portal.redirectUri));
        if (choice === 'everywhere') await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        else expect((await callback(page)).get('code')).to.be.a('string');
      });
    }
  });
});
