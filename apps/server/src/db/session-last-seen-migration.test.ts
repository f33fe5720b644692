import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DB_KINDS, testDb } from '../testing/harness.ts';
import * as init from './migrations/2026-11-26T1200-init.ts';
import * as callHistory from './migrations/2026-11-26T1300-call-history.ts';
import * as push from './migrations/2026-12-01T1000-push.ts';
import * as lastSeen from './migrations/2026-12-01T1400-session-last-seen.ts';

describe.each(DB_KINDS)('migration 2026-12-01T1400-session-last-seen on %s', (kind) => {
  it('gives sessions that existed before it their creation time as last use, and goes down again', async () => {
    const { db, close } = await testDb(kind);
    const raw = db as unknown as Kysely<unknown>;
    try {
      for (const m of [init, callHistory, push]) await m.up(raw);
      const t = 1_764_000_000_000;
      await sql`insert into users (id, email, name, role, password_hash, active, created_at, updated_at) values ('u1', 'a@example.com', 'A', 'doctor', 'x', 1, ${t}, ${t})`.execute(db);
      await sql`insert into sessions (id, user_id, created_at, expires_at) values ('s1', 'u1', ${t}, ${t + 1000}), ('s2', 'u1', ${t + 5}, ${t + 1000})`.execute(db);
      await lastSeen.up(raw);
      const rows = await db.selectFrom('sessions').select(['id', 'created_at', 'last_seen_at']).orderBy('id').execute();
      expect(rows).toEqual([
        { id: 's1', created_at: t, last_seen_at: t },
        { id: 's2', created_at: t + 5, last_seen_at: t + 5 },
      ]);
      await lastSeen.down(raw);
      const after = (await sql<Record<string, unknown>>`select * from sessions where id = 's1'`.execute(db)).rows[0]!;
      expect(Object.keys(after).sort()).toEqual(['created_at', 'expires_at', 'id', 'user_id']);
    } finally {
      await close();
    }
  });
});
