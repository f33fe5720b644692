import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.ts';

describe('PostgreSQL connections that die', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ kind: 'postgres' });
  });
  afterAll(async () => s?.close());

  it('are replaced by the pool; the server keeps serving', async () => {
    // Fill the pool with idle connections.
    await Promise.all(Array.from({ length: 5 }, () => s.request('GET', '/healthz')));
    const database = s.ctx.config.database;
    if (database.kind !== 'postgres') throw new Error('expected PostgreSQL');
    const name = new URL(database.url).pathname.slice(1);
    const admin = new pg.Client(database.url.replace(`/${name}`, '/postgres'));
    await admin.connect();
    const { rows } = await admin.query('select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()) t', [name]);
    await admin.end();
    expect(rows[0].n).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect((await s.request('GET', '/healthz')).status).toBe(200);
    expect((await s.request('POST', '/api/auth/login', { body: { email: 'admin@example.com', password: 'parley-demo-pass' } })).status).toBe(200);
  });
});
