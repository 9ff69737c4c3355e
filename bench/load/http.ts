import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * A small HTTP/1.1 client for the scripted flows: keep-alive connections (as a browser and a relying
 * party would have), no redirects followed, bodies read as text. Lighter than fetch, so the load
 * generator, which shares the machine's cores with the server, takes less of them.
 */
export const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = httpRequest(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(init.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${init.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
export const FORM = 'application/x-www-form-urlencoded';

interface Cookie {
  name: string;
  value: string;
  path: string;
  expires: number;
}

/**
 * One browser's cookies for one host: name, path (prefix match) and expiry are honoured, which is
 * all oidc-provider relies on (`_interaction` is scoped to /interaction/<uid>, `_interaction_resume`
 * to the resume path, `_session` to /).
 */
export class CookieJar {
  readonly #cookies = new Map<string, Cookie>();

  store(response: HttpResponse, requestUrl: string): void {
    const setCookie = response.headers['set-cookie'];
    if (!setCookie) return;
    const requestPath = new URL(requestUrl).pathname;
    for (const header of setCookie) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const cookie: Cookie = {
        name: pair!.slice(0, eq).trim(),
        value: pair!.slice(eq + 1).trim(),
        path: requestPath.slice(0, requestPath.lastIndexOf('/')) || '/',
        expires: Infinity,
      };
      for (const attribute of attributes) {
        const [rawKey, ...rest] = attribute.split('=');
        const key = rawKey!.trim().toLowerCase();
        const value = rest.join('=').trim();
        if (key === 'path') cookie.path = value || '/';
        else if (key === 'max-age') cookie.expires = Date.now() + Number(value) * 1000;
        else if (key === 'expires' && cookie.expires === Infinity) cookie.expires = Date.parse(value);
      }
      const key = `${cookie.name}\n${cookie.path}`;
      if (cookie.expires <= Date.now()) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  header(url: string): string | undefined {
    const path = new URL(url).pathname;
    const now = Date.now();
    const matching: string[] = [];
    for (const cookie of this.#cookies.values()) {
      if (cookie.expires <= now) continue;
      const inPath = path === cookie.path || (path.startsWith(cookie.path) && (cookie.path.endsWith('/') || path[cookie.path.length] === '/'));
      if (inPath) matching.push(`${cookie.name}=${cookie.value}`);
    }
    return matching.length ? matching.join('; ') : undefined;
  }
}
