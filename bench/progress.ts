/** Progress on stderr (stdout carries the report): a line per step, a live counter while a run goes. */
const live = process.stderr.isTTY === true;
let lastLine = 0;

export function log(message: string): void {
  if (live) process.stderr.write('\r\x1b[K');
  process.stderr.write(`${message}\n`);
}

/** A callback for runs: `label done/total`, in place on a terminal, every 5 s otherwise. */
export function ticker(label: string, total: number): (done: number) => void {
  return (done) => {
    if (live) process.stderr.write(`\r\x1b[K  ${label} ${done}/${total}`);
    else if (Date.now() - lastLine > 5000) {
      lastLine = Date.now();
      process.stderr.write(`  ${label} ${done}/${total}\n`);
    }
  };
}

export const mb = (bytes: number | undefined) => (bytes === undefined || Number.isNaN(bytes) ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MB`);
