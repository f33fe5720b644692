// The Parley server in the lab's `pub` namespace, and its restart on the same port and database.
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { serverMain } from '../support/paths.ts';
import type { TestServer } from '../support/server.ts';
import { SERVICE_IP, sleep, type LabProcess, type Namespaces } from './netns.ts';

/** The server in `pub`; shaped like the harness's TestServer so the journey helpers take it. */
export interface LabServer extends TestServer {
  readonly origin: string;
  readonly process: LabProcess;
}

export interface LabServerOptions {
  /** Extra or overriding environment (STUN_URLS, TURN_URLS, TURN_SECRET, CALL_RECONNECT_GRACE_S, …). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /**
   * Listen on this port instead of a random one. With `dataDir`, a restart: pass a stopped server's
   * `port` and `dataDir` to start a new process on the same origin and the same SQLite file (sessions
   * live there, so signed-in browsers stay signed in). See `restartServer`.
   */
  port?: number;
  /** Use this folder's `parley.db` (an earlier server's `dataDir`) instead of a fresh folder. */
  dataDir?: string;
}

const SERVER_READY_TIMEOUT_MS = 30_000;

/** The Parley server in `pub` on 100.64.0.1, resolved once /healthz answers from inside `pub`. */
export async function startServer(spaces: Namespaces, options: LabServerOptions = {}): Promise<LabServer> {
  // A fresh namespace has every port free; a random one keeps two labs' origins apart.
  const port = options.port ?? 20_000 + Math.floor(Math.random() * 10_000);
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(spaces.dir, 'server-')));
  const origin = `http://${SERVICE_IP}:${port}`;
  const proc = spaces.spawn(
    'pub',
    process.execPath,
    ['--import', 'tsx', serverMain],
    {
      HOST: SERVICE_IP,
      PORT: String(port),
      DATABASE_URL: `sqlite:${path.join(dataDir, 'parley.db')}`,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PARLEY_DEMO_USERS: '1',
      // Nothing outside the lab: no public STUN server, no coturn started by the server itself.
      STUN_URLS: '',
      TURN_MODE: 'off',
      ...options.env,
    },
    'parley',
  );
  const server: LabServer = { url: origin, origin, port, dataDir, process: proc, output: proc.output, stop: proc.stop };

  const timeoutMs = options.readyTimeoutMs ?? SERVER_READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    if (proc.exited()) {
      throw new Error(`the Parley server exited (${proc.child.exitCode ?? proc.child.signalCode}) before /healthz answered:\n${proc.output()}`);
    }
    // The host cannot reach 100.64.0.1: ask from inside pub.
    last = await spaces.exec('pub', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '1', `${origin}/healthz`]).catch((err: Error) => err.message);
    if (last === '200') return server;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`the Parley server did not answer /healthz within ${timeoutMs} ms (${last}):\n${proc.output()}`);
    }
    await sleep(150);
  }
}

/**
 * Stops `server` (SIGTERM: a graceful close, as a deployment's restart does) and starts a new
 * process on the same port and SQLite file. Resolves once the new one answers /healthz.
 */
export async function restartServer(spaces: Namespaces, server: LabServer, options: Omit<LabServerOptions, 'port' | 'dataDir'> = {}): Promise<LabServer> {
  await server.stop();
  if (!server.process.exited()) throw new Error(`the Parley server on port ${server.port} did not exit`);
  return startServer(spaces, { ...options, port: server.port, dataDir: server.dataDir });
}
