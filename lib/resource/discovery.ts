import { VerifierError } from './errors.js';

/** The few members of the issuer's discovery document the verifier uses. */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  introspection_endpoint?: string;
}

/**
 * Fetches `${issuer}/.well-known/openid-configuration` (OIDC Discovery: the suffix goes after the
 * issuer's path, which is where orgconnect serves it when mounted under a path). The document
 * must name the same issuer (OIDC Discovery section 4.3): otherwise its `jwks_uri` could be anyone's.
 * Redirects are not followed, like jose does for the JWKS.
 */
export async function fetchIssuerMetadata(issuer: string, timeoutMs: number): Promise<IssuerMetadata> {
  const url = `${issuer}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw new VerifierError(`cannot fetch the discovery document ${url}: ${(cause as Error).message}`, { cause });
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new VerifierError(`the discovery document ${url} answered HTTP ${response.status}`);
  }
  let document: Partial<Record<keyof IssuerMetadata, unknown>>;
  try {
    document = (await response.json()) as typeof document;
  } catch (cause) {
    throw new VerifierError(`the discovery document ${url} is not JSON`, { cause });
  }
  if (typeof document !== 'object' || document === null) throw new VerifierError(`the discovery document ${url} is not a JSON object`);
  if (document.issuer !== issuer) {
    throw new VerifierError(`the discovery document ${url} is for issuer ${JSON.stringify(document.issuer)}, not ${JSON.stringify(issuer)}`);
  }
  if (typeof document.jwks_uri !== 'string' || !URL.canParse(document.jwks_uri)) {
    throw new VerifierError(`the discovery document ${url} has no valid jwks_uri`);
  }
  const introspection = document.introspection_endpoint;
  return {
    issuer,
    jwks_uri: document.jwks_uri,
    ...(typeof introspection === 'string' && URL.canParse(introspection) ? { introspection_endpoint: introspection } : {}),
  };
}
