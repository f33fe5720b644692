import { sql, type Kysely } from 'kysely';

// Frozen. Idle expiry (SESSION_IDLE_MINUTES): when each session was last used. Existing sessions
// count as last used when they were created.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('last_seen_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await sql`update sessions set last_seen_at = created_at`.execute(db);
  await db.schema.createIndex('sessions_last_seen_at').on('sessions').column('last_seen_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_last_seen_at').execute();
  await db.schema.alterTable('sessions').dropColumn('last_seen_at').execute();
}
