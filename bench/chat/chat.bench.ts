// Bench 4, chat: send → deliver latency at a steady rate (1,000 messages/s in full size) through
// Parley (stored, then delivered to every device of both people) against a bare socket.io relay.
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { copyDatabase, measuredPhase, seedDatabase, startParley, type EventLoopLag } from '../lib/parley.ts';
import { freePort, startService, type Service } from '../lib/proc.ts';
import { ratio, summarize, type Summary } from '../lib/stats.ts';
import type { Pair } from '../lib/worker.ts';
import { runWorkers } from '../lib/workers.ts';

export interface ChatOptions {
  ratePerS: number;
  durationMs: number;
  conversations: number;
  pin: boolean;
  /**
   * Before the measured phase, the same load for this long through the same server (other people
   * and conversations, so no budget is shared with the measured ones), not counted: the measured
   * phase is a running server, not its first seconds (V8 compiling the hot path, a cold database).
   */
  warmupMs: number;
  /** Another checkout (e.g. a worktree of main) whose server is measured too, in the same run, on its own copy of the database: "before" (startParley's `source`). */
  before?: string;
}

export interface ChatFigures {
  deliverMs: Summary;
  sent: number;
  delivered: number;
  refused: number;
  cpuSeconds: number;
  /** Parley: its event-loop delay during the measured phase (a stall delays every message behind it). */
  eventLoopLag?: EventLoopLag;
}

export interface ChatResult {
  options: ChatOptions;
  servers: { parley: ChatFigures; socketio: ChatFigures };
  ratios: { p99VsSocketio: number };
  /** With `before`: that checkout's Parley on the same load, in the same run (just before this one's). */
  before?: ChatFigures & { source: string; p99VsSocketio: number };
  /** The absolute target: p99 at most 20 ms. */
  p99TargetMs: number;
}

export const CHAT_FULL: ChatOptions = { ratePerS: 1000, durationMs: 10_000, conversations: 50, pin: true, warmupMs: 3000 };
export const CHAT_SMOKE: ChatOptions = { ratePerS: 50, durationMs: 1000, conversations: 5, pin: false, warmupMs: 0 };

async function measure(kind: 'parley' | 'socketio', server: Service, pairs: Pair[], warmupPairs: Pair[], o: ChatOptions): Promise<ChatFigures> {
  const job = { scenario: 'chat' as const, kind, url: server.url, ratePerS: o.ratePerS, timeoutMs: 10_000 };
  const clientCpu = o.pin ? 0 : undefined;
  if (o.warmupMs > 0) await runWorkers({ ...job, pairs: warmupPairs, durationMs: o.warmupMs }, 1, clientCpu, { before: () => undefined, after: () => undefined });
  const phase = measuredPhase(kind, server);
  const r = await runWorkers({ ...job, pairs, durationMs: o.durationMs }, 1, clientCpu, phase.hooks);
  const deliver = r.latencyMs.deliver ?? [];
  return { deliverMs: summarize(deliver), sent: r.sent, delivered: deliver.length, refused: r.refused, cpuSeconds: Math.round(phase.cpuSeconds() * 100) / 100, ...(phase.eventLoopLag() ? { eventLoopLag: phase.eventLoopLag() } : {}) };
}

export async function runChat(o: ChatOptions, log: (s: string) => void = () => undefined): Promise<ChatResult> {
  const cpu = o.pin ? 1 : undefined;
  // Two people per conversation, measured and warm-up.
  const seeded = await seedDatabase(o.conversations * 4);
  try {
    log(`chat: socketio, ${o.ratePerS} messages/s for ${o.durationMs / 1000} s after ${o.warmupMs / 1000} s of warm-up…`);
    const port = await freePort();
    const bare = await startService({ script: 'bench/baselines/socketio-relay.ts', args: [String(port)], port, cpu });
    let socketio: ChatFigures;
    try {
      const anonymous = () => Array.from({ length: o.conversations }, () => ({ a: { id: randomUUID() }, b: { id: randomUUID() } }));
      socketio = await measure('socketio', bare, anonymous(), anonymous(), o);
    } finally {
      await bare.stop();
    }
    log(`  socketio: p50 ${socketio.deliverMs.p50} ms, p99 ${socketio.deliverMs.p99} ms, ${socketio.delivered}/${socketio.sent} delivered, ${socketio.cpuSeconds} CPU-s`);

    // Each Parley starts from the seeded database as it was (the other's messages are not in it).
    const beforeDb = o.before ? copyDatabase(seeded.file, 'before') : undefined;
    const runParley = async (label: string, dbFile: string, source?: string): Promise<ChatFigures> => {
      log(`chat: ${label}, ${o.ratePerS} messages/s for ${o.durationMs / 1000} s after ${o.warmupMs / 1000} s of warm-up…`);
      // 1,000 messages/s over 50 senders is 200 per sender per 10 s; the shipped per-person budget
      // (50/200 per 10 s) would refuse three quarters of them, as it should for one person.
      const server = await startParley({ dbFile, cpu, env: { RATE_LIMIT_CHAT: '250/250' }, ...(source ? { source } : {}) });
      let f: ChatFigures;
      try {
        const pairs: Pair[] = [];
        for (let i = 0; i < 2 * o.conversations; i++) {
          const a = seeded.users[2 * i]!;
          const b = seeded.users[2 * i + 1]!;
          const res = await fetch(`${server.url}/api/conversations`, { method: 'POST', headers: { cookie: a.cookie, 'content-type': 'application/json', origin: server.url }, body: JSON.stringify({ userId: b.id }) });
          if (!res.ok) throw new Error(`opening a conversation: ${res.status} ${await res.text()}`);
          const { conversation } = (await res.json()) as { conversation: { id: string } };
          pairs.push({ a, b, conversationId: conversation.id });
        }
        f = await measure('parley', server, pairs.slice(0, o.conversations), pairs.slice(o.conversations), o);
      } finally {
        await server.stop();
      }
      log(`  ${label}: p50 ${f.deliverMs.p50} ms, p99 ${f.deliverMs.p99} ms, ${f.delivered}/${f.sent} delivered, ${f.cpuSeconds} CPU-s, event-loop lag p99 ${f.eventLoopLag?.p99Ms} / max ${f.eventLoopLag?.maxMs} ms`);
      return f;
    };
    const before = o.before && beforeDb ? await runParley(`parley before (${o.before})`, beforeDb, o.before) : undefined;
    const parley = await runParley('parley', seeded.file);
    return {
      options: o,
      servers: { parley, socketio },
      ratios: { p99VsSocketio: ratio(parley.deliverMs.p99, socketio.deliverMs.p99) },
      ...(before && o.before ? { before: { ...before, source: o.before, p99VsSocketio: ratio(before.deliverMs.p99, socketio.deliverMs.p99) } } : {}),
      p99TargetMs: 20,
    };
  } finally {
    fs.rmSync(seeded.dir, { recursive: true, force: true });
  }
}

// `node --import tsx bench/chat/chat.bench.ts [--smoke] [--before DIR]`
if (import.meta.filename === process.argv[1]) {
  const b = process.argv.indexOf('--before');
  const before = b > 0 ? process.argv[b + 1] : undefined;
  const r = await runChat({ ...(process.argv.includes('--smoke') ? CHAT_SMOKE : CHAT_FULL), ...(before ? { before } : {}) }, console.log);
  console.log(JSON.stringify(r.ratios));
}
