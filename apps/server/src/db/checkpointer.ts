import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop (docs/decisions/011-sqlite-checkpoints-in-a-worker.md).
 *
 * In WAL mode with synchronous=NORMAL a commit only appends to the WAL; the fsyncs happen at each
 * checkpoint, which SQLite runs inside whichever commit pushed the WAL past 1,000 pages. On the
 * server's one connection that commit, and so the whole event loop, waited for two fsyncs: 2 ms
 * typically, over 100 ms on a busy disk, several times a second at 1,000 messages a second. Here
 * the server's connection never checkpoints (wal_autocheckpoint=0) and a worker thread with its
 * own connection to the same file does, PASSIVE (it never blocks the server's writers), once the
 * server has written `WRITES_PER_CHECKPOINT` statements since the last one.
 *
 * Under a write load that never pauses, a passive checkpoint cannot catch up with the commits
 * made while it runs, so SQLite never restarts the WAL from its beginning and the file grows.
 * Once it holds `MAX_WAL_FRAMES` frames the worker runs one TRUNCATE checkpoint: that one waits
 * for the writer and makes the server's next commit wait (busy_timeout) while it syncs, then
 * empties the file. It happens once per ~256 MB of WAL, not once per 4 MB.
 */

/** Write statements (INSERT, UPDATE, DELETE, COMMIT, …) between two checkpoint requests. */
export const WRITES_PER_CHECKPOINT = 200;
/** 4 KiB pages: 65,536 frames is a WAL of ~256 MB. */
export const MAX_WAL_FRAMES = 65_536;

// Plain CommonJS evaluated in the worker, so the compiled server needs no second entry file.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
let pending = false;
const run = () => {
  pending = false;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r && r.log >= workerData.maxFrames) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
};
parentPort.on('message', (m) => {
  if (m === 'close') {
    parentPort.close();
    db.close();
    return;
  }
  if (!pending) {
    pending = true;
    setImmediate(run);
  }
});
`;

export interface Checkpointer {
  /** The server's connection ran a write statement. */
  wrote(): void;
  close(): void;
}

/**
 * The worker starts with the first checkpoint that is due (an idle server that has written little
 * keeps no thread: it costs ~12 MB of RSS). `onError` hears a worker that failed or stopped; the
 * caller then goes back to SQLite's own checkpoints.
 */
export function startCheckpointer(file: string, onError: (message: string) => void): Checkpointer {
  let worker: Worker | undefined;
  let writes = 0;
  let closed = false;
  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file, module: createRequire(import.meta.url).resolve('better-sqlite3'), maxFrames: MAX_WAL_FRAMES },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1 },
    });
    w.unref();
    w.on('message', (m: { error?: string }) => m.error && onError(m.error));
    w.on('error', (err) => onError(err.message));
    w.on('exit', (code) => {
      if (!closed) onError(`the checkpoint worker exited (${code})`);
      closed = true;
    });
    return w;
  };
  return {
    wrote() {
      if (++writes < WRITES_PER_CHECKPOINT || closed) return;
      writes = 0;
      (worker ??= start()).postMessage('checkpoint');
    },
    close() {
      if (closed) return;
      closed = true;
      worker?.postMessage('close');
    },
  };
}
