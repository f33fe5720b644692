import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { WRITES_PER_CHECKPOINT } from './checkpointer.ts';
import { createDb, type Db } from './database.ts';

describe('WAL checkpoints of a SQLite file', () => {
  let dir: string | undefined;
  let db: Db | undefined;
  afterEach(async () => {
    await db?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('run in a worker thread: the server connection never checkpoints, yet the pages reach the database file', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-ckpt-'));
    const file = path.join(dir, 'parley.db');
    db = createDb({ kind: 'sqlite', file });
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
    expect(rows[0]?.wal_autocheckpoint).toBe(0);

    await sql`create table t (id integer primary key, body text not null)`.execute(db);
    const sizeBefore = fs.statSync(file).size;
    const body = 'x'.repeat(2000); // about one page per row
    for (let i = 0; i < WRITES_PER_CHECKPOINT * 2; i++) await sql`insert into t (body) values (${body})`.execute(db);
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(WRITES_PER_CHECKPOINT * 2000);

    // Only a checkpoint copies pages from the WAL into the database file; this connection does none.
    const deadline = Date.now() + 10_000;
    while (fs.statSync(file).size < sizeBefore + WRITES_PER_CHECKPOINT * 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fs.statSync(file).size).toBeGreaterThanOrEqual(sizeBefore + WRITES_PER_CHECKPOINT * 2000);
    const { rows: count } = await sql<{ n: number }>`select count(*) as n from t`.execute(db);
    expect(count[0]?.n).toBe(WRITES_PER_CHECKPOINT * 2);
  });
});
