import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What tests of outgoing fetches need (Client ID Metadata Documents): a throwaway CA and a leaf
 * certificate for IP:127.0.0.1 made with the openssl CLI, an https server on loopback that records
 * every connection and request, and providers in child processes that trust the CA
 * (NODE_EXTRA_CA_CERTS is read only at process start).
 */

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM file): what NODE_EXTRA_CA_CERTS names. */
  caFile: string;
  key: string;
  cert: string;
  remove(): void;
}

/** A CA and a leaf for 127.0.0.1, valid for a day, in a temporary folder. Throws if openssl is missing. */
export function makeTestCa(): TestCa {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`the openssl CLI is needed to make a test CA (install the openssl package): ${(error as Error).message}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'orgconnect-ca-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=orgconnect test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(file('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '1', '-extfile', 'leaf.ext');
  return {
    dir,
    caFile: file('ca.pem'),
    key: readFileSync(file('leaf.key'), 'utf8'),
    cert: readFileSync(file('leaf.pem'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface DocumentServer {
  /** https://127.0.0.1:<port> */
  origin: string;
  /** 127.0.0.1:<port> */
  host: string;
  /** Request paths, in order of arrival. */
  readonly requests: string[];
  /** TCP connections accepted (a fetch refused before it connects never adds one). */
  readonly connections: number;
  /** Serves `handler` at `path`; returns the URL. */
  route(path: string, handler: Handler): string;
  /** Serves `document(url)` as JSON at `path`; returns the URL (the document usually names it). */
  json(path: string, document: (url: string) => unknown): string;
  requestsFor(url: string): number;
  close(): Promise<void>;
}

/** An https server on 127.0.0.1 with the CA's leaf certificate; unknown paths answer 404. */
export async function startDocumentServer(ca: TestCa): Promise<DocumentServer> {
  const routes = new Map<string, Handler>();
  const requests: string[] = [];
  let connections = 0;
  const server: Server = createHttpsServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    requests.push(req.url ?? '');
    const handler = routes.get(new URL(req.url ?? '/', 'https://x').pathname);
    if (handler) return handler(req, res);
    res.writeHead(404).end();
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `https://127.0.0.1:${port}`;
  return {
    origin,
    host: `127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    route(path, handler) {
      routes.set(path, handler);
      return `${origin}${path}`;
    },
    json(path, document) {
      const url = `${origin}${path}`;
      routes.set(path, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document(url)));
      });
      return url;
    },
    requestsFor(url) {
      const { pathname, search } = new URL(url);
      return requests.filter((r) => r === `${pathname}${search}`).length;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ProviderProcess {
  issuer: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a provider process and resolves once it prints `readyPattern` (its first group, if any, is
 * the issuer; else `issuer`). Rejects with its output if it exits first or takes longer than 30 s.
 */
export function spawnProvider(
  args: string[],
  options: { env?: Record<string, string>; ready: RegExp; issuer?: string },
): Promise<ProviderProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: { ...process.env, PORT: '', ISSUER: '', SEED_FILE: '', ORGCONNECT_CIMD: '', ORGCONNECT_REGISTRATION: '', NODE_ENV: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`provider did not start within 30 s:\n${output}`));
    }, 30_000);
    const onData = (data: Buffer) => {
      output += data;
      const match = options.ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ issuer: match[1] ?? options.issuer ?? '', output: () => output, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`provider exited (${code}) before it was ready:\n${output}`));
    });
  });
}
