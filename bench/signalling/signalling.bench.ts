// Bench 2, signalling under load: offer/answer/ICE forward latency and server CPU per 1,000
// messages during N concurrent call set-ups, through Parley, a bare socket.io relay and the PeerJS
// server, each pinned to one core, with the clients in other processes.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Identity, ServerKind } from '../lib/clients.ts';
import { measuredPhase, seedDatabase, startParley, type EventLoopLag } from '../lib/parley.ts';
import { freePort, rssBytes, startService, type Service } from '../lib/proc.ts';
import { ratio, summarize, type Summary } from '../lib/stats.ts';
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

export async function runSignalling(o: SignallingOptions, log: (s: string) => void = () => undefined): Promise<SignallingResult> {
  const cpu = o.pin ? 1 : undefined;
  const seeded = await seedDatabase(o.calls * 2);
  const servers = {} as Record<ServerKind, ServerFigures>;
  try {
    const parleyPairs: Pair[] = Array.from({ length: o.calls }, (_, i) => ({ a: seeded.users[2 * i]!, b: seeded.users[2 * i + 1]! }));
    const anon = (): Identity => ({ id: randomUUID() });
    const barePairs = (): Pair[] => Array.from({ length: o.calls }, () => ({ a: anon(), b: anon() }));

    for (const kind of ['socketio', 'peerjs', 'parley'] as const) {
      log(`signalling: ${kind}, ${o.calls} call set-ups…`);
      const server =
        kind === 'parley'
          ? await startParley({ dbFile: seeded.file, cpu })
          : await (async () => {
              const port = await freePort();
              const script = kind === 'socketio' ? 'bench/baselines/socketio-relay.ts' : 'bench/baselines/peerjs-server.ts';
              return startService({ script, args: [String(port)], port, cpu, readyPath: kind === 'peerjs' ? '/peerjs' : '/' });
            })();
      try {
        servers[kind] = await measure(kind, server, kind === 'parley' ? parleyPairs : barePairs(), o);
      } finally {
        await server.stop();
      }
      const f = servers[kind];
      log(`  ${kind}: p50 ${f.forwardMs.p50} ms, p99 ${f.forwardMs.p99} ms, ${f.cpuMsPer1000Messages} CPU-ms / 1,000 messages, ${f.completed}/${o.calls} completed${f.eventLoopLag ? `, event-loop lag p99 ${f.eventLoopLag.p99Ms} / max ${f.eventLoopLag.maxMs} ms` : ''}`);
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
  };
}

if (import.meta.filename === process.argv[1]) {
  const smoke = process.argv.includes('--smoke');
  const r = await runSignalling(smoke ? SIGNALLING_SMOKE : SIGNALLING_FULL, console.log);
  console.log(JSON.stringify(r.ratios));
}
