import type { Command } from 'commander';

import { action } from './actions.js';
import { addConnectionOptions } from './connection.js';
import { json, plaintextSecret, secretTable, STORE_IT_NOW } from './format.js';
import type { CliIo } from './io.js';

/** `orgconnect secrets create|list|revoke`: client secrets, for rotation. */
export function registerSecretsCommand(program: Command, io: CliIo, configure: (command: Command) => Command): Command {
  const secrets = configure(
    program.command('secrets').description("manage an application's client secrets (rotate: create, deploy, revoke the old one)"),
  );

  addConnectionOptions(secrets.command('create').description('create a client secret; prints it once').argument('<client_id>')).action(
    action(io, ([clientId]) => async (client, out) => {
      const created = await client.createSecret(clientId!);
      if (out.json) {
        io.stdout(json(created));
        io.stderr(`${STORE_IT_NOW}\n`);
        return;
      }
      io.stdout(`created client secret ${created.id} for ${clientId}\n${plaintextSecret('client_secret', created.secret)}`);
    }),
  );

  addConnectionOptions(secrets.command('list').description("list an application's client secrets (never the secrets themselves)").argument('<client_id>')).action(
    action(io, ([clientId]) => async (client, out) => {
      const { data } = await client.listSecrets(clientId!);
      io.stdout(out.json ? json(data) : secretTable(data));
    }),
  );

  addConnectionOptions(
    secrets.command('revoke').description('revoke a client secret at once').argument('<client_id>').argument('<secret_id>'),
  ).action(
    action(io, ([clientId, secretId]) => async (client, out) => {
      await client.revokeSecret(clientId!, secretId!);
      io.stdout(out.json ? json({ object: 'client_secret', id: secretId, revoked: true }) : `revoked client secret ${secretId} of ${clientId}\n`);
    }),
  );

  return secrets;
}
