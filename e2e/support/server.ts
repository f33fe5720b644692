import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, serverMain, webDist } from './paths.ts';
import { freePort } from '../../apps/server/src/testing/ports.ts';

export interface StartServerOptions {
  /** Extra or overriding environment variables for the server process. */
  env?: Record<string, string>;
  /** How long to wait for /healthz to answer 200. */
  readyTimeoutMs?: number;
}

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  port: number;
  /** The temp folder holding this server's database. */
  dataDir: string;
  /** The last lines the server wrote to stdout and stderr, for failure messages. */
  output(): string;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const KILL_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 16_000;

// Servers still running when the test process exits (a crash, a bail-out) are killed on the way out,
// so a failed run never leaves a server holding a port.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export { freePort };

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * Starts the real Parley server (`node --import tsx apps/server/src/main.ts`) on a free port with a
 * fresh SQLite database in its own temp folder, and resolves once GET /healthz answers 200.
 */
export async function startServer(opts: StartServerOptions = {}): Promise<TestServer> {
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-server-'));
  const url = `http://127.0.0.1:${port}`;
  // The server lists its static files once at start-up, so a rebuild of apps/web/dist during the
  // run (another terminal, another run's global setup) would leave it serving an index.html whose
  // scripts it 404s. Each server serves its own copy of the build it started with.
  let webCopy: string | undefined;
  if (opts.env?.WEB_DIST === undefined) {
    webCopy = path.join(dataDir, 'web');
    try {
      await cp(webDist, webCopy, { recursive: true });
    } catch {
      webCopy = undefined; // not built: let the server say so itself
    }
  }

  let tail = '';
  const record = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };

  const child = spawn(process.execPath, ['--import', 'tsx', serverMain], {
    // tsx is resolved from the working directory: the repo root's node_modules.
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${path.join(dataDir, 'parley.db')}`,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PARLEY_DEMO_USERS: '1',
      ...(webCopy ? { WEB_DIST: webCopy } : {}),
      // Loopback only: no public STUN server, no managed coturn (tests that need TURN start their own).
      STUN_URLS: '',
      TURN_MODE: 'off',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  child.once('exit', () => live.delete(child));

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (!exited(child)) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, KILL_GRACE_MS))) {
          child.kill('SIGKILL');
          await waitForExit(child, KILL_GRACE_MS);
        }
      }
      live.delete(child);
      await rm(dataDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const server: TestServer = { url, port, dataDir, output: () => tail, stop };

  const timeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let lastProblem: string;
  for (;;) {
    if (spawnError || exited(child)) {
      const how = spawnError ? `could not start (${spawnError.message})` : `exited with ${child.exitCode ?? child.signalCode}`;
      await stop();
      throw new Error(`Parley server ${how} before /healthz answered.\n--- server output (tail) ---\n${tail}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) return server;
      lastProblem = `/healthz answered ${res.status}`;
    } catch (err) {
      lastProblem = (err as Error).cause ? String((err as Error).cause) : String(err);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `Parley server did not become healthy within ${timeoutMs} ms at ${url} (${lastProblem}).\n` +
          `--- server output (tail) ---\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}
