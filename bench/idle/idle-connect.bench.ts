// Idle connects: how fast N authenticated people connect to one Parley node and how much memory
// each idle socket costs, against a bare socket.io server measured in the same run. Every socket
// is a different person, so anything a connect sends to others (presence) shows as a rate that
// falls with N. Clients live in other processes (≤ 5,000 sockets each: a process may hold 20,000
// files). Run the full sizes under `flock /tmp/parley-heavy.lock`.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { build } from 'esbuild';
import { seedDatabase, startParley } from '../lib/parley.ts';
import { freePort, repoRoot, rssBytes, startService, type Service } from '../lib/proc.ts';
import type { IdleJob, IdleReport } from './idle-worker.ts';

export interface IdleOptions {
  sizes: number[];
  perProcess: number;
  /** Handshakes in flight per client process. */
  parallel: number;
  /** A run that has not connected everyone by then stops and reports what it reached. */
  capMs: number;
  /**
   * Milliseconds of quiet before each memory reading (the server idle, then idle with its sockets);
   * 0 reads at once (the smoke). After it the reading waits for V8's memory reducer (below).
   */
  settleMs: number;
  /**
   * At most this long after the quiet for V8's memory reducer to run: a "Mark-Compact (reduce)" in
   * the server's `--trace-gc` output, after which RSS is read once it has stopped falling. The
   * reducer gives back the young generation's reserve (~30 MB here after start-up or a connect
   * burst) once the process looks idle, and at the latest by its watchdog, 100 s after the last
   * garbage collection; until it has run, RSS measures that reserve rather than the server.
   */
  reducerCapMs: number;
  /** Another checkout (e.g. a worktree of main) whose server is measured too, in the same run: "before" (startParley's `source`). */
  before?: string;
}

export const IDLE_SMOKE: IdleOptions = { sizes: [60], perProcess: 30, parallel: 10, capMs: 30_000, settleMs: 0, reducerCapMs: 0 };
/**
 * Parley's environment here beyond startParley's: as `npm start` runs it by default, without
 * METRICS_TOKEN (nothing here reads /metrics, and without the token prom-client never loads:
 * decision 019); every socket comes from 127.0.0.1, so the per-address connect budget a real
 * deployment keeps is lifted.
 */
export const IDLE_PARLEY_ENV: Record<string, string | undefined> = { SOCKET_CONNECTS_PER_ADDRESS: '1000000', METRICS_TOKEN: undefined };
export const IDLE_FULL: IdleOptions = { sizes: [19_500], perProcess: 5000, parallel: 50, capMs: 120_000, settleMs: 5_000, reducerCapMs: 110_000 };

export interface IdleRun {
  n: number;
  connected: number;
  failed: number;
  seconds: number;
  connectsPerS: number;
  /** Server RSS growth per connected socket, in KiB. */
  rssKbPerSocket: number;
  /** The server's own RSS, idle, before the first socket, in MB (settled: `settleMs`, then V8's memory reducer). */
  idleRssMb: number;
  /** Whether V8's memory reducer had run before each reading (idle, then with the sockets), within `reducerCapMs`. */
  settled: { idle: boolean; connected: boolean };
  /** The same, read as soon as the server answered (start-up's young generation still held). */
  startupRssMb: number;
  /** Frames the clients received while connecting, per client. */
  framesPerClient: number;
  finished: boolean;
}

export interface IdleResult {
  options: IdleOptions;
  sizes: Array<{ n: number; parley: IdleRun; socketio: IdleRun; before?: IdleRun; ratios: { rateVsSocketio: number; rssVsSocketio: number } }>;
}

const WORKER = path.join(import.meta.dirname, 'idle-worker.ts');
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function startWorker(): { child: ChildProcess; ready: Promise<void> } {
  const child = fork(WORKER, [], { cwd: repoRoot, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`idle worker exited with ${code}`)));
  });
  return { child, ready };
}

function reportOf(child: ChildProcess): Promise<IdleReport> {
  return new Promise((resolve, reject) => {
    child.on('message', (m: { type: string; report?: IdleReport; message?: string }) => {
      if (m.type === 'connected') resolve(m.report!);
      else if (m.type === 'error') reject(new Error(m.message));
    });
  });
}

