// A device process of the load test (device-pool.ts starts it): it connects the devices of its
// share of the pairs, says `ready`, then runs one whole call per `run` message and sends back its
// outcome. Both ends of a pair live in one process, so every latency is one clock's difference;
// spreading the pairs over processes is what lets 200 werift peers use more than one core.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { runCall, type CallPlan } from './call-runner.ts';
import { LoadDevice } from './device.ts';
import type { TestUser } from './admin.ts';
import type { CallOutcome } from './report.ts';

/** A pair of test users and the slot number the parent schedules it by. */
export interface Slot {
  slot: number;
  caller: TestUser;
  callee: TestUser;
}

/** What of a CallPlan crosses the process boundary (no promise). */
export type WorkerPlan = Omit<CallPlan, 'interrupted'>;

export type ToWorker =
  | { type: 'init'; url: string; slots: Slot[]; plan: WorkerPlan }
  | { type: 'run'; slot: number; seq: number }
  | { type: 'interrupt' }
  | { type: 'close' };

export type FromWorker =
  | { type: 'connected'; n: number }
  | { type: 'ready' }
  | { type: 'outcome'; slot: number; seq: number; outcome: CallOutcome }
  | { type: 'error'; message: string }
  | { type: 'stats'; stats: WorkerStats };

/** A device process's own load, a sample a second from `init` to `close`: is the tool itself the limit? */
export interface WorkerStats {
  pid: number;
  /** CPU of the process (user + system), % of one core, per second. */
  cpuPct: number[];
  /** The longest event-loop delay in each second, ms. */
  lagMaxMs: number[];
  /** Event-loop delay over the whole run, ms. */
  lagP50Ms: number;
  lagP99Ms: number;
}

const lag = monitorEventLoopDelay({ resolution: 10 });
const wholeRun = monitorEventLoopDelay({ resolution: 10 });
const perSecond = { cpuPct: [] as number[], lagMaxMs: [] as number[] };
let sampler: NodeJS.Timeout | undefined;
function startSampling(): void {
  lag.enable();
  wholeRun.enable();
  let cpu = process.cpuUsage();
  let at = performance.now();
  sampler = setInterval(() => {
    const now = performance.now();
    const used = process.cpuUsage(cpu);
    perSecond.cpuPct.push(Math.round(((used.user + used.system) / 1000 / (now - at)) * 1000) / 10);
    perSecond.lagMaxMs.push(Math.round(lag.max / 1e5) / 10);
    lag.reset();
    cpu = process.cpuUsage();
    at = now;
  }, 1000);
  sampler.unref();
}
function stats(): WorkerStats {
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return { pid: process.pid, ...perSecond, lagP50Ms: ms(wholeRun.percentile(50)), lagP99Ms: ms(wholeRun.percentile(99)) };
}

const send = (m: FromWorker) => process.send!(m);
const devices = new Map<number, [LoadDevice, LoadDevice]>();
let plan: CallPlan | undefined;
let interrupt!: () => void;
const interrupted = new Promise<void>((r) => (interrupt = r));

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  plan = { ...m.plan, interrupted };
  startSampling();
  for (const s of m.slots) {
    const tag = Math.random().toString(36).slice(2, 8);
    const caller = await LoadDevice.connect(m.url, s.caller, `loadtest-caller-${s.slot}-${tag}`);
    const callee = await LoadDevice.connect(m.url, s.callee, `loadtest-callee-${s.slot}-${tag}`);
    devices.set(s.slot, [caller, callee]);
    send({ type: 'connected', n: 2 });
  }
}

function close(): void {
  if (sampler) {
    clearInterval(sampler);
    sampler = undefined;
    if (process.connected) send({ type: 'stats', stats: stats() });
  }
  for (const [a, b] of devices.values()) {
    a.close();
    b.close();
  }
  devices.clear();
  setTimeout(() => process.exit(0), 200);
}

process.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'init':
      init(m).then(
        () => send({ type: 'ready' }),
        (err: unknown) => send({ type: 'error', message: (err as Error)?.message ?? String(err) }),
      );
      return;
    case 'run': {
      const pair = devices.get(m.slot);
      if (!pair || !plan) {
        send({ type: 'outcome', slot: m.slot, seq: m.seq, outcome: { ok: false, failure: 'error', detail: `no devices for slot ${m.slot}` } });
        return;
      }
      void runCall(pair[0], pair[1], plan).then((outcome) => send({ type: 'outcome', slot: m.slot, seq: m.seq, outcome }));
      return;
    }
    case 'interrupt':
      interrupt();
      return;
    case 'close':
      close();
  }
});
// The parent went away (killed, Ctrl-C twice): do not linger with open sockets.
process.on('disconnect', () => close());
// Ctrl-C reaches the whole process group; the parent decides how to stop.
process.on('SIGINT', () => undefined);
