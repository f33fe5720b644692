// The load test's device processes, seen from the parent: the pairs are dealt round-robin over
// `workers` child processes (device-worker.ts); `run(slot)` has the process that owns the slot run
// one call and resolves with its outcome.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../lib/proc.ts';
import type { FromWorker, Slot, ToWorker, WorkerPlan, WorkerStats } from './device-worker.ts';
import type { CallOutcome } from './report.ts';

const WORKER = path.join(import.meta.dirname, 'device-worker.ts');

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  exitCode: number | null;
}

export class DevicePool {
  readonly #procs: Proc[] = [];
  readonly #owner = new Map<number, Proc>();
  readonly #waiting = new Map<string, (o: CallOutcome) => void>();
  #seq = 0;
  /** Each process's own CPU and event-loop lag, as it reported them on close. */
  readonly stats: WorkerStats[] = [];

  private constructor() {}

  /** Starts the processes and connects every slot's two devices; `onConnected` counts devices. */
  static async start(opts: { url: string; slots: Slot[]; workers: number; plan: WorkerPlan; onConnected?: (n: number) => void }): Promise<DevicePool> {
    const pool = new DevicePool();
    const shares = Array.from({ length: Math.max(1, opts.workers) }, (_, w) => opts.slots.filter((_, i) => i % opts.workers === w)).filter((s) => s.length > 0);
    let connected = 0;
    const ready = shares.map((slots) => {
      // BENCH_CPU_PROF=DIR: a V8 CPU profile of each device process, to see where the clients spend.
      const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
      const child = spawn(process.execPath, [...prof, '--import', 'tsx', WORKER], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const proc: Proc = { child, exitCode: null, exited: new Promise((r) => child.once('exit', (code) => ((proc.exitCode = code ?? -1), r()))) };
      pool.#procs.push(proc);
      for (const s of slots) pool.#owner.set(s.slot, proc);
      const isReady = new Promise<void>((resolve, reject) => {
        child.on('message', (m: FromWorker) => {
          if (m.type === 'connected') opts.onConnected?.((connected += m.n));
          else if (m.type === 'ready') resolve();
          else if (m.type === 'stats') pool.stats.push(m.stats);
          else if (m.type === 'error') reject(new Error(`a device process could not connect its devices: ${m.message}`));
          else if (m.type === 'outcome') {
            const key = `${m.slot}:${m.seq}`;
            pool.#waiting.get(key)?.(m.outcome);
            pool.#waiting.delete(key);
          }
        });
        void proc.exited.then(() => {
          reject(new Error(`a device process exited (${proc.exitCode}) before its devices connected`));
          // Calls it was running fail, saying so, instead of hanging the run.
          for (const [key, settle] of pool.#waiting) {
            if (pool.#owner.get(Number(key.split(':')[0])) !== proc) continue;
            settle({ ok: false, failure: 'error', detail: `the device process exited (${proc.exitCode}) during the call` });
            pool.#waiting.delete(key);
          }
        });
      });
      pool.#send(proc, { type: 'init', url: opts.url, slots, plan: opts.plan });
      return isReady;
    });
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  #send(proc: Proc, m: ToWorker): void {
    if (proc.exitCode === null && proc.child.connected) proc.child.send(m);
  }

  get processes(): number {
    return this.#procs.length;
  }

  /** One whole call between the slot's two devices, in the process that holds them. */
  run(slot: number): Promise<CallOutcome> {
    const proc = this.#owner.get(slot);
    if (!proc) return Promise.resolve({ ok: false, failure: 'error', detail: `no device process has slot ${slot}` });
    if (proc.exitCode !== null) return Promise.resolve({ ok: false, failure: 'error', detail: `the device process exited (${proc.exitCode})` });
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      this.#waiting.set(`${slot}:${seq}`, resolve);
      this.#send(proc, { type: 'run', slot, seq });
    });
  }

  /** Ctrl-C: every process hangs up its calls at once; they still report. */
  interrupt(): void {
    for (const p of this.#procs) this.#send(p, { type: 'interrupt' });
  }

  /** Closes every device and waits for the processes to exit (killed after 5 s). */
  async close(): Promise<void> {
    for (const p of this.#procs) this.#send(p, { type: 'close' });
    await Promise.all(
      this.#procs.map(async (p) => {
        const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
        await p.exited;
        clearTimeout(t);
      }),
    );
  }
}