/** Counts V8's memory-reducing collections in a server started with `--trace-gc`. */
export function reducerRuns(server: Service): () => { count: number; lastMs: number } {
  const seen = { count: 0, lastMs: 0 };
  readline.createInterface({ input: server.child.stdout! }).on('line', (line) => {
    if (line.includes('Mark-Compact (reduce)')) {
      seen.count++;
      seen.lastMs = Date.now();
    }
  });
  return () => seen;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RSS after `settleMs` of quiet, then once V8's memory reducer has run (a reduce collection after
 * the quiet began, and 3 s without another: it runs up to three in a row) and RSS has stopped
 * falling (two readings a second apart within 0.5 MB; at most 20 s more). The same for every
 * server measured. `settled` is false when the reducer did not run within `reducerCapMs`.
 */
export async function settledRss(pid: number, reducer: () => { count: number; lastMs: number }, opts: IdleOptions): Promise<{ rss: number; settled: boolean }> {
  const runsBefore = reducer().count;
  await sleep(opts.settleMs);
  if (opts.reducerCapMs === 0) return { rss: rssBytes(pid), settled: false };
  const deadline = Date.now() + opts.reducerCapMs;
  while (Date.now() < deadline && !(reducer().count > runsBefore && Date.now() - reducer().lastMs >= 3000)) await sleep(250);
  const settled = reducer().count > runsBefore;
  let last = rssBytes(pid);
  for (let i = 0; i < 20; i++) {
    await sleep(1000);
    const now = rssBytes(pid);
    if (last - now < 0.5e6) return { rss: now, settled };
    last = now;
  }
  return { rss: last, settled };
}

