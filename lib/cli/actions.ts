import type { Command } from 'commander';

import type { AdminClient } from './client.js';
import { connect, resolveTarget, UsageError, type ConnectionOptions } from './connection.js';
import { EXIT_ERROR, EXIT_USAGE, oneLine, type CliIo } from './io.js';

/** The work of a command, once its arguments are checked: run against the chosen client. */
export type Work = (client: AdminClient, out: { json: boolean }) => Promise<void>;

/**
 * A commander action: `prepare` checks the arguments and options (a UsageError exits 2 before
 * anything is opened), then the work runs against the store or server; any failure prints one
 * line and exits 1. The connection is closed either way.
 */
export function action(io: CliIo, prepare: (args: string[], command: Command) => Work) {
  return async (...received: unknown[]): Promise<void> => {
    const command = received[received.length - 1] as Command;
    const args = received.slice(0, -2) as string[];
    let work: Work;
    let target: ReturnType<typeof resolveTarget>;
    try {
      work = prepare(args, command);
      target = resolveTarget(command);
    } catch (error) {
      if (error instanceof UsageError) command.error(`error: ${error.message}`, { exitCode: EXIT_USAGE, code: 'orgconnect.usage' });
      throw error;
    }
    let client: AdminClient | undefined;
    try {
      client = await connect(target);
      await work(client, { json: command.opts<ConnectionOptions>().json === true });
    } catch (error) {
      io.stderr(`orgconnect: ${oneLine(error)}\n`);
      io.fail(EXIT_ERROR);
    } finally {
      await client?.close().catch(() => {});
    }
  };
}
