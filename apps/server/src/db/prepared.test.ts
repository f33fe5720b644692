import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, testDb } from '../testing/harness.ts';
import type { Db } from './database.ts';
import { migrate } from './database.ts';
import { prepared } from './prepared.ts';

const now = 1_700_000_000_000;
const user = (id: string, name: string) => ({ id, email: `${id}@example.test`, name, role: 'nurse', password_hash: 'x', active: 1, created_at: now, updated_at: now });

const BY_NAME = prepared(2, (db: Db, name: string, after: number) => db.selectFrom('users').select(['id', 'name']).where('name', '=', name).where('created_at', '>', after).orderBy('id'));
// `+ 1` is the query's own value: it stays as compiled while the arguments change around it.
const BUMP = prepared(2, (db: Db, id: string, by: number) =>
  db
    .updateTable('users')
    .set((eb) => ({ updated_at: eb('updated_at', '+', 1), active: by }))
    .where('id', '=', id)
    .returning(['updated_at', 'active']),
);
const DEACTIVATE = prepared(1, (db: Db, id: string) => db.updateTable('users').set({ active: 0 }).where('id', '=', id));

describe.each(DB_KINDS)('prepared queries (%s)', (kind) => {
  let t: Awaited<ReturnType<typeof testDb>>;
  beforeAll(async () => {
    t = await testDb(kind);
    await migrate(t.db);
    await t.db.insertInto('users').values([user('a', 'Ann'), user('b', 'Bo'), user('c', 'Ann')]).execute();
  });
  afterAll(async () => t?.close());

  it('run with the values of each call, not those it was compiled with', async () => {
    expect(await BY_NAME.all(t.db, 'Ann', 0)).toEqual([
      { id: 'a', name: 'Ann' },
      { id: 'c', name: 'Ann' },
    ]);
    expect(await BY_NAME.all(t.db, 'Bo', 0)).toEqual([{ id: 'b', name: 'Bo' }]);
    expect(await BY_NAME.all(t.db, 'Ann', now)).toEqual([]);
    expect(await BY_NAME.first(t.db, 'Nobody', 0)).toBeUndefined();
  });

  it('keep the values the query itself holds, and work inside a transaction', async () => {
    const rows = await t.db.transaction().execute(async (tx) => [await BUMP.first(tx, 'a', 0), await BUMP.first(tx, 'a', 1)]);
    expect(rows).toEqual([
      { updated_at: now + 1, active: 0 },
      { updated_at: now + 2, active: 1 },
    ]);
    expect(await DEACTIVATE.run(t.db, 'b')).toBe(1n);
    expect(await DEACTIVATE.run(t.db, 'nobody')).toBe(0n);
  });

  it('refuse a query that leaves out one of its arguments', async () => {
    const broken = prepared<[string, string], { id: string }>(2, (db: Db, id: string) => db.selectFrom('users').select('id').where('id', '=', id));
    await expect(broken.all(t.db, 'a', 'unused')).rejects.toThrow(/argument 1 is not a parameter/);
  });
});