async function measure(kind: IdleJob['kind'], server: Service, identities: IdleJob['identities'], opts: IdleOptions): Promise<IdleRun> {
  const reducer = reducerRuns(server);
  const shares: IdleJob['identities'][] = [];
  for (let i = 0; i < identities.length; i += opts.perProcess) shares.push(identities.slice(i, i + opts.perProcess));
  const workers = shares.map(() => startWorker());
  try {
    await Promise.all(workers.map((w) => w.ready));
    await new Promise((r) => setTimeout(r, 300));
    const startupRssMb = round(rssBytes(server.pid) / 1e6, 1);
    const idle = await settledRss(server.pid, reducer, opts);
    const rssBefore = idle.rss;
    const idleRssMb = round(rssBefore / 1e6, 1);
    const started = Date.now();
    const deadline = started + opts.capMs;
    const reports = await Promise.all(
      workers.map((w, i) => {
        const job: IdleJob = { kind, url: server.url, identities: shares[i]!, parallel: opts.parallel, deadline };
        const done = reportOf(w.child);
        w.child.send({ type: 'connect', job });
        return done;
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 1000)); // let the last frames go out before reading memory
    const after = await settledRss(server.pid, reducer, opts);
    const rssAfter = after.rss;
    const connected = reports.reduce((s, r) => s + r.connected, 0);
    return {
      n: identities.length,
      connected,
      failed: reports.reduce((s, r) => s + r.failed, 0),
      seconds: round(seconds),
      connectsPerS: round(connected / seconds, 0),
      rssKbPerSocket: round((rssAfter - rssBefore) / 1024 / Math.max(1, connected), 1),
      idleRssMb,
      settled: { idle: idle.settled, connected: after.settled },
      startupRssMb,
      framesPerClient: round(reports.reduce((s, r) => s + r.framesReceived, 0) / Math.max(1, connected), 1),
      finished: connected === identities.length,
    };
  } finally {
    for (const w of workers) if (w.child.connected) w.child.send({ type: 'close' });
    await Promise.all(workers.map((w) => (w.child.exitCode === null ? new Promise((r) => w.child.once('exit', r)) : undefined)));
  }
}

/**
 * Every server measured prints its collections (`--trace-gc`, which changes no heap behaviour), so
 * that a reading can wait for V8's memory reducer (settledRss).
 */
export const TRACE_GC = ['--trace-gc'];

/**
 * The bare relay compiled to JavaScript and run in plain node, as Parley's server is (`npm start`):
 * under tsx the relay's idle RSS carried tsx's ~20 MB of compiler and loader.
 */
async function compiledRelay(): Promise<string> {
  const outfile = path.join(repoRoot, 'bench/baselines/dist/socketio-relay.mjs');
  await build({ entryPoints: [path.join(repoRoot, 'bench/baselines/socketio-relay.ts')], outfile, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return outfile;
}

export async function runIdle(opts: IdleOptions, log: (line: string) => void = () => undefined): Promise<IdleResult> {
  const sizes: IdleResult['sizes'] = [];
  for (const n of opts.sizes) {
    const seeded = await seedDatabase(n);
    try {
      const barePort = await freePort();
      const bare = await startService({ script: await compiledRelay(), tsx: false, args: [String(barePort)], port: barePort, nodeArgs: TRACE_GC });
      let socketio: IdleRun;
      try {
        socketio = await measure('socketio', bare, seeded.users.map((u) => ({ id: u.id })), opts);
      } finally {
        await bare.stop();
      }
      const parleyRun = async (source?: string) => {
        const parley = await startParley({ dbFile: seeded.file, env: IDLE_PARLEY_ENV, nodeArgs: TRACE_GC, ...(source ? { source } : {}) });
        try {
          return await measure('parley', parley, seeded.users.map((u) => ({ id: u.id, cookie: u.cookie })), opts);
        } finally {
          await parley.stop();
        }
      };
      const say = (name: string, r: IdleRun) =>
        log(
          `idle ${n}: ${name} ${r.connected}/${n} in ${r.seconds} s = ${r.connectsPerS}/s, ${r.rssKbPerSocket} KiB/socket, idle RSS ${r.idleRssMb} MB (${r.startupRssMb} MB at start-up), ` +
            `${r.framesPerClient} frames/client; memory reducer ran before the readings: ${r.settled.idle ? 'yes' : 'no'}, ${r.settled.connected ? 'yes' : 'no'}`,
        );
      say('bare socket.io', socketio);
      let before: IdleRun | undefined;
      if (opts.before) {
        before = await parleyRun(opts.before);
        say(`before (${opts.before})`, before);
      }
      const run = await parleyRun();
      say('Parley', run);
      sizes.push({
        n,
        parley: run,
        socketio,
        ...(before ? { before } : {}),
        ratios: { rateVsSocketio: round(run.connectsPerS / socketio.connectsPerS), rssVsSocketio: round(run.rssKbPerSocket / socketio.rssKbPerSocket) },
      });
    } finally {
      fs.rmSync(seeded.dir, { recursive: true, force: true });
    }
  }
  return { options: opts, sizes };
}

// `node --import tsx bench/idle/idle-connect.bench.ts [2000,5000] [--before /work/main]`: prints the table.
if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv[2]?.startsWith('--') ? undefined : process.argv[2]?.split(',').map(Number);
  const b = process.argv.indexOf('--before');
  const before = b > 0 ? process.argv[b + 1] : undefined;
  const r = await runIdle({ ...IDLE_FULL, ...(sizes ? { sizes } : {}), ...(before ? { before } : {}) }, console.log);
  for (const s of r.sizes) {
    console.log(
      `${s.n} sockets: Parley ${s.parley.connectsPerS}/s${s.parley.finished ? '' : ` (only ${s.parley.connected} within ${r.options.capMs / 1000} s)`} vs bare ${s.socketio.connectsPerS}/s = ${s.ratios.rateVsSocketio}× the rate; ` +
        `${s.parley.rssKbPerSocket} vs ${s.socketio.rssKbPerSocket} KiB per idle socket = ${s.ratios.rssVsSocketio}×; idle RSS ${s.parley.idleRssMb} MB vs ${s.socketio.idleRssMb} MB` +
        (s.before ? `; before: ${s.before.connectsPerS}/s, ${s.before.rssKbPerSocket} KiB per socket, idle RSS ${s.before.idleRssMb} MB` : ''),
    );
  }
  console.log(JSON.stringify(r));
}
