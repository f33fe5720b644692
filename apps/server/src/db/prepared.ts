import type { Compilable, CompiledQuery } from 'kysely';
import type { Db } from './database.ts';

/**
 * A hot query built and compiled by Kysely once per dialect, then run with fresh values.
 *
 * Kysely builds an immutable operation tree for every query and compiles it to SQL on every run;
 * for the queries of each chat message and call (a handful of small statements) that JavaScript
 * cost as much CPU as SQLite's own work (docs/performance.md, "Server hot path"). The SQL text
 * of these queries never changes, only their values: `build` is called once with placeholder
 * values, and each run swaps the real values in at the same positions. Values that `build` puts
 * in itself (a `+ 1`) stay as compiled. Same SQL, same parameters, same driver: only the
 * building and compiling are skipped.
 */
export interface Prepared<Args extends unknown[], Row> {
  /** Every row. `db` may be a transaction. */
  all(db: Db, ...args: Args): Promise<Row[]>;
  first(db: Db, ...args: Args): Promise<Row | undefined>;
  /** Rows changed by an UPDATE, INSERT or DELETE. */
  run(db: Db, ...args: Args): Promise<bigint>;
}

const placeholder = (i: number) => `\u0000parley-arg-${i}\u0000`;

interface Template {
  compiled: CompiledQuery;
  /** Per compiled parameter: the index of the argument it takes, or -1 to keep the compiled value. */
  slots: number[];
}

export function prepared<Args extends unknown[], Row>(arity: Args['length'], build: (db: Db, ...args: Args) => Compilable<Row>): Prepared<Args, Row> {
  // One template per dialect (tests run SQLite and PostgreSQL in one process); a transaction's
  // executor shares its database's adapter, so it finds the same template.
  const templates = new WeakMap<object, Template>();
  const template = (db: Db): Template => {
    const adapter = db.getExecutor().adapter;
    let t = templates.get(adapter);
    if (!t) {
      const args = Array.from({ length: arity }, (_, i) => placeholder(i)) as unknown as Args;
      const compiled = build(db, ...args).compile();
      const slots = compiled.parameters.map((p) => (typeof p === 'string' ? args.indexOf(p as never) : -1));
      const used = new Set(slots);
      for (let i = 0; i < arity; i++) if (!used.has(i)) throw new Error(`prepared query: argument ${i} is not a parameter of ${compiled.sql}`);
      t = { compiled, slots };
      templates.set(adapter, t);
    }
    return t;
  };
  const execute = (db: Db, args: Args) => {
    const { compiled, slots } = template(db);
    const parameters = slots.map((s, i) => (s < 0 ? compiled.parameters[i] : args[s]));
    return db.executeQuery<Row>({ ...compiled, parameters });
  };
  return {
    async all(db, ...args) {
      return (await execute(db, args)).rows;
    },
    async first(db, ...args) {
      return (await execute(db, args)).rows[0];
    },
    async run(db, ...args) {
      return (await execute(db, args)).numAffectedRows ?? 0n;
    },
  };
}
