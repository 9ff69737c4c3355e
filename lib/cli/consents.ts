import type { Command } from 'commander';

import { action } from './actions.js';
import { addConnectionOptions } from './connection.js';
import { json, table } from './format.js';
import type { CliIo } from './io.js';

/** `orgconnect consents list|revoke`: a user's authorized applications (remembered consents). */
export function registerConsentsCommand(program: Command, io: CliIo, configure: (command: Command) => Command): Command {
  const consents = configure(program.command('consents').description("list or withdraw a user's consents to applications (needs --server)"));

  addConnectionOptions(consents.command('list').description('list the applications a user has authorized').argument('<user_id>')).action(
    action(io, ([userId]) => async (client, out) => {
      const { data } = await client.listAuthorizedApplications(userId!);
      if (out.json) return io.stdout(json(data));
      io.stdout(
        data.length === 0
          ? 'no authorized applications\n'
          : table(['CLIENT_ID', 'NAME', 'ORGANIZATION', 'SCOPES', 'GRANTED'], data.map((a) => [a.client_id, a.name, a.organization_id ?? '-', a.scopes.join(' '), a.granted_at])),
      );
    }),
  );

  addConnectionOptions(
    consents
      .command('revoke')
      .description("withdraw a user's consent to an application: its tokens end, the next sign-in asks again")
      .argument('<user_id>')
      .argument('<client_id>')
      .option('--organization <organization_id>', 'only the consent given for this organization'),
  ).action(
    action(io, ([userId, clientId], command) => async (client, out) => {
      const organization = command.opts<{ organization?: string }>().organization;
      await client.revokeAuthorizedApplication(userId!, clientId!, organization);
      io.stdout(out.json ? json({ object: 'authorized_application', user_id: userId, client_id: clientId, revoked: true }) : `revoked the consent of ${userId} to ${clientId}\n`);
    }),
  );
  return consents;
}
