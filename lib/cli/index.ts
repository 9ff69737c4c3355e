import type { Command } from 'commander';

import { registerApisCommand } from './apis.js';
import { registerAppsCommand } from './apps.js';
import { registerHashPasswordCommand } from './hash-password.js';
import { EXIT_USAGE, processIo, type CliIo } from './io.js';
import { registerSecretsCommand } from './secrets.js';
import { registerConsentsCommand } from './consents.js';

export type { CliInput, CliIo } from './io.js';
export { EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './io.js';

/**
 * Adds `orgconnect apps ...`, `orgconnect secrets ...`, `orgconnect consents ...` and
 * `orgconnect apis ...` to the CLI.
 * They reach the applications through a running server's admin API (`--server URL --admin-token
 * TOKEN`) or the Redis store directly (`--redis URL`). And `orgconnect hash-password`, which
 * reaches nothing: it hashes a password for the seed. Exit codes: 0 ok, 1 error (one line), 2 usage.
 * `io` is for tests: output and exit codes go there instead of the process.
 */
export function registerAdminCommands(program: Command, io: CliIo = processIo): Command {
  // Set on the parent before its subcommands are added, so they inherit it.
  const configure = (command: Command) =>
    command
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
      .exitOverride((error) => io.exit(error.exitCode === 0 ? 0 : EXIT_USAGE));
  registerAppsCommand(program, io, configure);
  registerSecretsCommand(program, io, configure);
  registerConsentsCommand(program, io, configure);
  registerApisCommand(program, io, configure);
  registerHashPasswordCommand(program, io, configure);
  return program;
}
