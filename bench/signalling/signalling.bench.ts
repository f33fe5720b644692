// Bench 2, signalling under load: offer/answer/ICE forward latency and server CPU per 1,000
// messages during N concurrent call set-ups, through Parley, a bare socket.io relay and the PeerJS
// server, each pinned to one core, with the clients in other processes.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Identity, ServerKind } from '../lib/clients.ts';
import { copyDatabase, measuredPhase, seedDatabase, startParley, type EventLoopLag } from '../lib/parley.ts';
import { freePort, rssBytes, startService, type Service } from '../lib/proc.ts';
import { median, ratio, summarize, type Summary } from '../lib/stats.ts';
import type { Pair } from '../lib/worker.ts';
import { runWorkers } from '../lib/workers.ts';

export interface SignallingOptions {
  calls: number;
  /** The invites go out spread evenly over this window… */
  spreadMs: number;
  /** …then the callees answer, spread over this one. */
  answerSpreadMs: number;
  iceEach: number;
  iceGapMs: number;
  workers: number;
  /** Pin the server to core 1 and the clients to core 0. */
  pin: boolean;
  /** Another checkout (e.g. a worktree of main) whose server is measured too, in the same run, on its own copy of the database: "before" (startParley's `source`). */
  before?: string;
}

export interface ServerFigures {
  /** offer, answer and ICE together. */
  forwardMs: Summary;
  perKindMs: Record<string, Summary>;
  messages: number;
  cpuSeconds: number;
  cpuMsPer1000Messages: number;
  rssMb: number;
  completed: number;
  failed: number;
  refused: number;
  /** Parley: its event-loop delay during the measured phase. */
  eventLoopLag?: EventLoopLag;
}

export interface SignallingResult {
  options: SignallingOptions;
  servers: Record<ServerKind, ServerFigures>;
  ratios: { p99VsSocketio: number; p99VsPeerjs: number; cpuVsSocketio: number };
  /** With `before`: that checkout's Parley on the same load, in the same run (just before this one's). */
  before?: ServerFigures & { source: string; cpuVsSocketio: number; p99VsSocketio: number };
}

export const SIGNALLING_FULL: SignallingOptions = { calls: 1000, spreadMs: 1000, answerSpreadMs: 5000, iceEach: 4, iceGapMs: 20, workers: 2, pin: true };
export const SIGNALLING_SMOKE: SignallingOptions = { calls: 10, spreadMs: 100, answerSpreadMs: 100, iceEach: 2, iceGapMs: 5, workers: 1, pin: false };

async function measure(kind: ServerKind, server: Service, pairs: Pair[], o: SignallingOptions): Promise<ServerFigures> {
  const phase = measuredPhase(kind, server);
  const result = await runWorkers(
    { scenario: 'signalling', kind, url: server.url, pairs, spreadMs: o.spreadMs, answerSpreadMs: o.answerSpreadMs, iceEach: o.iceEach, iceGapMs: o.iceGapMs, timeoutMs: 60_000 + o.spreadMs + o.answerSpreadMs },
    o.workers,
    o.pin ? 0 : undefined,
    phase.hooks,
  );
  const all = [...(result.latencyMs.offer ?? []), ...(result.latencyMs.answer ?? []), ...(result.latencyMs.ice ?? [])];
  const cpu = phase.cpuSeconds();
  return {
    forwardMs: summarize(all),
    perKindMs: Object.fromEntries(Object.entries(result.latencyMs).map(([k, v]) => [k, summarize(v)])),
    messages: result.sent,
    cpuSeconds: Math.round(cpu * 100) / 100,
    cpuMsPer1000Messages: Math.round(((cpu * 1000) / Math.max(1, result.sent)) * 1000 * 100) / 100,
    rssMb: Math.round(rssBytes(server.pid) / 1e5) / 10,
    completed: result.completed,
    failed: result.failed,
    refused: result.refused,
    ...(phase.eventLoopLag() ? { eventLoopLag: phase.eventLoopLag() } : {}),
  };
}

/** One server's figures as the progress log prints them. */
function describe(f: ServerFigures, calls: number): string {
  const lag = f.eventLoopLag ? `, event-loop lag p99 ${f.eventLoopLag.p99Ms} / max ${f.eventLoopLag.maxMs} ms` : '';
  return `p50 ${f.forwardMs.p50} ms, p99 ${f.forwardMs.p99} ms, ${f.cpuMsPer1000Messages} CPU-ms / 1,000 messages, ${f.completed}/${calls} completed${lag}`;
}

/** The seeded people, two by two: caller and callee of each call set-up. */
function seededPairs(users: readonly Identity[], calls: number): Pair[] {
  return Array.from({ length: calls }, (_, i) => ({ a: users[2 * i]!, b: users[2 * i + 1]! }));
}

/** A Parley (this checkout's, or `source`'s) on `dbFile`, measured on `pairs`, then stopped. */
async function measureParley(dbFile: string, source: string | undefined, pairs: Pair[], o: SignallingOptions): Promise<ServerFigures> {
  const server = await startParley({ dbFile, cpu: o.pin ? 1 : undefined, ...(source ? { source } : {}) });
  try {
    return await measure('parley', server, pairs, o);
  } finally {
    await server.stop();
  }
}

