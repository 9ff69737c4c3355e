/** Plain words for each scope on the consent screen. Unknown (API) scopes are shown by name. */
const DESCRIPTIONS: Record<string, string> = {
  openid: 'Confirm who you are',
  profile: 'See your name and profile picture',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using the app',
};

export function describeScopes(scope: string | undefined): { scope: string; description: string }[] {
  return [...new Set((scope ?? '').split(' ').filter(Boolean))].map((name) => ({
    scope: name,
    description: DESCRIPTIONS[name] ?? `Use the "${name}" permission`,
  }));
}
