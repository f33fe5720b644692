import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';
import { startRedis, type TestRedis } from '../../testing/redis.ts';

// Two Parley nodes in this process on one database and one real Redis: the calls' decisions, their
// devices and caps are shared, whichever node a device is connected to.

const emit = (s: TestSocket, event: string, payload: unknown) => (s.emitWithAck as (e: string, p: unknown) => Promise<any>)(event, payload);
const until = async (what: string, cond: () => Promise<boolean> | boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('calls across two nodes sharing Redis', () => {
  let redis: TestRedis;
  let dir: string;
  let a: TestServer;
  let b: TestServer;
  const ids = {} as Record<'alex' | 'dana' | 'noor', string>;
  const cookies = {} as Record<'alex' | 'dana' | 'noor', string>;

  beforeAll(async () => {
    redis = await startRedis();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nodes-'));
    const database = { kind: 'sqlite' as const, file: path.join(dir, 'parley.db') };
    const env = { REDIS_URL: redis.url, CALL_RING_TIMEOUT_S: '30', CALL_INVITES_PER_MINUTE: '6' };
    a = await startTestServer({ database, env });
    b = await startTestServer({ database, env });
    for (const [who, email] of [['alex', 'admin@example.com'], ['dana', 'doctor@example.com'], ['noor', 'nurse@example.com']] as const) {
      cookies[who] = await a.login(email);
      ids[who] = (await a.request('GET', '/api/me', { cookie: cookies[who] })).body.user.id;
    }
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A device of `who` on `node`, once every node counts it. */
  async function device(who: keyof typeof ids, node: TestServer) {
    const deviceId = `${who}-${randomUUID().slice(0, 8)}`;
    const socket = await node.connect(cookies[who], { deviceId });
    await until(`${deviceId} counted on both nodes`, async () => (await a.ctx.realtime.isDeviceOnline(ids[who], deviceId)) && (await b.ctx.realtime.isDeviceOnline(ids[who], deviceId)));
    return { socket, deviceId, emit: (event: string, p: Record<string, unknown>) => emit(socket, event, { deviceId, ...p }) };
  }

  it('a callee with a device on each node: both ring; answered on both at once, one wins and the other hears answered_elsewhere', async () => {
    const caller = await device('alex', a);
    const onA = await device('dana', a);
    const onB = await device('dana', b);
    const callId = randomUUID();
    const rings = [nextEvent(onA.socket, 'call.invite'), nextEvent(onB.socket, 'call.invite')];
    expect(await caller.emit('call.invite', { callId, toUserId: ids.dana, kind: 'audio' })).toEqual({ ok: true });
    for (const r of await Promise.all(rings)) expect(r).toMatchObject({ callId, fromUserId: ids.alex });
    expect((await b.calls.registry.get(callId))?.invited?.sort()).toEqual([onA.deviceId, onB.deviceId].sort());

    const elsewhere = [nextEvent(onA.socket, 'call.answered_elsewhere', 1500).catch(() => null), nextEvent(onB.socket, 'call.answered_elsewhere', 1500).catch(() => null)];
    const accepted = nextEvent(caller.socket, 'call.accept');
    const acks = await Promise.all([onA.emit('call.accept', { callId }), onB.emit('call.accept', { callId })]);
    const winner = acks.findIndex((x) => x.ok);
    expect(acks.filter((x) => x.ok)).toHaveLength(1);
    expect(acks[1 - winner]).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const winnerDevice = [onA, onB][winner]!.deviceId;
    expect(await accepted).toMatchObject({ callId, fromDeviceId: winnerDevice });
    const heard = await Promise.all(elsewhere);
    expect(heard[winner]).toBeNull();
    expect(heard[1 - winner]).toMatchObject({ callId, fromDeviceId: winnerDevice });

    // Signals cross the nodes between the two bound devices; the hang-up from A's side reaches B's.
    const peer = [onA, onB][winner]!;
    const offer = nextEvent(peer.socket, 'call.offer');
    expect(await caller.emit('call.offer', { callId, sdp: 'v=0\r\n' })).toEqual({ ok: true });
    expect(await offer).toMatchObject({ callId, sdp: 'v=0\r\n' });
    const hangup = nextEvent(peer.socket, 'call.hangup');
    expect(await caller.emit('call.hangup', { callId, reason: 'user_hangup' })).toEqual({ ok: true });
    expect(await hangup).toMatchObject({ callId, reason: 'user_hangup' });
    expect(await a.calls.count()).toBe(0);
    for (const d of [caller, onA, onB]) d.socket.disconnect();
  });

  it('glare: both people call each other at the same moment from different nodes, and end up in one call', async () => {
    const alex = await device('alex', a);
    const noor = await device('noor', b);
    const [x, y] = [randomUUID(), randomUUID()];
    const acks = await Promise.all([alex.emit('call.invite', { callId: x, toUserId: ids.noor, kind: 'video' }), noor.emit('call.invite', { callId: y, toUserId: ids.alex, kind: 'video' })]);
    expect(acks.every((k) => k.ok)).toBe(true);
    const merged = acks.filter((k) => k.merged);
    expect(merged).toHaveLength(1);
    const call = await a.calls.callOf(ids.alex);
    expect(call).toMatchObject({ id: merged[0].merged.callId, phase: 'accepted' });
    expect((await b.calls.callOf(ids.noor))?.id).toBe(call!.id);
    expect(await b.calls.count()).toBe(1);
    const heard = nextEvent(noor.socket, 'call.hangup');
    expect(await alex.emit('call.hangup', { callId: call!.id, reason: 'user_hangup' })).toEqual({ ok: true });
    expect(await heard).toMatchObject({ callId: call!.id, reason: 'user_hangup' });
    expect(await b.calls.count()).toBe(0);
    alex.socket.disconnect();
    noor.socket.disconnect();
  });

  it("a device bound to a call that moves from one node to the other within its grace keeps the call; the invite cap counts both nodes' invites", async () => {
    const alex = await device('alex', a);
    const dana = await device('dana', b);
    const callId = randomUUID();
    await alex.emit('call.invite', { callId, toUserId: ids.dana, kind: 'audio' });
    expect(await dana.emit('call.accept', { callId })).toEqual({ ok: true });
    // Alex's socket on A closes; the same device comes back on B.
    alex.socket.disconnect();
    await until('A saw the device go', async () => (await a.calls.registry.get(callId))?.lost.length === 1);
    const back = await b.connect(cookies.alex, { deviceId: alex.deviceId });
    expect(await emit(back, 'call.resume', { callId, deviceId: alex.deviceId, role: 'caller', peerUserId: ids.dana, peerDeviceId: dana.deviceId, kind: 'audio', answeredAt: Date.now() })).toEqual({
      ok: true,
    });
    expect((await a.calls.registry.get(callId))?.lost).toEqual([]);
    const hangup = nextEvent(dana.socket, 'call.hangup');
    expect(await emit(back, 'call.hangup', { callId, deviceId: alex.deviceId, reason: 'user_hangup' })).toEqual({ ok: true });
    expect(await hangup).toMatchObject({ reason: 'user_hangup' });

    // CALL_INVITES_PER_MINUTE=6: this test's calls so far, then from both nodes, until the cap binds.
    const onA = await device('alex', a);
    let allowed = 0;
    let limited = 0;
    for (let i = 0; i < 8; i++) {
      const via = i % 2 ? onA.socket : back;
      const id = i % 2 ? onA.deviceId : alex.deviceId;
      const ack = await emit(via, 'call.invite', { callId: randomUUID(), deviceId: id, toUserId: randomUUID(), kind: 'audio' });
      if (!ack.ok && ack.error.code === 'rate_limited') limited++;
      else allowed++;
    }
    // Three invites so far in this file (one per test); 6 per minute across the nodes leaves 3.
    expect({ allowed, limited }).toEqual({ allowed: 3, limited: 5 });
    back.disconnect();
    onA.socket.disconnect();
    dana.socket.disconnect();
  });

  it('pre-connecting while it rings: the device list lives in Redis, so the caller on one node and the pre-connecting device on the other signal each other', async () => {
    // Noor calls (Alex's invites are counted by the test above).
    const caller = await device('noor', a);
    const pre = await device('dana', b);
    const other = await device('dana', a);
    const callId = randomUUID();
    const rings = [nextEvent(pre.socket, 'call.invite'), nextEvent(other.socket, 'call.invite')];
    expect(await caller.emit('call.invite', { callId, toUserId: ids.dana, kind: 'video' })).toEqual({ ok: true });
    await Promise.all(rings);
    const ringing = nextEvent(caller.socket, 'call.ringing');
    expect(await pre.emit('call.ringing', { callId, preconnect: true })).toEqual({ ok: true });
    expect(await ringing).toMatchObject({ fromDeviceId: pre.deviceId, preconnect: true });
    expect((await a.calls.registry.get(callId))?.preconnected).toEqual([pre.deviceId]);

    // Node A reads the list node B wrote; the offer crosses to B, the answer back to A.
    const offer = nextEvent(pre.socket, 'call.offer');
    expect(await caller.emit('call.offer', { callId, toDeviceId: pre.deviceId, sdp: 'v=0\r\n' })).toEqual({ ok: true });
    expect(await offer).toMatchObject({ callId, fromDeviceId: caller.deviceId, sdp: 'v=0\r\n' });
    const answer = nextEvent(caller.socket, 'call.answer');
    expect(await pre.emit('call.answer', { callId, sdp: 'v=0\r\na' })).toEqual({ ok: true });
    expect(await answer).toMatchObject({ callId, fromDeviceId: pre.deviceId });
    expect(await caller.emit('call.offer', { callId, toDeviceId: other.deviceId, sdp: 'v=0\r\n' })).toMatchObject({ ok: false, error: { code: 'conflict' } });

    // The other device answers on A: B's device is out, and a signal named for it is refused.
    const accepted = nextEvent(caller.socket, 'call.accept');
    expect(await other.emit('call.accept', { callId })).toEqual({ ok: true });
    await accepted;
    expect(await caller.emit('call.ice', { callId, toDeviceId: pre.deviceId, candidate: null })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await pre.emit('call.ice', { callId, candidate: null })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const hangup = nextEvent(other.socket, 'call.hangup');
    expect(await caller.emit('call.hangup', { callId, reason: 'user_hangup' })).toEqual({ ok: true });
    await hangup;
    for (const d of [caller, pre, other]) d.socket.disconnect();
  });
});
