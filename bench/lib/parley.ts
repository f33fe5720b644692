import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, migrate } from '../../apps/server/src/db/database.ts';
import { SessionsStore } from '../../apps/server/src/features/auth/sessions-store.ts';
import { hashPassword } from '../../apps/server/src/lib/password.ts';
import { execFile } from 'node:child_process';
import { cpuSeconds, freePort, repoRoot, startService, type Service } from './proc.ts';

export interface SeededUser {
  id: string;
  email: string;
  /** `parley_session=<token>`: a live session made in the database, as a sign-in would. */
  cookie: string;
}

export const METRICS_TOKEN = 'bench-metrics-token-0123456789';

/**
 * A fresh SQLite database with `n` people and a session each. One password hash for all of them:
 * a benchmark of signalling should not spend minutes in scrypt first.
 */
export async function seedDatabase(n: number): Promise<{ file: string; users: SeededUser[]; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
  const file = path.join(dir, 'parley.db');
  const db = createDb({ kind: 'sqlite', file });
  try {
    await migrate(db);
    const hash = await hashPassword('bench-password');
    const now = Date.now();
    const rows = Array.from({ length: n }, (_, i) => ({
      id: randomUUID(),
      email: `bench-${i}@bench.invalid`,
      name: `Bench ${i}`,
      role: 'nurse' as const,
      password_hash: hash,
      active: 1,
      created_at: now,
      updated_at: now,
    }));
    for (let i = 0; i < rows.length; i += 200) await db.insertInto('users').values(rows.slice(i, i + 200)).execute();
    const sessions = new SessionsStore(db, 24 * 3600_000);
    const users: SeededUser[] = [];
    for (const r of rows) users.push({ id: r.id, email: r.email, cookie: `parley_session=${(await sessions.create(r.id)).token}` });
    return { file, users, dir };
  } finally {
    await db.destroy();
  }
}

/** A copy of a seeded database (closed) next to it, for a second server to start from the same state. */
export function copyDatabase(file: string, name: string): string {
  const copy = path.join(path.dirname(file), `${name}.db`);
  fs.copyFileSync(file, copy);
  if (fs.existsSync(`${file}-wal`)) fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
  return copy;
}

const built = new Map<string, Promise<void>>();
/** `npm run build:server` (of this checkout, or another's) once per benchmark process: what `npm start` runs. */
export function buildServer(root = repoRoot): Promise<void> {
  let b = built.get(root);
  if (!b) {
    b = new Promise((resolve, reject) => {
      execFile(process.execPath, [path.join(root, 'scripts/build-server.mjs')], { cwd: root }, (err, _out, stderr) => (err ? reject(new Error(`build-server failed in ${root}: ${stderr}`)) : resolve()));
    });
    built.set(root, b);
  }
  return b;
}

/**
 * The environment `npm start` gives the server in `root`'s package.json: the `NAME=value` (or
 * `NAME=${NAME:-value}`, which keeps a value the caller set) assignments in front of its final
 * `node` command. Read from the checkout measured, so a `--before` checkout runs as its own start did.
 */
export function launchEnv(root = repoRoot): Record<string, string> {
  const start = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts?.start ?? '';
  const command = start.split('&&').at(-1)!.trim();
  const env: Record<string, string> = {};
  for (const [, name, value] of command.slice(0, Math.max(0, command.search(/(^|\s)node\s/))).matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) {
    const fallback = /^\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}$/.exec(value!);
    env[name!] = fallback ? (process.env[fallback[1]!] ?? fallback[2]!) : value!;
  }
  return env;
}

/**
 * `BENCH_PARLEY_ENV="NAME=value,OTHER="`: variables for Parley's servers only (an empty value
 * unsets one), to measure a setting with and without in the same conditions, e.g.
 * `BENCH_PARLEY_ENV=MALLOC_ARENA_MAX= npm run bench -- --only chat` runs without the arena limit.
 */
function benchOverrides(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const pair of (process.env.BENCH_PARLEY_ENV ?? '').split(',').filter(Boolean)) {
    const at = pair.indexOf('=');
    const value = at < 0 ? '' : pair.slice(at + 1);
    out[at < 0 ? pair : pair.slice(0, at)] = value === '' ? undefined : value;
  }
  return out;
}

/**
 * Parley's own entry point in a child process, on a seeded database: as `npm start` runs it (the
 * compiled apps/server/dist/main.js in plain node, built first). With `source`, another checkout's
 * server (a path measures another version): compiled the same way when that checkout has
 * scripts/build-server.mjs, else its apps/server/src/main.ts under tsx (as `npm start` ran it then).
 */
export async function startParley(opts: { dbFile: string; cpu?: number; env?: Record<string, string | undefined>; source?: string; nodeArgs?: string[] }): Promise<Service> {
  const port = await freePort();
  const root = opts.source ?? repoRoot;
  const compiled = fs.existsSync(path.join(root, 'scripts/build-server.mjs'));
  if (compiled) await buildServer(root);
  return startService({
    ...(compiled ? { script: path.join(root, 'apps/server/dist/main.js'), tsx: false, cwd: root } : { script: path.join(root, 'apps/server/src/main.ts'), cwd: root }),
    port,
    cpu: opts.cpu,
    readyPath: '/healthz',
    // BENCH_CPU_PROF=DIR: a V8 CPU profile of the server (node --cpu-prof), to see where it spends.
    nodeArgs: [...(opts.nodeArgs ?? []), ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
    env: {
      // What the start script sets in front of node (MALLOC_ARENA_MAX, decision 014).
      ...launchEnv(root),
      NODE_ENV: 'production',
      PARLEY_DEMO_USERS: '0',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: `sqlite:${opts.dbFile}`,
      LOG_LEVEL: 'warn',
      TURN_MODE: 'off',
      STUN_URLS: '',
      METRICS_TOKEN,
      // Every benchmark client connects from 127.0.0.1: lift the per-address handshake budget
      // (300 a minute) that a deployment keeps; every other limit stays as shipped unless a
      // benchmark says otherwise.
      SOCKET_CONNECTS_PER_ADDRESS: '1000000',
      ...opts.env,
      ...benchOverrides(),
    },
  });
}

export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * The server's event-loop delay since the previous call, from its /metrics (prom-client samples
 * it with perf_hooks.monitorEventLoopDelay and starts a new histogram at each scrape): call it
 * once before the measured phase and once after.
 */
export async function eventLoopLag(url: string): Promise<EventLoopLag> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const read = (name: string) => {
    const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
    return m ? Math.round(Number(m[1]) * 1e5) / 100 : Number.NaN;
  };
  return { p50Ms: read('nodejs_eventloop_lag_p50_seconds'), p99Ms: read('nodejs_eventloop_lag_p99_seconds'), maxMs: read('nodejs_eventloop_lag_max_seconds') };
}

/**
 * Hooks for a benchmark's measured phase (runWorkers' before/after): the server's CPU seconds over
 * the phase and, for Parley, its event-loop delay during it (read once before to start afresh).
 */
export function measuredPhase(kind: string, server: Service) {
  let cpu0 = 0;
  let cpu1 = 0;
  let lag: EventLoopLag | undefined;
  return {
    hooks: {
      before: async () => {
        if (kind === 'parley') await eventLoopLag(server.url);
        cpu0 = cpuSeconds(server.pid);
      },
      after: async () => {
        cpu1 = cpuSeconds(server.pid);
        if (kind === 'parley') lag = await eventLoopLag(server.url);
      },
    },
    cpuSeconds: () => cpu1 - cpu0,
    eventLoopLag: () => lag,
  };
}
