import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, testDb } from '../testing/harness.ts';
import type { Db } from './database.ts';
import { migrate } from './database.ts';
import { GroupCommit } from './group-commit.ts';

const now = 1_700_000_000_000;
const user = (id: string) => ({ id, email: `${id}@example.test`, name: id, role: 'nurse', password_hash: 'x', active: 1, created_at: now, updated_at: now });

describe.each(DB_KINDS)('group commit (%s)', (kind) => {
  let t: Awaited<ReturnType<typeof testDb>>;
  let writes: GroupCommit;
  beforeAll(async () => {
    t = await testDb(kind);
    await migrate(t.db);
    writes = new GroupCommit(t.db);
  });
  afterAll(async () => t?.close());

  const ids = async (prefix: string) =>
    (await t.db.selectFrom('users').select('id').where('id', 'like', `${prefix}%`).orderBy('id').execute()).map((r) => r.id);

  it('runs units in the order they were queued, each resolving with its own result once stored', async () => {
    const order: number[] = [];
    // More than one batch holds (64): the rest go in the next, still in order.
    const n = 150;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        writes.run(async (tx: Db) => {
          order.push(i);
          await tx.insertInto('users').values(user(`order-${String(i).padStart(3, '0')}`)).execute();
          return i * 2;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: n }, (_, i) => i * 2));
    // Every unit ran once (a failed batch would have run some again); on SQLite, the one writer, in
    // queue order. PostgreSQL runs them on its pool at once, as before: the row locks order them.
    expect(kind === 'sqlite' ? order : [...order].sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(await ids('order-')).toHaveLength(n);
  });

  it('fails only the unit that throws: the others queued with it are stored', async () => {
    await t.db.insertInto('users').values(user('dup-taken')).execute();
    const runs = [0, 0, 0, 0, 0];
    const unit = (i: number, id: string) => (tx: Db) => {
      runs[i]!++;
      return tx.insertInto('users').values(user(id)).execute();
    };
    const settled = await Promise.allSettled([
      writes.run(unit(0, 'dup-a')),
      writes.run(unit(1, 'dup-b')),
      writes.run(unit(2, 'dup-taken')), // the primary key refuses it
      writes.run(unit(3, 'dup-c')),
      writes.run(unit(4, 'dup-d')),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(await ids('dup-')).toEqual(['dup-a', 'dup-b', 'dup-c', 'dup-d', 'dup-taken']);
    // SQLite ran the five in one transaction: the failure rolled back the first two, and every unit
    // then ran on its own. PostgreSQL gives each its own transaction from the start.
    expect(runs).toEqual(kind === 'sqlite' ? [2, 2, 2, 1, 1] : [1, 1, 1, 1, 1]);
  });

  it('keeps nothing of a failed unit and goes on serving later ones', async () => {
    const failing = writes.run(async (tx: Db) => {
      await tx.insertInto('users').values(user('half-1')).execute();
      throw new Error('changed my mind');
    });
    await expect(failing).rejects.toThrow('changed my mind');
    expect(await ids('half-')).toEqual([]);
    await writes.run((tx: Db) => tx.insertInto('users').values(user('half-2')).execute());
    expect(await ids('half-')).toEqual(['half-2']);
  });
});
