/** Small HTTP helpers shared by the suites that talk to the token endpoint directly. */

/** An RFC 6749 section 2.3.1 `Authorization: Basic` value (id and secret form-encoded first). */
export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** A client_credentials token request with client_secret_basic. */
export async function clientCredentials(issuer: string, id: string, secret: string) {
  const response = await fetch(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, json: (await response.json()) as any };
}
