import { randomUUID } from 'node:crypto';
import { LIMITS, type Message } from '@parley/protocol';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';

const collect = (socket: TestSocket) => {
  const got: Message[] = [];
  socket.on('message.new', ({ message }) => got.push(message));
  return got;
};
const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

describe.each(['sqlite', 'postgres'] as const)('realtime messaging on %s', (kind) => {
  let s: TestServer;
  let alex: string, dana: string, noor: string;
  let danaId: string;
  let conv: string;

  beforeAll(async () => {
    s = await startTestServer({ kind });
    [alex, dana, noor] = await Promise.all([s.login('admin@example.com'), s.login('doctor@example.com'), s.login('nurse@example.com')]);
    danaId = (await s.request('GET', '/api/me', { cookie: dana })).body.user.id;
    const open = await s.request('POST', '/api/conversations', { cookie: alex, body: { userId: danaId } });
    expect(open.status).toBe(200);
    conv = open.body.conversation.id;
  });
  afterAll(async () => s?.close());

  it('refuses a handshake without a session or from a foreign origin', async () => {
    await expect(s.connect('parley_session=nope')).rejects.toThrow(/unauthenticated/);
    await expect(s.connect(alex, { origin: 'https://evil.example' })).rejects.toThrow();
    const noOrigin = ioClient(s.url, { transports: ['websocket'], extraHeaders: { cookie: alex }, reconnection: false, forceNew: true });
    await expect(new Promise((res, rej) => (noOrigin.once('connect', () => res(null)), noOrigin.once('connect_error', rej)))).rejects.toThrow();
    noOrigin.close();
  });

  it('delivers a message at once to every device of both people; the server decides the sender', async () => {
    const a1 = await s.connect(alex);
    const a2 = await s.connect(alex);
    const d1 = await s.connect(dana);
    const d2 = await s.connect(dana);
    const n1 = await s.connect(noor);
    const [ga1, ga2, gd1, gd2, gn1] = [collect(a1), collect(a2), collect(d1), collect(d2), collect(n1)];
    const id = randomUUID();
    const ack = await a1.emitWithAck('message.send', { id, conversationId: conv, body: '  Morning, Dana  ' });
    expect(ack).toMatchObject({ ok: true, message: { id, seq: 1, body: 'Morning, Dana' } });
    await settle();
    for (const got of [ga2, gd1, gd2]) expect(got.map((m) => m.id)).toEqual([id]);
    expect(ga1).toEqual([]); // the sending socket has it in its acknowledgement
    expect(gn1).toEqual([]); // not a member
    const me = (await s.request('GET', '/api/me', { cookie: alex })).body.user.id;
    expect(gd1[0]!.senderId).toBe(me);
    // A client cannot claim another sender: unknown fields are refused outright.
    const forged = await d1.emitWithAck('message.send', { id: randomUUID(), conversationId: conv, body: 'x', senderId: me } as never);
    expect(forged).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    for (const x of [a1, a2, d1, d2, n1]) x.disconnect();
  });

  it('stores and shows a retried send once, even when the retry races the original', async () => {
    const a = await s.connect(alex);
    const d = await s.connect(dana);
    const got = collect(d);
    const msg = { id: randomUUID(), conversationId: conv, body: 'Are you free at 3?' };
    const [first, second] = await Promise.all([a.emitWithAck('message.send', msg), a.emitWithAck('message.send', msg)]);
    const third = await a.emitWithAck('message.send', msg); // after a lost acknowledgement
    expect(first.ok && second.ok && third.ok).toBe(true);
    if (first.ok && second.ok && third.ok) {
      expect(second.message).toEqual(first.message);
      expect(third.message).toEqual(first.message);
    }
    await settle();
    // Delivered at least once (a resend is fanned out again, issue #8), always the same stored message.
    expect([...new Set(got.map((m) => m.id))]).toEqual([msg.id]);
    expect(new Set(got.map((m) => m.seq)).size).toBe(1);
    const page = await s.request('GET', `/api/conversations/${conv}/messages`, { cookie: dana });
    expect(page.body.messages.filter((m: Message) => m.id === msg.id)).toHaveLength(1);
    a.disconnect();
    d.disconnect();
  });

  it('answers bad payloads with a typed error, stores nothing, and keeps serving', async () => {
    const a = await s.connect(alex);
    const before = (await s.request('GET', `/api/conversations/${conv}/messages`, { cookie: alex })).body.messages.length;
    const bad: [unknown, string][] = [
      [undefined, 'bad_request'],
      ['hello', 'bad_request'],
      [{ id: 'not-a-uuid', conversationId: conv, body: 'x' }, 'bad_request'],
      [{ id: randomUUID(), conversationId: conv, body: 42 }, 'bad_request'],
      [{ id: randomUUID(), conversationId: conv, body: '   ' }, 'bad_request'],
      [{ id: randomUUID(), conversationId: conv, body: 'x'.repeat(LIMITS.messageBodyMax + 1) }, 'bad_request'],
      [{ id: randomUUID(), conversationId: randomUUID(), body: 'to nowhere' }, 'not_found'],
    ];
    for (const [payload, code] of bad) {
      const ack = await a.emitWithAck('message.send', payload);
      expect(ack, JSON.stringify(payload)?.slice(0, 80)).toMatchObject({ ok: false, error: { code } });
    }
    // A stranger to the conversation.
    const n = await s.connect(noor);
    expect(await n.emitWithAck('message.send', { id: randomUUID(), conversationId: conv, body: 'hi' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await n.emitWithAck('conversation.read', { conversationId: conv, seq: 1 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await n.emitWithAck('chat.sync', { cursors: { 'not-a-uuid': 1 } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    // An emit without an acknowledgement is ignored, not fatal.
    (a as unknown as { emit(e: string, p: unknown): void }).emit('message.send', { id: randomUUID(), conversationId: conv, body: 'no ack' });
    const after = (await s.request('GET', `/api/conversations/${conv}/messages`, { cookie: alex })).body.messages.length;
    expect(after).toBe(before);
    // A frame over the limit closes only that socket; the server keeps serving others.
    const big = await s.connect(alex);
    const closed = new Promise((r) => big.once('disconnect', r));
    big.emit('message.send', { id: randomUUID(), conversationId: conv, body: 'x'.repeat(LIMITS.socketFrameMaxBytes + 10) }, () => {});
    await closed;
    expect(await a.emitWithAck('message.send', { id: randomUUID(), conversationId: conv, body: 'still here' })).toMatchObject({ ok: true });
    a.disconnect();
    n.disconnect();
  });

  it('lets a reconnecting client catch up with what it missed', async () => {
    const d = await s.connect(dana);
    const sync0 = await d.emitWithAck('chat.sync', { cursors: {} });
    expect(sync0.ok).toBe(true);
    const lastSeq = sync0.ok ? sync0.conversations.find((c) => c.id === conv)!.lastSeq : 0;
    d.disconnect();
    const a = await s.connect(alex);
    for (const body of ['missed 1', 'missed 2', 'missed 3']) await a.emitWithAck('message.send', { id: randomUUID(), conversationId: conv, body });
    const back = await s.connect(dana);
    const sync = await back.emitWithAck('chat.sync', { cursors: { [conv]: lastSeq } });
    expect(sync.ok).toBe(true);
    if (sync.ok) {
      expect(sync.messages.map((m) => m.body)).toEqual(['missed 1', 'missed 2', 'missed 3']);
      expect(sync.conversations.find((c) => c.id === conv)).toMatchObject({ lastSeq: lastSeq + 3, peer: { name: 'Alex Admin', online: true } });
    }
    a.disconnect();
    back.disconnect();
  });

  it('shares read marks across devices and tracks presence', async () => {
    const d1 = await s.connect(dana);
    const d2 = await s.connect(dana);
    const list = (await s.request('GET', '/api/conversations', { cookie: dana })).body.conversations;
    const c = list.find((x: { id: string }) => x.id === conv);
    expect(c.unread).toBeGreaterThan(0);
    const readOnOther = nextEvent(d2, 'conversation.read');
    const ack = await d1.emitWithAck('conversation.read', { conversationId: conv, seq: c.lastSeq });
    expect(ack).toEqual({ ok: true, unread: 0 });
    expect(await readOnOther).toEqual({ conversationId: conv, seq: c.lastSeq, unread: 0 });

    const watcher = await s.connect(noor);
    const noorId = (await s.request('GET', '/api/me', { cookie: noor })).body.user.id;
    const nurse2 = await s.login('nurse@example.com');
    expect(await d1.emitWithAck('presence.subscribe', { userIds: [noorId] })).toEqual({ ok: true, online: { [noorId]: true } });
    const goesOffline = new Promise<void>((resolve) => {
      d1.on('presence', (e) => e.userId === noorId && !e.online && resolve());
    });
    const extra = await s.connect(nurse2);
    extra.disconnect(); // one of two devices left: still online
    await settle();
    expect((await s.request('GET', '/api/users?q=noor', { cookie: dana })).body.users[0].online).toBe(true);
    watcher.disconnect();
    await goesOffline;
    expect((await s.request('GET', '/api/users?q=noor', { cookie: dana })).body.users[0].online).toBe(false);
    d1.disconnect();
    d2.disconnect();
  });

  it('pages history over REST and validates its query', async () => {
    const first = await s.request('GET', `/api/conversations/${conv}/messages?limit=2`, { cookie: alex });
    expect(first.body.messages).toHaveLength(2);
    expect(first.body.hasMore).toBe(true);
    const older = await s.request('GET', `/api/conversations/${conv}/messages?before=${first.body.messages[0].seq}&limit=100`, { cookie: alex });
    expect(older.body.messages[0].seq).toBe(1);
    for (const q of ['limit=0', 'limit=1000', 'before=x', 'before=1&after=1', 'foo=1']) {
      expect((await s.request('GET', `/api/conversations/${conv}/messages?${q}`, { cookie: alex })).status, q).toBe(400);
    }
    expect((await s.request('GET', `/api/conversations/${conv}/messages`, { cookie: noor })).status).toBe(403);
    expect((await s.request('GET', `/api/conversations/${randomUUID()}/messages`, { cookie: alex })).status).toBe(404);
    const unknownUser = await s.request('POST', '/api/conversations', { cookie: alex, body: { userId: randomUUID() } });
    expect(unknownUser.status).toBe(404);
    const big = await s.request('POST', '/api/conversations', { cookie: alex, body: { userId: 'x'.repeat(LIMITS.httpBodyMaxBytes + 1) } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
  });
});