export async function runSignalling(o: SignallingOptions, log: (s: string) => void = () => undefined): Promise<SignallingResult> {
  const cpu = o.pin ? 1 : undefined;
  const seeded = await seedDatabase(o.calls * 2);
  const servers = {} as Record<ServerKind, ServerFigures>;
  let before: ServerFigures | undefined;
  // A call set-up writes its history into the database: each Parley gets the seeded database as it was.
  const beforeDb = o.before ? copyDatabase(seeded.file, 'before') : undefined;
  try {
    const parleyPairs = seededPairs(seeded.users, o.calls);
    const anon = (): Identity => ({ id: randomUUID() });
    const barePairs = (): Pair[] => Array.from({ length: o.calls }, () => ({ a: anon(), b: anon() }));

    if (o.before && beforeDb) {
      log(`signalling: parley before (${o.before}), ${o.calls} call set-ups…`);
      before = await measureParley(beforeDb, o.before, parleyPairs, o);
      log(`  before: ${describe(before, o.calls)}`);
    }
    for (const kind of ['socketio', 'peerjs', 'parley'] as const) {
      log(`signalling: ${kind}, ${o.calls} call set-ups…`);
      const server =
        kind === 'parley'
          ? await startParley({ dbFile: seeded.file, cpu })
          : await (async () => {
              const port = await freePort();
              const script = kind === 'socketio' ? 'bench/baselines/socketio-relay.ts' : 'bench/baselines/peerjs-server.ts';
              // BENCH_CPU_PROF=DIR profiles the baselines too (DIR/socketio, DIR/peerjs), to compare like with like.
              const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}/${kind}`] : [];
              return startService({ script, args: [String(port)], port, cpu, nodeArgs: prof, readyPath: kind === 'peerjs' ? '/peerjs' : '/' });
            })();
      try {
        servers[kind] = await measure(kind, server, kind === 'parley' ? parleyPairs : barePairs(), o);
      } finally {
        await server.stop();
      }
      const f = servers[kind];
      log(`  ${kind}: ${describe(f, o.calls)}`);
    }
  } finally {
    fs.rmSync(seeded.dir, { recursive: true, force: true });
  }
  return {
    options: o,
    servers,
    ratios: {
      p99VsSocketio: ratio(servers.parley.forwardMs.p99, servers.socketio.forwardMs.p99),
      p99VsPeerjs: ratio(servers.parley.forwardMs.p99, servers.peerjs.forwardMs.p99),
      cpuVsSocketio: ratio(servers.parley.cpuMsPer1000Messages, servers.socketio.cpuMsPer1000Messages),
    },
    ...(before && o.before
      ? {
          before: {
            ...before,
            source: o.before,
            cpuVsSocketio: ratio(before.cpuMsPer1000Messages, servers.socketio.cpuMsPer1000Messages),
            p99VsSocketio: ratio(before.forwardMs.p99, servers.socketio.forwardMs.p99),
          },
        }
      : {}),
  };
}

export interface AbRound {
  round: number;
  server: 'before' | 'after';
  cpuMsPer1000Messages: number;
  p50: number;
  p99: number;
  completed: number;
}

/**
 * Parley against another checkout only, alternated: `rounds` rounds of before → after → after →
 * before…, each server on its own copy of the seeded database. The full run measures its servers
 * one after another, so a machine whose load drifts by the minute favours whichever ran at the
 * quieter moment; alternating spreads that over both. No baselines.
 */
export async function runSignallingAb(o: SignallingOptions & { before: string }, rounds: number, log: (s: string) => void = () => undefined): Promise<AbRound[]> {
  const seeded = await seedDatabase(o.calls * 2);
  const out: AbRound[] = [];
  try {
    const pairs = seededPairs(seeded.users, o.calls);
    for (let round = 0; round < rounds; round++) {
      const order: Array<'before' | 'after'> = round % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
      for (const which of order) {
        // A call set-up writes its history: every run starts from the seeded database as it was.
        const f = await measureParley(copyDatabase(seeded.file, `${which}-${round}`), which === 'before' ? o.before : undefined, pairs, o);
        const r = { round, server: which, cpuMsPer1000Messages: f.cpuMsPer1000Messages, p50: f.forwardMs.p50, p99: f.forwardMs.p99, completed: f.completed };
        out.push(r);
        log(`  round ${round} ${which}: ${r.cpuMsPer1000Messages} CPU-ms / 1,000 messages, p50 ${r.p50} / p99 ${r.p99} ms, ${r.completed}/${o.calls} completed`);
      }
    }
  } finally {
    fs.rmSync(seeded.dir, { recursive: true, force: true });
  }
  return out;
}

// `node --import tsx bench/signalling/signalling.bench.ts [--smoke] [--before DIR [--ab ROUNDS]]`
if (import.meta.filename === process.argv[1]) {
  const smoke = process.argv.includes('--smoke');
  const b = process.argv.indexOf('--before');
  const before = b > 0 ? process.argv[b + 1] : undefined;
  const ab = process.argv.indexOf('--ab');
  const o = smoke ? SIGNALLING_SMOKE : SIGNALLING_FULL;
  const roundsArg = ab > 0 ? Number(process.argv[ab + 1]) : undefined;
  if (roundsArg !== undefined && (!before || !Number.isInteger(roundsArg) || roundsArg < 1)) {
    console.error('--ab ROUNDS needs a whole number of rounds, at least 1, and --before DIR (the checkout to alternate with)');
    process.exit(2);
  }
  if (roundsArg !== undefined && before) {
    const rounds = await runSignallingAb({ ...o, before }, roundsArg, console.log);
    for (const which of ['before', 'after'] as const) {
      const mine = rounds.filter((r) => r.server === which);
      console.log(`${which}: CPU-ms / 1,000 messages ${mine.map((r) => r.cpuMsPer1000Messages).join(', ')} (median ${median(mine.map((r) => r.cpuMsPer1000Messages))}); p99 ${mine.map((r) => r.p99).join(', ')} ms (median ${median(mine.map((r) => r.p99))})`);
    }
  } else {
    const r = await runSignalling({ ...o, ...(before ? { before } : {}) }, console.log);
    console.log(JSON.stringify(r.ratios));
  }
}
