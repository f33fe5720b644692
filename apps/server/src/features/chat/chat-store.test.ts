import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/database.ts';
import { DB_KINDS, testDb } from '../../testing/harness.ts';
import { seedDemoUsers } from '../users/demo-users.ts';
import { UsersStore } from '../users/users-store.ts';
import { ChatStore } from './chat-store.ts';

describe.each(DB_KINDS)('ChatStore on %s', (kind) => {
  let t: Awaited<ReturnType<typeof testDb>>;
  let chat: ChatStore;
  let users: UsersStore;
  let alex: string, dana: string, noor: string;
  let conv: string;

  beforeAll(async () => {
    t = await testDb(kind);
    await migrate(t.db);
    users = new UsersStore(t.db);
    chat = new ChatStore(t.db);
    await seedDemoUsers(users);
    alex = (await users.byEmail('admin@example.com'))!.id;
    dana = (await users.byEmail('doctor@example.com'))!.id;
    noor = (await users.byEmail('nurse@example.com'))!.id;
  });
  afterAll(async () => t?.close());

  it('opens one conversation per pair, from either side, even concurrently', async () => {
    const ids = await Promise.all([chat.open(alex, dana), chat.open(dana, alex), chat.open(alex, dana)]);
    expect(new Set(ids).size).toBe(1);
    conv = ids[0]!;
    expect(await chat.open(dana, alex)).toBe(conv);
    await expect(chat.open(alex, alex)).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('stores messages in order with seq 1, 2, 3 and a retry never twice', async () => {
    const id = randomUUID();
    const first = await chat.send(alex, { id, conversationId: conv, body: 'Hello Dana' });
    expect(first).toMatchObject({ created: true, message: { seq: 1, senderId: alex, body: 'Hello Dana' } });
    const retry = await chat.send(alex, { id, conversationId: conv, body: 'Hello Dana' });
    expect(retry).toEqual({ created: false, message: first.message, peer: first.peer });
    expect(first.peer.id).toBe(dana);
    await chat.send(dana, { id: randomUUID(), conversationId: conv, body: 'Hi Alex' });
    const page = await chat.messages(alex, conv, { limit: 50 });
    expect(page.messages.map((m) => [m.seq, m.body])).toEqual([
      [1, 'Hello Dana'],
      [2, 'Hi Alex'],
    ]);
  });

  it('refuses a reused id with other content, and strangers', async () => {
    const id = randomUUID();
    await chat.send(alex, { id, conversationId: conv, body: 'one' });
    await expect(chat.send(alex, { id, conversationId: conv, body: 'two' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(chat.send(dana, { id, conversationId: conv, body: 'one' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(chat.send(noor, { id: randomUUID(), conversationId: conv, body: 'x' })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(chat.messages(noor, conv, { limit: 10 })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(chat.send(alex, { id: randomUUID(), conversationId: randomUUID(), body: 'x' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('gives concurrent sends (and concurrent retries) gap-free, unique seqs', async () => {
    const before = (await chat.get(alex, conv)).lastSeq;
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const sends = ids.flatMap((id, i) => {
      const who = i % 2 ? alex : dana;
      const msg = { id, conversationId: conv, body: `n${i}` };
      return [chat.send(who, msg), chat.send(who, msg)]; // each one twice at once
    });
    const results = await Promise.all(sends);
    expect(results.filter((r) => r.created)).toHaveLength(20);
    const seqs = [...new Set(results.map((r) => r.message.seq))].sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => before + 1 + i));
    expect((await chat.get(alex, conv)).lastSeq).toBe(before + 20);
  });

  it('pages back with before and catches up with after', async () => {
    const last = (await chat.get(alex, conv)).lastSeq;
    const newest = await chat.messages(alex, conv, { limit: 5 });
    expect(newest.messages.map((m) => m.seq)).toEqual([last - 4, last - 3, last - 2, last - 1, last]);
    expect(newest.hasMore).toBe(true);
    const older = await chat.messages(alex, conv, { before: last - 4, limit: 100 });
    expect(older.messages[0]!.seq).toBe(1);
    expect(older.messages.at(-1)!.seq).toBe(last - 5);
    expect(older.hasMore).toBe(false);
    const after = await chat.messages(alex, conv, { after: last - 2, limit: 100 });
    expect(after.messages.map((m) => m.seq)).toEqual([last - 1, last]);
  });

  it('counts unread from the peer only and moves the read mark forward only', async () => {
    const c2 = await chat.open(noor, dana);
    await chat.send(noor, { id: randomUUID(), conversationId: c2, body: 'a' });
    await chat.send(noor, { id: randomUUID(), conversationId: c2, body: 'b' });
    await chat.send(dana, { id: randomUUID(), conversationId: c2, body: 'c' });
    await chat.send(noor, { id: randomUUID(), conversationId: c2, body: 'd' });
    expect((await chat.get(dana, c2)).unread).toBe(1); // dana's own send marked up to 3 read
    expect((await chat.get(noor, c2)).unread).toBe(0);
    expect(await chat.markRead(dana, c2, 99)).toEqual({ seq: 4, unread: 0 });
    expect(await chat.markRead(dana, c2, 1)).toEqual({ seq: 1, unread: 0 });
    const list = await chat.list(dana);
    expect(list.map((c) => c.peer.name)).toEqual(['Noor Nurse', 'Alex Admin']); // most recent first
    expect(list[0]!.lastMessage?.body).toBe('d');
  });

  it('sync returns only what is newer than each cursor', async () => {
    const c2 = await chat.open(noor, dana);
    const r = await chat.sync(dana, { [c2]: 2, [conv]: (await chat.get(dana, conv)).lastSeq });
    expect(r.messages.map((m) => m.body)).toEqual(['c', 'd']);
    expect(r.truncated).toEqual([]);
    expect(r.conversations).toHaveLength(2);
  });
  it("writes a pair's first call with its new conversation, later calls into the same one, each call once", async () => {
    const now = Date.now();
    const [caller, callee] = [randomUUID(), randomUUID()];
    await t.db
      .insertInto('users')
      .values([caller, callee].map((id) => ({ id, email: `${id}@example.test`, name: id.slice(0, 8), role: 'nurse', password_hash: 'x', active: 1, created_at: now, updated_at: now })))
      .execute();
    const first = { callId: randomUUID(), kind: 'video' as const, callerId: caller, reason: 'no_answer' as const, durationS: null };
    const a = await chat.appendCall(first, callee);
    expect(a).toMatchObject({ id: first.callId, seq: 1, senderId: caller, kind: 'call', call: first });
    const conversationId = await chat.open(callee, caller);
    expect(a.conversationId).toBe(conversationId);
    expect(await chat.appendCall(first, callee)).toEqual(a);
    const second = { ...first, callId: randomUUID(), reason: 'user_hangup' as const, durationS: 42 };
    expect(await chat.appendCall(second, callee)).toMatchObject({ conversationId, seq: 2 });
    // The missed call stays unread for the callee; the answered one is read by both.
    const [forCallee] = (await chat.list(callee)).filter((c) => c.id === conversationId);
    expect(forCallee).toMatchObject({ lastSeq: 2, unread: 0, peer: { id: caller } });
    const page = await chat.messages(caller, conversationId, { limit: 10 });
    expect(page.messages.map((m) => m.id)).toEqual([first.callId, second.callId]);
  });
});
