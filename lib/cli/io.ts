/** What a command reads from: process.stdin, or a stream in tests. `setRawMode` only on a terminal. */
export type CliInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };

/**
 * Where the admin commands read and write and how they end. The process IO writes to stdout/stderr and
 * sets the exit code; tests pass their own to run commands in-process.
 * Exit codes: 0 ok, 1 error (one line on stderr, never a stack), 2 usage.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The command failed: record the exit code and return (connections still close). */
  fail(code: number): void;
  /** Ends now with this code (usage errors, help): never returns normally. */
  exit(code: number): never;
  /** Input (`hash-password` reads the password there). Default: process.stdin. */
  stdin?: CliInput;
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  fail: (code) => {
    process.exitCode = code;
  },
  exit: (code) => process.exit(code),
};

/** One line for a person: the message of an error, never its stack. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim() || 'unknown error';
}
