import type { Command } from 'commander';

import { formatPasswordHash, hashPassword } from '../accounts/passwords.js';
import { EXIT_ERROR, EXIT_USAGE, oneLine, type CliIo, type CliInput } from './io.js';

/** More than any password; a file piped by mistake is refused, not hashed. */
const MAX_INPUT_BYTES = 4096;

class InputError extends Error {}

/**
 * The password piped in: one line (a final newline is not part of it), UTF-8. It is read from stdin
 * because arguments are visible to every user of the machine (`ps`) and kept in shell history.
 */
async function readPipedPassword(stdin: CliInput): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > MAX_INPUT_BYTES) throw new InputError(`stdin has more than ${MAX_INPUT_BYTES} bytes: pipe the password alone`);
    chunks.push(bytes);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new InputError('stdin is not UTF-8 text');
  }
  const password = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(password)) throw new InputError('stdin has more than one line: pipe the password alone');
  return password;
}

/** A line typed at a terminal, not echoed. */
function readHiddenLine(stdin: CliInput, io: CliIo, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    io.stderr(prompt);
    let text = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      io.stderr('\n');
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new Error('cancelled'));
        if (char === '\u007f' || char === '\b') text = [...text].slice(0, -1).join('');
        else text += char;
      }
    };
    stdin.setRawMode!(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function readTypedPassword(stdin: CliInput, io: CliIo): Promise<string> {
  const password = await readHiddenLine(stdin, io, 'password: ');
  if (password && (await readHiddenLine(stdin, io, 'again: ')) !== password) throw new Error('the passwords differ');
  return password;
}

/**
 * `orgconnect hash-password`: reads a password from stdin (typed, not echoed, at a terminal; else
 * one piped line) and prints its scrypt hash for a seed user's `password_hash`. Exit codes: 0 ok,
 * 1 error, 2 usage (arguments given, empty or unusable input).
 */
export function registerHashPasswordCommand(program: Command, io: CliIo, configure: (command: Command) => Command): Command {
  return configure(program.command('hash-password'))
    .description("print the scrypt hash of a password read from stdin, for a seed user's password_hash")
    .addHelpText('after', `\nThe password is never an argument (visible in ps). Example:\n  printf '%s\\n' "$PASSWORD" | orgconnect hash-password\n`)
    .action(async (_options: unknown, command: Command) => {
      const stdin = io.stdin ?? process.stdin;
      let password: string;
      try {
        password = stdin.isTTY && stdin.setRawMode ? await readTypedPassword(stdin, io) : await readPipedPassword(stdin);
        if (password === '') throw new InputError('no password on stdin');
      } catch (error) {
        if (error instanceof InputError) command.error(`error: ${error.message}`, { exitCode: EXIT_USAGE, code: 'orgconnect.usage' });
        io.stderr(`orgconnect: ${oneLine(error)}\n`);
        io.fail(EXIT_ERROR);
        return;
      }
      io.stdout(`${formatPasswordHash(await hashPassword(password))}\n`);
    });
}
