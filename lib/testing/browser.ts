import { CookieJar } from './cookie-jar.js';

export interface BrowserRequest {
  method?: string;
  /** Sent as `application/x-www-form-urlencoded` (POST unless `method` says otherwise). */
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface BrowserPage {
  /** The URL of the last request made. */
  url: string;
  /** Its response (the body is already read into `html` when the page was shown). */
  response: Response;
  /** The body of a page that was shown (not a redirect). */
  html?: string;
  /** Set when the chain stopped at a redirect to `stopAt`: where it pointed. */
  redirectedTo?: string;
}

/**
 * A scripted browser over real HTTP: a cookie jar, manual redirects, nothing else. Good enough to
 * walk through the provider's pages and any relying party's redirects without a real browser.
 */
export class TestBrowser {
  readonly jar = new CookieJar();

  /** One request, with the jar's cookies; `Set-Cookie` answers go back into the jar. */
  async request(url: string | URL, init: BrowserRequest = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    const cookie = this.jar.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) this.jar.setCookie(setCookie, url);
    return response;
  }

  /**
   * Requests `url` and follows redirects (as GETs) until a page is shown, or until a redirect
   * points at something starting with `stopAt`, or for which `stopAt(url)` is true (that one is
   * not requested: a relying party's callback, say).
   */
  async follow(url: string | URL, init: BrowserRequest & { stopAt?: string | ((url: string) => boolean); maxRedirects?: number } = {}): Promise<BrowserPage> {
    const { stopAt, maxRedirects = 20, ...request } = init;
    let current = String(url);
    let response = await this.request(current, request);
    for (let hops = 0; ; hops += 1) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        return { url: current, response, html: await response.text() };
      }
      await response.arrayBuffer();
      const next = new URL(location, current).href;
      const stop = typeof stopAt === 'function' ? stopAt(next) : stopAt !== undefined && next.startsWith(stopAt);
      if (stop) return { url: current, response, redirectedTo: next };
      if (hops >= maxRedirects) throw new Error(`orgconnect/testing: more than ${maxRedirects} redirects from ${url}`);
      current = next;
      response = await this.request(current);
    }
  }
}

/** The readable text of an HTML page, for error messages: no head, tags or repeated spaces. */
export function pageText(html: string, max = 300): string {
  const text = html
    .replace(/<head[\s\S]*?<\/head>/i, ' ')
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&#39;|&#x27;|&rsquo;|’/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
