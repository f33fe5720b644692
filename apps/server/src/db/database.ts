import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type SqliteDatabase } from 'kysely';
import type pg from 'pg';
import type { Config } from '../env.ts';
import { startCheckpointer, type Checkpointer } from './checkpointer.ts';
import * as init from './migrations/2026-11-26T1200-init.ts';
import * as callHistory from './migrations/2026-11-26T1300-call-history.ts';
import * as push from './migrations/2026-12-01T1000-push.ts';
import * as sessionLastSeen from './migrations/2026-12-01T1400-session-last-seen.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

/** Migrations in order. Names are date-prefixed and never change once shipped. */
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-26T1200-init': init,
  '2026-11-26T1300-call-history': callHistory,
  '2026-12-01T1000-push': push,
  '2026-12-01T1400-session-last-seen': sessionLastSeen,
};

const PG_INT8 = 20;

/**
 * `onError`: errors of idle PostgreSQL connections (the server restarted, a connection was killed).
 * The pool replaces such a connection; without a listener pg would crash the process.
 */
export function createDb(database: Config['database'], onError: (err: Error) => void = (err) => console.error('database connection error', err)): Db {
  if (database.kind === 'sqlite') {
    if (database.file !== ':memory:') fs.mkdirSync(path.dirname(database.file), { recursive: true });
    const sqlite = new SQLite(database.file);
    sqlite.pragma('journal_mode = WAL');
    // In WAL mode NORMAL syncs at checkpoints, not at every commit: the database stays consistent
    // on a crash or power loss, which may lose only the last commits (docs/decisions/008-sqlite-synchronous-normal.md).
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // A file database checkpoints in a worker thread, not inside a commit on the event loop (checkpointer.ts).
    let checkpointer: Checkpointer | undefined;
    if (database.file !== ':memory:') {
      sqlite.pragma('wal_autocheckpoint = 0');
      checkpointer = startCheckpointer(database.file, (message) => {
        // Checkpoints must go on somewhere: back to SQLite's own, inside commits.
        onError(new Error(`WAL checkpointer failed, checkpoints go back into commits: ${message}`));
        checkpointer = undefined;
        if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
      });
    }
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: cachedStatements(sqlite, () => checkpointer) }) });
  }
  // pg loads only for PostgreSQL: a node on SQLite does not keep it resident.
  const { Pool, types } = createRequire(import.meta.url)('pg') as typeof pg;
  const pool = new Pool({
    connectionString: database.url,
    max: 10,
    // bigint columns hold millisecond timestamps, well inside Number's safe range.
    types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === PG_INT8 ? Number : types.getTypeParser(oid, format)) },
  } as pg.PoolConfig);
  pool.on('error', onError);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

const STATEMENT_CACHE_MAX = 500;

/**
 * Kysely prepares every query anew; parsing and planning the SQL cost as much as running it
 * (docs/performance.md, "Chat"). Queries are built from fixed code, so their SQL texts are few:
 * keep the prepared statements. Kysely runs one query at a time on SQLite, so a cached statement
 * is never in use twice at once.
 */
function cachedStatements(sqlite: SQLite.Database, checkpointer: () => Checkpointer | undefined): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      checkpointer()?.close();
      sqlite.close();
    },
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        if (cache.size >= STATEMENT_CACHE_MAX) cache.clear();
        stmt = sqlite.prepare(text);
        cache.set(text, stmt);
      }
      // Kysely prepares once per execution: a statement that is not a reader is about to write.
      if (!stmt.reader) checkpointer()?.wrote();
      return stmt;
    },
  };
}

export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
