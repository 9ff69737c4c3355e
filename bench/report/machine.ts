import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export interface MachineInfo {
  nproc: string;
  cpuModel: string;
  memory: string;
  node: string;
  oidcProvider: string;
  redis?: string;
  platform: string;
  /** git commit of the code under test, and how many files of lib/ adapters/ views/ differ from it */
  revision?: string;
  /** load average when the bench started and ended: other work on the machine skews the numbers */
  loadAverageStart: number[];
  loadAverageEnd?: number[];
  /** where the processes ran (bench/pin.ts), when pinned */
  pinning?: string;
}

const run = (command: string, args: string[]) => {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
};

/** `free -h`, as "23Gi total, 22Gi available". */
function freeMemory(): string | undefined {
  const [, total, , , , , available] = run('free', ['-h'])?.split('\n')[1]?.split(/\s+/) ?? [];
  return total && available ? `${total} total, ${available} available` : undefined;
}

function revision(): string | undefined {
  const cwd = new URL('../../', import.meta.url);
  const commit = run('git', ['-C', cwd.pathname, 'rev-parse', '--short', 'HEAD']);
  if (!commit) return undefined;
  const dirty = run('git', ['-C', cwd.pathname, 'status', '--porcelain', '--', 'lib', 'views'])?.split('\n').filter(Boolean).length ?? 0;
  return dirty ? `${commit} + ${dirty} uncommitted file(s) in lib/ adapters/ views/` : commit;
}

export function machineInfo(): MachineInfo {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const oidcProvider = JSON.parse(readFileSync(new URL('../../node_modules/oidc-provider/package.json', import.meta.url), 'utf8')).version as string;
  return {
    nproc: run('nproc', []) ?? String(cpus().length),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    memory: freeMemory() ?? `${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`,
    node: process.version,
    oidcProvider,
    redis: run('redis-server', ['--version']),
    platform: `${process.platform} ${process.arch}`,
    revision: revision(),
    loadAverageStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
