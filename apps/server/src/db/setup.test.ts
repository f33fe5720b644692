import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../features/users/demo-users.ts';
import { freshDatabase } from '../testing/harness.ts';
import { freePort } from '../testing/postgres.ts';
import { runMain } from '../testing/run-main.ts';

describe('several nodes starting at once on an empty PostgreSQL database', () => {
  it('migrate and create the demo accounts once; none of them crashes', { timeout: 150_000 }, async () => {
    const fresh = await freshDatabase('postgres');
    if (fresh.database.kind !== 'postgres') throw new Error('expected PostgreSQL');
    const nodes: Awaited<ReturnType<typeof runMain>>[] = [];
    try {
      const ports = await Promise.all([freePort(), freePort(), freePort()]);
      const started = await Promise.allSettled(ports.map((port) => runMain({ PORT: String(port), DATABASE_URL: fresh.database.kind === 'postgres' ? fresh.database.url : '', PARLEY_DEMO_USERS: '1' })));
      for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
      expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'running'))).toEqual(['running', 'running', 'running']);
      // Each node keeps serving: a health check on every one.
      for (const port of ports) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // The accounts were announced by exactly one node.
      expect(nodes.filter((n) => n.output().includes('Demo accounts')).length).toBe(1);

      const client = new pg.Client(fresh.database.url);
      await client.connect();
      try {
        const { rows } = await client.query<{ email: string; n: number }>('select email, count(*)::int as n from users group by email order by email');
        expect(rows).toEqual(DEMO_USERS.map((u) => ({ email: u.email, n: 1 })).sort((a, b) => a.email.localeCompare(b.email)));
        const migrations = await client.query<{ n: number }>('select count(*)::int as n from kysely_migration');
        expect(migrations.rows[0]!.n).toBeGreaterThan(0);
      } finally {
        await client.end();
      }
    } finally {
      for (const n of nodes) await n.stop();
      await fresh.drop();
    }
  });
});
