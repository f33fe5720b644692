import { sql } from 'kysely';
import type { Config } from '../env.ts';
import { migrate, type Db } from './database.ts';

/** Arbitrary, fixed: the PostgreSQL advisory lock every Parley node takes to set the database up. */
const SETUP_LOCK_KEY = 7_245_339_001;

/**
 * Migrates the database, then runs `afterMigrate` (the demo accounts), as one step across every
 * node: on PostgreSQL, nodes started at once on an empty database would race on creating the
 * migration table and on seeding the same rows, so each holds a session advisory lock (on a
 * connection of its own) for the whole step, and the second one finds everything done. SQLite
 * is one process: nothing to lock.
 */
export async function setUpDatabase<T>(db: Db, kind: Config['database']['kind'], afterMigrate: () => Promise<T>): Promise<T> {
  if (kind !== 'postgres') {
    await migrate(db);
    return afterMigrate();
  }
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${SETUP_LOCK_KEY})`.execute(conn);
    try {
      await migrate(db);
      return await afterMigrate();
    } finally {
      await sql`select pg_advisory_unlock(${SETUP_LOCK_KEY})`.execute(conn);
    }
  });
}
