import type { ServedApi } from '../../apis/apis.js';

/** Plain words for each scope on the consent screen. Unknown (API) scopes are shown by name. */
const DESCRIPTIONS: Record<string, string> = {
  openid: 'Confirm who you are',
  profile: 'See your name and profile picture',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using the app',
};

const byName = (name: string) => DESCRIPTIONS[name] ?? `Use the "${name}" permission`;

/** A scope on the consent page; `api` names the API it is for (absent: the provider's own scopes). */
export interface DescribedScope {
  scope: string;
  description: string;
  api?: string;
}

/** An API a consent gives access to, with the requested scopes it accepts, in its own words. */
export interface DescribedApi {
  name: string;
  identifier: string;
  scopes: { scope: string; description: string }[];
}

/**
 * What a consent grants, in plain words: the provider's own (static) scopes that were requested,
 * and for each requested API the requested scopes it accepts, with the API's descriptions.
 * A requested scope that nothing accepts is left out: no token would carry it. APIs made from
 * the `audience`/`resources` options have no words of their own: their scopes are static ones.
 */
export function describeConsent(scope: string | undefined, statics: ReadonlySet<string>, apis: readonly ServedApi[]): { scopes: DescribedScope[]; apis: DescribedApi[] } {
  const requested = [...new Set((scope ?? '').split(' ').filter(Boolean))];
  const scopes: DescribedScope[] = requested.filter((name) => statics.has(name)).map((name) => ({ scope: name, description: byName(name) }));
  const described: DescribedApi[] = [];
  for (const api of apis) {
    if (api.legacy) continue;
    const accepted = requested.flatMap((name) => {
      const found = api.scopes.find((s) => s.name === name);
      return found ? [{ scope: name, description: found.description ?? byName(name) }] : [];
    });
    if (accepted.length === 0) continue;
    described.push({ name: api.name, identifier: api.identifier, scopes: accepted });
    scopes.push(...accepted.map((s) => ({ ...s, api: api.name })));
  }
  return { scopes, apis: described };
}
