import type { ApplicationInput } from '../../lib/index.js';

/** The app the relying-party example signs in with, registered by both host examples. */
export const relyingPartyApp: ApplicationInput = {
  application_type: 'oauth',
  is_first_party: true,
  name: 'Example relying party',
  client_id: process.env.RP_CLIENT_ID ?? 'example-rp',
  client_secret: process.env.RP_CLIENT_SECRET ?? 'example-rp-secret-change-me',
  redirect_uris: [process.env.RP_REDIRECT_URI ?? 'http://127.0.0.1:4000/auth/callback'],
};
