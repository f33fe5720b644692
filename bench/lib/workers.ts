import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pinned, repoRoot } from './proc.ts';
import type { WorkerJob, WorkerResult } from './worker.ts';

const WORKER = path.join(import.meta.dirname, 'worker.ts');

interface Running {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<WorkerResult>;
}

function start(job: WorkerJob, cpu: number | undefined): Running {
  const [cmd, args] = pinned(cpu, process.execPath, ['--import', 'tsx', WORKER]);
  const child = spawn(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let ready!: () => void;
  let done!: (r: WorkerResult) => void;
  let fail!: (e: Error) => void;
  const readyP = new Promise<void>((r, j) => {
    ready = r;
    fail = j;
  });
  const doneP = new Promise<WorkerResult>((r, j) => {
    done = r;
    child.once('exit', (code) => j(new Error(`bench worker exited with ${code} before reporting`)));
  });
  doneP.catch(() => undefined);
  child.on('message', (m: { type: string; result?: WorkerResult; message?: string }) => {
    if (m.type === 'ready') ready();
    else if (m.type === 'done') done(m.result!);
    else if (m.type === 'error') fail(new Error(`bench worker: ${m.message}`));
  });
  child.once('exit', (code) => fail(new Error(`bench worker exited with ${code}`)));
  child.send({ type: 'job', job });
  return { child, ready: readyP, done: doneP };
}

/**
 * Splits the pairs over `workers` client processes (pinned to `cpu`), waits until every client is
 * connected, then runs `between` around the measured phase (start and stop readings of the server)
 * and merges the results.
 */
export async function runWorkers(
  job: WorkerJob,
  workers: number,
  cpu: number | undefined,
  around: { before(): unknown; after(): unknown },
): Promise<WorkerResult> {
  const shares = Array.from({ length: workers }, (_, w) => job.pairs.filter((_, i) => i % workers === w)).filter((s) => s.length > 0);
  const running = shares.map((pairs) => start({ ...job, pairs }, cpu));
  try {
    await Promise.all(running.map((r) => r.ready));
    await new Promise((r) => setTimeout(r, 500)); // let the connect burst (presence) settle
    await around.before();
    const at = Date.now() + 200;
    for (const r of running) r.child.send({ type: 'go', at });
    const results = await Promise.all(running.map((r) => r.done));
    await around.after();
    const merged: WorkerResult = { latencyMs: {}, sent: 0, completed: 0, failed: 0, refused: 0 };
    for (const r of results) {
      for (const [k, v] of Object.entries(r.latencyMs)) (merged.latencyMs[k] ??= []).push(...v);
      merged.sent += r.sent;
      merged.completed += r.completed;
      merged.failed += r.failed;
      merged.refused += r.refused;
    }
    return merged;
  } finally {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  }
}
