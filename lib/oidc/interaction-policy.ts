import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { hostSessionChecks } from '../accounts/host-session.js';
import { organizationChoice } from '../accounts/organization-choice.js';
import type { Runtime } from '../runtime.js';

const { base, Prompt, Check } = interactionPolicy;

/**
 * A prompt between login and consent: the user picks the organization this authorization is
 * for when they belong to two or more and none is chosen yet. With prompt=none it fails with
 * interaction_required.
 */
function selectOrganizationPrompt(runtime: Runtime) {
  return new Prompt(
    { name: 'select_organization', requestable: false },
    new Check('organization_not_chosen', 'the End-User must choose an organization', async (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId) return Check.NO_NEED_TO_PROMPT;
      const choice = await organizationChoice(runtime.directory, accountId, ctx.oidc.result, ctx.oidc.params?.organization_id);
      return choice.resolved ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
}

/**
 * login -> select_organization -> consent. oidc-provider's consent prompt asks native apps every
 * time (RFC 8252 section 8.6: their redirect URIs can be claimed by other apps); orgconnect keeps
 * that for third-party native apps only: a first-party app is vouched for by the operator.
 */
export function interactionPolicyFor(runtime: Runtime) {
  const policy = base();
  // With `currentUser`, the session must be the host user's (host-session.ts).
  const login = policy.get('login')!;
  for (const check of hostSessionChecks(runtime)) login.checks.add(check);
  policy.add(selectOrganizationPrompt(runtime), 1);

  const consent = policy.get('consent')!;
  const nativeCheck = consent.checks.get('native_client_prompt')!;
  consent.checks.remove('native_client_prompt');
  consent.checks.add(
    new Check(nativeCheck.reason, nativeCheck.description, nativeCheck.error ?? 'interaction_required', (ctx: KoaContextWithOIDC) =>
      ctx.oidc.client?.['is_first_party'] === true ? Check.NO_NEED_TO_PROMPT : nativeCheck.check(ctx),
    ),
    0,
  );
  return policy;
}
