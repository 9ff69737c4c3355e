import { isIP } from 'node:net';

/** A cookie as the jar keeps it (RFC 6265 section 5.3, without the public-suffix list). */
export interface StoredCookie {
  name: string;
  value: string;
  /** Lowercased host or domain. */
  domain: string;
  /** No Domain attribute: sent back to exactly this host only. */
  hostOnly: boolean;
  path: string;
  /** Milliseconds since the epoch; undefined for a session cookie. */
  expires?: number;
  secure: boolean;
  httpOnly: boolean;
}

/** RFC 6265 section 5.1.4: the folder of the request path, `/` when there is none. */
function defaultPath(pathname: string): string {
  if (!pathname.startsWith('/')) return '/';
  const last = pathname.lastIndexOf('/');
  return last <= 0 ? '/' : pathname.slice(0, last);
}

/** RFC 6265 section 5.1.4 path-match. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** RFC 6265 section 5.1.3 domain-match (no sub-domain matching for IP addresses). */
function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;
  return isIP(host) === 0 && host.endsWith(`.${domain}`);
}

/**
 * A small cookie jar for scripted browsers: host-only and domain cookies, path matching,
 * Max-Age and Expires (a past date deletes), Secure (sent over https only). Enough to carry a
 * sign-in across the provider's pages and a relying party's session; not a browser's full policy
 * (no public-suffix list, SameSite is not enforced).
 */
export class CookieJar {
  #cookies: StoredCookie[] = [];

  /** Stores one `Set-Cookie` header value received in answer to a request for `url`. */
  setCookie(header: string, url: string | URL): void {
    const target = new URL(url);
    const host = target.hostname.toLowerCase();
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      domain: host,
      hostOnly: true,
      path: defaultPath(target.pathname),
      secure: false,
      httpOnly: false,
    };
    let maxAge: number | undefined;
    let expires: number | undefined;
    for (const attribute of attributes) {
      const index = attribute.indexOf('=');
      const key = (index === -1 ? attribute : attribute.slice(0, index)).trim().toLowerCase();
      const value = index === -1 ? '' : attribute.slice(index + 1).trim();
      if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (key === 'expires') {
        const time = Date.parse(value);
        if (!Number.isNaN(time)) expires = time;
      } else if (key === 'domain' && value) {
        const domain = value.replace(/^\./, '').toLowerCase();
        if (!domainMatches(host, domain)) return; // a cookie for another site: rejected
        cookie.domain = domain;
        cookie.hostOnly = false;
      } else if (key === 'path') cookie.path = value.startsWith('/') ? value : defaultPath(target.pathname);
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'httponly') cookie.httpOnly = true;
    }
    if (maxAge !== undefined) cookie.expires = Date.now() + maxAge * 1000;
    else if (expires !== undefined) cookie.expires = expires;

    this.#cookies = this.#cookies.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path));
    if (cookie.expires === undefined || cookie.expires > Date.now()) this.#cookies.push(cookie);
  }

  /** The cookies a browser would send with a request for `url`, longest path first. */
  cookies(url: string | URL): StoredCookie[] {
    const target = new URL(url);
    const host = target.hostname.toLowerCase();
    const now = Date.now();
    this.#cookies = this.#cookies.filter((c) => c.expires === undefined || c.expires > now);
    return this.#cookies
      .filter((c) => (c.hostOnly ? c.domain === host : domainMatches(host, c.domain)))
      .filter((c) => pathMatches(target.pathname || '/', c.path))
      .filter((c) => !c.secure || target.protocol === 'https:')
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** The `Cookie` header for a request to `url` ('' when none applies). */
  cookieHeader(url: string | URL): string {
    return this.cookies(url)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** Every cookie held (expired ones dropped). */
  all(): StoredCookie[] {
    const now = Date.now();
    return this.#cookies.filter((c) => c.expires === undefined || c.expires > now);
  }

  clear(): void {
    this.#cookies = [];
  }
}
