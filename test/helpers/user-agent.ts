import { CookieJar } from 'tough-cookie';

/**
 * A scripted browser over real HTTP: a cookie jar (paths and expiry respected) and manual
 * redirects, so a test sees every hop of an authorization.
 */
export class UserAgent {
  readonly jar = new CookieJar();

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) await this.jar.setCookie(setCookie, url);
    return response;
  }

  /** Follows redirects from `url` until a page is shown (200) or `stopAt` is reached. */
  async follow(url: string, stopAt: string, init?: Parameters<UserAgent['request']>[1]): Promise<{ url: string; response?: Response; html?: string }> {
    let current = url;
    let response = await this.request(current, init);
    for (let hops = 0; hops < 20; hops += 1) {
      if (response.status < 300 || response.status >= 400) {
        return { url: current, response, html: await response.text() };
      }
      const location = new URL(response.headers.get('location')!, current).href;
      await response.arrayBuffer();
      if (location.startsWith(stopAt)) return { url: location };
      current = location;
      response = await this.request(current);
    }
    throw new Error('too many redirects');
  }
}

/** The action of the form whose action ends with `suffix`, from a rendered page. */
export function formAction(html: string, base: string, suffix: string): string | undefined {
  for (const match of html.matchAll(/<form[^>]*action="([^"]+)"/g)) {
    const action = match[1]!.replace(/&amp;/g, '&');
    if (action.endsWith(suffix)) return new URL(action, base).href;
  }
  return undefined;
}

export type Step = 'login' | 'organization' | 'consent';

export interface AuthorizeScript {
  email?: string;
  password?: string;
  organizationId?: string;
  decision?: 'allow' | 'deny';
}

/**
 * Drives an authorization like a person would: answers each page it is shown (login, organization,
 * consent) from the script, and returns the URL the browser is finally sent to, plus the pages seen.
 */
export async function authorize(agent: UserAgent, authorizationUrl: string, redirectUri: string, script: AuthorizeScript) {
  const seen: Step[] = [];
  let page = await agent.follow(authorizationUrl, redirectUri);
  for (let steps = 0; steps < 6 && !page.url.startsWith(redirectUri); steps += 1) {
    const html = page.html ?? '';
    if (page.response?.status !== 200) throw new Error(`unexpected ${page.response?.status} at ${page.url}: ${html.slice(0, 300)}`);
    // oidc-provider ends a session whose account changes with a self-submitting form; a browser
    // submits it at once.
    const autoSubmit = /document\.forms\[0\]\.submit\(\)/.test(html) ? /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html) : null;
    if (autoSubmit) {
      const fields = Object.fromEntries([...autoSubmit[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      page = await agent.follow(new URL(autoSubmit[1]!.replace(/&amp;/g, '&'), page.url).href, redirectUri, { form: fields });
      continue;
    }
    const login = formAction(html, page.url, '/login');
    const organization = formAction(html, page.url, '/organization');
    const consent = formAction(html, page.url, '/consent');
    if (login) {
      seen.push('login');
      page = await agent.follow(login, redirectUri, { form: { email: script.email ?? '', password: script.password ?? '' } });
    } else if (organization) {
      seen.push('organization');
      page = await agent.follow(organization, redirectUri, { form: { organization_id: script.organizationId ?? '' } });
    } else if (consent) {
      seen.push('consent');
      page = await agent.follow(consent, redirectUri, { form: { decision: script.decision ?? 'allow' } });
    } else {
      throw new Error(`no form to answer at ${page.url}: ${html.slice(0, 300)}`);
    }
  }
  return { callbackUrl: page.url, seen, lastPage: page };
}
