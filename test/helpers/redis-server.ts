import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Real redis-server processes for the Redis store tests. Every child and temp dir is also
 * registered for a synchronous clean-up on process exit: mocha runs with `exit: true`, and a
 * failing `before` must not leave servers behind.
 */
const children = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const onPath = (name: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

/** Whether redis-server (and redis-cli, which creates the cluster) are on PATH. */
export function redisAvailable(): boolean {
  return onPath('redis-server') && onPath('redis-cli');
}

/**
 * For a suite's `before`: in CI a missing Redis fails the run (a skipped suite would look green);
 * elsewhere the suite is skipped, loudly.
 */
export function requireRedis(context: Mocha.Context): void {
  if (redisAvailable()) return;
  if (process.env.CI) throw new Error('redis-server/redis-cli not found on PATH, and CI is set: the Redis store tests must run');
  console.warn('\n  !!! redis-server/redis-cli not found on PATH: SKIPPING the Redis store tests !!!\n');
  context.skip();
}

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A free port; for a cluster node also its bus port (port + 10000). */
async function freePort(withBus = false): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    if ((await canListen(port)) && (!withBus || (await canListen(port + 10000)))) return port;
  }
  throw new Error('no free port found');
}

/** Sends one command over a fresh socket and returns the raw reply (enough for PING and INFO). */
function rawCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('timeout')));
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      // A simple reply, an error, or a complete bulk string.
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      if ((/^[+-]/.test(reply) && reply.endsWith('\r\n')) || (bulk && reply.length >= bulk[0].length + Number(bulk[1]) + 2)) {
        socket.end();
        resolve(reply);
      }
    });
    socket.connect(port, '127.0.0.1', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function spawnServer(port: number, dir: string, extra: string[] = []): ChildProcess {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** SIGKILL, as in an outage. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the connection stays open but nothing answers. */
  pause(): void;
  resume(): void;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'orgconnect-redis-'));
  dirs.add(dir);
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawnServer(port, dir);
    await waitFor(`redis-server on port ${port}`, async () => (await rawCommand(port, 'PING')) === '+PONG\r\n');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => stopChild(child),
    restart: async () => {
      await stopChild(child);
      await start();
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
}

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** Three masters, no replicas, all 16384 slots assigned. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'orgconnect-redis-cluster-'));
  dirs.add(dir);
  const started: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map(stopChild));
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) ports.push(await freePort(true));
    for (const port of ports) {
      const config = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'];
      started.push(spawnServer(port, dir, config));
    }
    for (const port of ports) await waitFor(`cluster node ${port}`, async () => (await rawCommand(port, 'PING')) === '+PONG\r\n');
    await promisify(execFile)('redis-cli', [
      '--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes',
    ]);
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, async () => (await rawCommand(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'));
    }
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
