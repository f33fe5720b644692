import { randomUUID } from 'node:crypto';
import { LIMITS } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer, type TestSocket } from '../testing/harness.ts';

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('presence goes only to the sockets that follow a person', () => {
  let s: TestServer;
  let alex: string;
  let dana: string;
  let noor: string;
  let noorId: string;
  beforeAll(async () => {
    s = await startTestServer();
    [alex, dana, noor] = await Promise.all([s.login('admin@example.com'), s.login('doctor@example.com'), s.login('nurse@example.com')]);
    noorId = (await s.request('GET', '/api/me', { cookie: noor })).body.user.id;
  });
  afterAll(() => s.close());

  const framesOf = (socket: TestSocket) => {
    const seen: unknown[] = [];
    socket.on('presence', (e) => seen.push(e));
    return seen;
  };

  it('a follower hears a person come and go; a socket that does not follow hears nothing', async () => {
    const follower = await s.connect(alex);
    const bystander = await s.connect(dana);
    const heardByBystander = framesOf(bystander);
    expect(await follower.emitWithAck('presence.subscribe', { userIds: [noorId] })).toEqual({ ok: true, online: { [noorId]: false } });

    const online = nextEvent(follower, 'presence');
    const n = await s.connect(noor);
    expect(await online).toEqual({ userId: noorId, online: true });
    const offline = nextEvent(follower, 'presence');
    n.disconnect();
    expect(await offline).toEqual({ userId: noorId, online: false });
    // Alex and Dana connecting, Noor coming and going: none of it reached Dana, who follows nobody.
    await settle();
    expect(heardByBystander).toEqual([]);

    // After unsubscribing, nothing more.
    expect(await follower.emitWithAck('presence.unsubscribe', { userIds: [noorId] })).toEqual({ ok: true });
    const heardByFollower = framesOf(follower);
    const again = await s.connect(noor);
    await settle();
    again.disconnect();
    await settle();
    expect(heardByFollower).toEqual([]);
    follower.disconnect();
    bystander.disconnect();
  });

  it('the snapshot counts every device: online while one of two is connected', async () => {
    const follower = await s.connect(alex);
    const d1 = await s.connect(noor);
    const d2 = await s.connect(noor);
    expect(await follower.emitWithAck('presence.subscribe', { userIds: [noorId] })).toEqual({ ok: true, online: { [noorId]: true } });
    const heard = framesOf(follower);
    d1.disconnect();
    await settle();
    expect(heard).toEqual([]);
    expect((await s.request('GET', '/api/users?q=noor', { cookie: alex })).body.users[0].online).toBe(true);
    const offline = nextEvent(follower, 'presence');
    d2.disconnect();
    expect(await offline).toEqual({ userId: noorId, online: false });
    follower.disconnect();
  });

  it('refuses a malformed subscription and more than a socket may follow, and keeps serving', async () => {
    const socket = await s.connect(alex);
    for (const bad of [{}, { userIds: [] }, { userIds: ['not-a-uuid'] }, { userIds: [noorId], extra: 1 }, { userIds: Array.from({ length: LIMITS.presenceBatchMax + 1 }, () => randomUUID()) }]) {
      const ack = await socket.emitWithAck('presence.subscribe', bad);
      expect(ack.ok, JSON.stringify(bad).slice(0, 80)).toBe(false);
      if (!ack.ok) expect(ack.error.code).toBe('bad_request');
    }
    for (let i = 0; i < LIMITS.presenceSubscriptionsMax / LIMITS.presenceBatchMax; i++) {
      const ack = await socket.emitWithAck('presence.subscribe', { userIds: Array.from({ length: LIMITS.presenceBatchMax }, () => randomUUID()) });
      expect(ack.ok).toBe(true);
    }
    const over = await socket.emitWithAck('presence.subscribe', { userIds: [noorId] });
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error.message).toMatch(/at most 1000/);
    // Already-followed people do not count twice, and the socket still works.
    expect((await socket.emitWithAck('presence.unsubscribe', { userIds: [noorId] })).ok).toBe(true);
    expect((await socket.emitWithAck('chat.sync', { cursors: {} })).ok).toBe(true);
    socket.disconnect();
  });
});
