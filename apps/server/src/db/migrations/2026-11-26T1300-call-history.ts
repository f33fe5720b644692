import type { Kysely } from 'kysely';

// Frozen. Call entries in a conversation's history: kind 'call' with the call's record as JSON.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('kind', 'varchar(10)', (c) => c.notNull().defaultTo('text')).execute();
  await db.schema.alterTable('messages').addColumn('call_json', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('call_json').execute();
  await db.schema.alterTable('messages').dropColumn('kind').execute();
}
