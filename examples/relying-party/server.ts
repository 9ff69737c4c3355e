/**
 * An Express app that signs its users in with an orgconnect provider, using openid-client's
 * Passport strategy. Configured by discovery alone: the issuer URL, a client id and secret.
 *
 *   ISSUER=http://127.0.0.1:3000/oauth node --import tsx examples/relying-party/server.ts
 *
 * Env: ISSUER (http://127.0.0.1:3000/oauth), PORT (4000; 0 = any free port), HOST (127.0.0.1),
 * CLIENT_ID (example-rp), CLIENT_SECRET (example-rp-secret-change-me),
 * REDIRECT_URI (http://HOST:PORT/auth/callback), SESSION_SECRET.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';
import session from 'express-session';
import * as client from 'openid-client';
import { Strategy, type VerifyFunction } from 'openid-client/passport';
import passport from 'passport';

const server = createServer();
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 4000), process.env.HOST ?? '127.0.0.1', resolve));
const { address, port } = server.address() as AddressInfo;
const origin = `http://${address}:${port}`;

const issuer = new URL(process.env.ISSUER ?? 'http://127.0.0.1:3000/oauth');
const config = await client.discovery(
  issuer,
  process.env.CLIENT_ID ?? 'example-rp',
  process.env.CLIENT_SECRET ?? 'example-rp-secret-change-me',
  undefined,
  issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined, // plain http: local development only
);

interface SignedInUser {
  sub: string;
  email?: string;
  name?: string;
  /** The organization the user signed in for: the access token's org_id claim (none for a user without one). */
  org_id?: string;
}

const verify: VerifyFunction = (tokens, done) => {
  const claims = tokens.claims()!;
  // orgconnect's access tokens are JWTs; the organization picked while signing in is their org_id.
  const accessToken = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { org_id?: string };
  const user: SignedInUser = { sub: claims.sub, email: claims.email as string | undefined, name: claims.name as string | undefined, org_id: accessToken.org_id };
  done(null, user);
};

passport.use('orgconnect', new Strategy({ config, scope: 'openid profile email', callbackURL: process.env.REDIRECT_URI ?? `${origin}/auth/callback` }, verify));
passport.serializeUser((user, done) => done(null, user));
passport.deserializeUser((user: Express.User, done) => done(null, user));

const app = express();
app.use(session({ secret: process.env.SESSION_SECRET ?? randomBytes(32).toString('hex'), resave: false, saveUninitialized: false }));
app.use(passport.initialize());
app.use(passport.session());

app.get('/', (req, res) => {
  const user = req.user as SignedInUser | undefined;
  res.type('html').send(
    user
      ? `<p>Signed in as ${user.name ?? user.sub} (${user.email ?? 'no email'})${user.org_id ? ` for ${user.org_id}` : ''}. <a href="/logout">Sign out</a></p>`
      : '<p><a href="/login">Sign in with orgconnect</a></p>',
  );
});
app.get('/me', (req, res) => {
  if (!req.user) return void res.status(401).json({ error: 'not signed in' });
  res.json(req.user);
});
app.get('/login', passport.authenticate('orgconnect'));
app.get('/auth/callback', passport.authenticate('orgconnect', { successRedirect: '/', failureRedirect: '/' }));
app.get('/logout', (req, res, next) => {
  req.logout((error) => (error ? next(error) : res.redirect('/')));
});

server.on('request', app);
console.log(`relying-party listening on ${origin} (issuer ${issuer.href})`);

const stop = () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
