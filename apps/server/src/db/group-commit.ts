import { SqliteAdapter } from 'kysely';
import type { Db } from './database.ts';

/** A write that runs inside a transaction it is given; it may run again (see `GroupCommit`). */
export type WriteUnit<T> = (tx: Db) => Promise<T>;

interface Queued {
  unit: WriteUnit<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** Units in one transaction at most: a long batch would hold every other query of the node behind it. */
const MAX_BATCH = 64;

/**
 * Group commit of small writes on SQLite (docs/decisions/013-group-commit.md). A commit's cost is
 * in appending the pages it dirtied to the WAL; at 1,000 messages a second each message's own commit
 * wrote ~6 pages, most of them the same few pages (the conversations, their members, the ends of the
 * indexes) over again. Units queued while the database is busy, or in the same turn of the event
 * loop, run one after another in one transaction and commit once; each resolves with its own result
 * only after that commit, so nothing is acknowledged before it is stored.
 *
 * When any unit of a batch throws, the whole transaction is rolled back and every unit of it runs
 * again in a transaction of its own, so one unit's failure (a retried id hitting the primary key,
 * a raced unique key) reaches that unit alone and the others are stored as they would have been.
 * A unit must therefore do nothing but database work through `tx` and compute its result: it may
 * run twice, and only its last run's writes remain.
 *
 * Units run in the order they were queued, so seq numbers follow arrival order as before.
 * PostgreSQL is left as it was, one transaction per unit on its pool: several nodes write there at
 * once, and a batch holding the row locks of many conversations could deadlock with another node's.
 */
export class GroupCommit {
  private readonly grouped: boolean;
  private queue: Queued[] = [];
  private scheduled = false;
  private busy = false;

  constructor(private readonly db: Db) {
    this.grouped = db.getExecutor().adapter instanceof SqliteAdapter;
  }

  /** Runs `unit` in a transaction (shared with others on SQLite); resolves once it is committed. */
  run<T>(unit: WriteUnit<T>): Promise<T> {
    if (!this.grouped) return this.db.transaction().execute(unit);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ unit, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.busy) return;
    this.scheduled = true;
    // After this turn's I/O callbacks: the other sends read from the same socket reads join in.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.busy = true;
    try {
      if (batch.length === 1) await this.alone(batch[0]!);
      else await this.together(batch);
    } finally {
      this.busy = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  private async together(batch: Queued[]): Promise<void> {
    let results: unknown[];
    try {
      results = await this.db.transaction().execute(async (tx) => {
        const out: unknown[] = [];
        for (const q of batch) out.push(await q.unit(tx));
        return out;
      });
    } catch {
      // Rolled back as a whole: each unit again on its own, so only the failing one fails.
      for (const q of batch) await this.alone(q);
      return;
    }
    batch.forEach((q, i) => q.resolve(results[i]));
  }

  private async alone(q: Queued): Promise<void> {
    try {
      q.resolve(await this.db.transaction().execute(q.unit));
    } catch (err) {
      q.reject(err);
    }
  }
}
