import { randomUUID } from 'node:crypto';
import type { Message, ServerToClientEvents } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { nextEvent, startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';

/** The metrics count only with METRICS_TOKEN set (noMetrics otherwise): one test reads the ended calls. */
const METRICS_TOKEN = 'call-manager-metrics-token-0123';

/** Records every event a socket receives, for "nothing else arrived" assertions. */
function recorder(socket: TestSocket) {
  const events: { event: string; payload: any }[] = [];
  socket.onAny((event: string, payload: unknown) => events.push({ event, payload }));
  return {
    events,
    of: (name: keyof ServerToClientEvents) => events.filter((e) => e.event === name).map((e) => e.payload),
  };
}

interface Device {
  socket: TestSocket;
  deviceId: string;
  rec: ReturnType<typeof recorder>;
  emit(event: string, payload: Record<string, unknown>): Promise<any>;
}

describe('call lifecycle on the server (socket.io clients only)', () => {
  let s: TestServer;
  const ids = {} as Record<'alex' | 'dana' | 'noor', string>;
  const cookies = {} as Record<'alex' | 'dana' | 'noor', string>;
  const devices: Device[] = [];

  async function device(who: 'alex' | 'dana' | 'noor'): Promise<Device> {
    const deviceId = `${who}-${randomUUID().slice(0, 8)}`;
    const socket = await s.connect(cookies[who]!, { deviceId });
    const d: Device = {
      socket,
      deviceId,
      rec: recorder(socket),
      emit: (event, payload) => (socket.emitWithAck as (e: string, p: unknown) => Promise<unknown>)(event, { deviceId, ...payload }),
    };
    devices.push(d);
    return d;
  }
  const drop = (...ds: Device[]) => ds.forEach((d) => d.socket.disconnect());
  /**
   * A round trip on the device's socket: whatever the server emitted to it before answering has
   * arrived by then (socket.io keeps order per socket), so "nothing else arrived" can be checked.
   */
  const flush = async (...ds: Device[]) => {
    for (const d of ds) expect(await d.emit('call.ringing', { callId: randomUUID() })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  };
  const advance = (ms: number) => s.clock!.advance(ms);
  const hungUpCount = async () => {
    const text = (await s.request('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body as string;
    return Number(/^parley_calls_ended_total\{reason="user_hangup"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };

  beforeAll(async () => {
    s = await startTestServer({ fakeClock: true, env: { CALL_RING_TIMEOUT_S: '1', CALL_RECONNECT_GRACE_S: '0.6', METRICS_TOKEN } });
    for (const [who, email] of [['alex', 'admin@example.com'], ['dana', 'doctor@example.com'], ['noor', 'nurse@example.com']] as const) {
      cookies[who] = await s.login(email);
      ids[who] = (await s.request('GET', '/api/me', { cookie: cookies[who] })).body.user.id;
    }
  });
  afterAll(async () => s?.close());

  it('rings every callee device, connects the one that answers, relays only between the two, and records the call', async () => {
    const a = await device('alex');
    const d1 = await device('dana');
    const d2 = await device('dana');
    const callId = randomUUID();
    const invited = Promise.all([nextEvent(d1.socket, 'call.invite'), nextEvent(d2.socket, 'call.invite')]);
    expect(await a.emit('call.invite', { callId, toUserId: ids.dana, kind: 'video' })).toEqual({ ok: true });
    for (const inv of await invited) {
      expect(inv).toEqual({ callId, fromUserId: ids.alex, fromDeviceId: a.deviceId, kind: 'video', fromName: 'Alex Admin' });
    }
    const ringing = nextEvent(a.socket, 'call.ringing');
    await d1.emit('call.ringing', { callId });
    expect(await ringing).toMatchObject({ callId, fromUserId: ids.dana, fromDeviceId: d1.deviceId });

    const accepted = nextEvent(a.socket, 'call.accept');
    const elsewhere = nextEvent(d1.socket, 'call.answered_elsewhere');
    expect(await d2.emit('call.accept', { callId })).toEqual({ ok: true });
    expect(await accepted).toEqual({ callId, fromUserId: ids.dana, fromDeviceId: d2.deviceId });
    expect(await elsewhere).toMatchObject({ callId, fromDeviceId: d2.deviceId });
    // The slower device loses, and may not take part.
    expect(await d1.emit('call.accept', { callId })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await d1.emit('call.ice', { callId, candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });

    const offer = nextEvent(d2.socket, 'call.offer');
    expect(await a.emit('call.offer', { callId, sdp: 'v=0 offer' })).toEqual({ ok: true });
    expect(await offer).toEqual({ callId, fromUserId: ids.alex, fromDeviceId: a.deviceId, sdp: 'v=0 offer' });
    const answer = nextEvent(a.socket, 'call.answer');
    await d2.emit('call.answer', { callId, sdp: 'v=0 answer' });
    expect((await answer).sdp).toBe('v=0 answer');
    const ice = nextEvent(a.socket, 'call.ice');
    await d2.emit('call.ice', { callId, candidate: null });
    expect(await ice).toMatchObject({ callId, candidate: null });

    // A stranger cannot touch the call; a bound device cannot claim another device id.
    const n = await device('noor');
    expect(await n.emit('call.hangup', { callId, reason: 'user_hangup' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await n.emit('call.offer', { callId, sdp: 'v=0' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await (a.socket.emitWithAck as any)('call.hangup', { callId, deviceId: d2.deviceId, reason: 'user_hangup' })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });

    // Either device reports how the media travels; the stranger and the loser may not.
    const quality = { path: 'relay', protocol: 'udp', rttMs: 48.5, lossPct: 0.2 };
    expect(await d1.emit('call.stats', { callId, quality })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await d2.emit('call.stats', { callId, quality: { ...quality, lossPct: 150 } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await d2.emit('call.stats', { callId, quality })).toEqual({ ok: true });

    advance(1100); // longer than the ring timeout: an answered call is not timed out
    await flush(a, d2);
    expect((await s.calls.callOf(ids.alex))?.id).toBe(callId);
    const hungUp = nextEvent(d2.socket, 'call.hangup');
    const historyA = nextEvent(a.socket, 'message.new');
    const historyD = nextEvent(d1.socket, 'message.new');
    const endedBefore = await hungUpCount();
    let entryFirst = false;
    void historyA.then(() => (entryFirst = true));
    expect(await a.emit('call.hangup', { callId, reason: 'user_hangup' })).toEqual({ ok: true });
    // The acknowledgement comes once every effect of the end has run, in order: the entry is
    // stored and sent (it reached this socket before the acknowledgement did), and the metric
    // that follows it is counted.
    expect(entryFirst).toBe(true);
    expect(await s.ctx.chat.hasMessage(callId)).toBe(true);
    expect(await hungUpCount()).toBe(endedBefore + 1);
    expect(await s.calls.count()).toBe(0);
    expect(await hungUp).toMatchObject({ callId, reason: 'user_hangup', fromUserId: ids.alex });
    const entry: Message = (await historyA).message;
    expect(entry).toMatchObject({ id: callId, kind: 'call', senderId: ids.alex, call: { callId, kind: 'video', reason: 'user_hangup', quality } });
    expect(entry.call!.durationS).toBe(1);
    expect(entry.body).toBe('Video call · 0:01');
    expect((await historyD).message.id).toBe(callId);
    expect(await s.calls.count()).toBe(0);
    // Nothing reached the stranger, and the non-answering device got no SDP.
    expect(n.rec.events.filter((e) => e.event.startsWith('call.'))).toEqual([]);
    expect(d1.rec.of('call.offer')).toEqual([]);
    drop(a, d1, d2, n);
  });

  it('pre-connecting while it rings: the caller signals only the ringing device it names; after another device answers, a signal named for the first is refused', async () => {
    const a = await device('alex');
    const d1 = await device('dana');
    const d2 = await device('dana');
    const callId = randomUUID();
    const invited = Promise.all([nextEvent(d1.socket, 'call.invite'), nextEvent(d2.socket, 'call.invite')]);
    await a.emit('call.invite', { callId, toUserId: ids.dana, kind: 'video' });
    await invited;
    // d1 pre-connects (CALL_PRECONNECT is on by default); d2 only rings.
    const ringing = nextEvent(a.socket, 'call.ringing');
    expect(await d1.emit('call.ringing', { callId, preconnect: true })).toEqual({ ok: true });
    expect(await ringing).toEqual({ callId, fromUserId: ids.dana, fromDeviceId: d1.deviceId, preconnect: true });
    const plain = nextEvent(a.socket, 'call.ringing');
    await d2.emit('call.ringing', { callId });
    expect(await plain).toEqual({ callId, fromUserId: ids.dana, fromDeviceId: d2.deviceId });
    expect((await s.calls.registry.get(callId))?.preconnected).toEqual([d1.deviceId]);

    const offer = nextEvent(d1.socket, 'call.offer');
    expect(await a.emit('call.offer', { callId, toDeviceId: d1.deviceId, sdp: 'v=0 pre-offer' })).toEqual({ ok: true });
    expect(await offer).toEqual({ callId, fromUserId: ids.alex, fromDeviceId: a.deviceId, sdp: 'v=0 pre-offer' });
    const answer = nextEvent(a.socket, 'call.answer');
    expect(await d1.emit('call.answer', { callId, sdp: 'v=0 pre-answer' })).toEqual({ ok: true });
    expect(await answer).toEqual({ callId, fromUserId: ids.dana, fromDeviceId: d1.deviceId, sdp: 'v=0 pre-answer' });
    const candidate = { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    const ice = nextEvent(d1.socket, 'call.ice');
    expect(await a.emit('call.ice', { callId, toDeviceId: d1.deviceId, candidate })).toEqual({ ok: true });
    expect(await ice).toMatchObject({ callId, candidate });
    // Nothing for the device that only rings, in either direction, and nothing unnamed from the caller.
    expect(await a.emit('call.offer', { callId, toDeviceId: d2.deviceId, sdp: 'v=0' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await a.emit('call.offer', { callId, sdp: 'v=0' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await d2.emit('call.ice', { callId, candidate })).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    // d2 answers: the call is bound to it, and d1's pre-connection is over.
    const accepted = nextEvent(a.socket, 'call.accept');
    await d2.emit('call.accept', { callId });
    await accepted;
    expect(await a.emit('call.ice', { callId, toDeviceId: d1.deviceId, candidate })).toMatchObject({ ok: false, error: { code: 'conflict', message: 'That device did not answer the call' } });
    expect(await d1.emit('call.ice', { callId, candidate })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const toD2 = nextEvent(d2.socket, 'call.offer');
    expect(await a.emit('call.offer', { callId, toDeviceId: d2.deviceId, sdp: 'v=0 offer' })).toEqual({ ok: true });
    expect((await toD2).sdp).toBe('v=0 offer');

    await a.emit('call.hangup', { callId, reason: 'user_hangup' });
    await flush(d1, d2);
    expect(d1.rec.of('call.offer').map((e) => e.sdp)).toEqual(['v=0 pre-offer']);
    expect(d1.rec.of('call.ice')).toHaveLength(1);
    expect(d2.rec.of('call.offer').map((e) => e.sdp)).toEqual(['v=0 offer']);
    expect(d2.rec.of('call.ice')).toEqual([]);
    drop(a, d1, d2);
  });

  it('a decline on one device stops all of them and tells the caller', async () => {
    const a = await device('alex');
    const d1 = await device('dana');
    const d2 = await device('dana');
    const callId = randomUUID();
    const rang = nextEvent(d2.socket, 'call.invite');
    await a.emit('call.invite', { callId, toUserId: ids.dana, kind: 'audio' });
    await rang;
    const toCaller = nextEvent(a.socket, 'call.reject');
    const toOther = nextEvent(d2.socket, 'call.reject');
    const history = nextEvent(d2.socket, 'message.new');
    expect(await d1.emit('call.reject', { callId, reason: 'declined' })).toEqual({ ok: true });
    expect(await toCaller).toMatchObject({ callId, reason: 'declined' });
    expect(await toOther).toMatchObject({ callId, reason: 'declined' });
    expect((await history).message).toMatchObject({ body: 'Declined audio call', call: { reason: 'declined', durationS: null } });
    expect(await d2.emit('call.accept', { callId })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    drop(a, d1, d2);
  });

  it('the caller cancels: every device stops ringing, the callee has a missed call', async () => {
    const a = await device('alex');
    const d1 = await device('dana');
    const d2 = await device('dana');
    const callId = randomUUID();
    const rang = nextEvent(d1.socket, 'call.invite');
    await a.emit('call.invite', { callId, toUserId: ids.dana, kind: 'video' });
    await rang;
    // Only the calling device can cancel, and the callee cannot.
    expect(await d1.emit('call.cancel', { callId, reason: 'cancelled' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const c1 = nextEvent(d1.socket, 'call.cancel');
    const c2 = nextEvent(d2.socket, 'call.cancel');
    const history = nextEvent(d1.socket, 'message.new');
    expect(await a.emit('call.cancel', { callId, reason: 'cancelled' })).toEqual({ ok: true });
    expect(await c1).toMatchObject({ callId, reason: 'cancelled' });
    expect(await c2).toMatchObject({ callId, reason: 'cancelled' });
    expect((await history).message.body).toBe('Missed video call');
    const conv = (await s.request('GET', '/api/conversations', { cookie: cookies.dana })).body.conversations.find((c: any) => c.peer.id === ids.alex);
    expect(conv.unread).toBeGreaterThan(0);
    drop(a, d1, d2);
  });

  it('busy: a third caller is told at once and the busy call is not disturbed', async () => {
    const a = await device('alex');
    const d = await device('dana');
    const n = await device('noor');
    const first = randomUUID();
    const rang = nextEvent(d.socket, 'call.invite');
    await a.emit('call.invite', { callId: first, toUserId: ids.dana, kind: 'audio' });
    await rang;
    await d.emit('call.accept', { callId: first });
    const second = randomUUID();
    const busy = nextEvent(n.socket, 'call.busy');
    expect(await n.emit('call.invite', { callId: second, toUserId: ids.dana, kind: 'video' })).toEqual({ ok: true });
    expect(await busy).toEqual({ callId: second });
    // Calling the caller side of a call is busy too.
    const busy2 = nextEvent(n.socket, 'call.busy');
    await n.emit('call.invite', { callId: randomUUID(), toUserId: ids.alex, kind: 'video' });
    await busy2;
    await flush(d);
    expect(d.rec.of('call.invite').map((e) => e.callId)).toEqual([first]);
    expect((await s.calls.callOf(ids.dana))?.id).toBe(first);
    // Someone already in a call cannot start another.
    expect(await a.emit('call.invite', { callId: randomUUID(), toUserId: ids.noor, kind: 'audio' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    await a.emit('call.hangup', { callId: first, reason: 'user_hangup' });
    drop(a, d, n);
  });

  it('unavailable: nobody of that person is online, the caller is told at once, a missed call is recorded', async () => {
    const a = await device('alex');
    const ended = nextEvent(a.socket, 'call.ended');
    const history = nextEvent(a.socket, 'message.new');
    const callId = randomUUID();
    await a.emit('call.invite', { callId, toUserId: ids.noor, kind: 'video' });
    expect(await ended).toEqual({ callId, reason: 'unavailable' });
    expect((await history).message).toMatchObject({ id: callId, body: 'Missed video call', call: { reason: 'unavailable' } });
    expect(await s.calls.count()).toBe(0);
    drop(a);
  });

  it('no answer: the server ends the ringing after CALL_RING_TIMEOUT_S on both sides', async () => {
    const a = await device('alex');
    const d = await device('dana');
    const callId = randomUUID();
    await a.emit('call.invite', { callId, toUserId: ids.dana, kind: 'audio' });
    advance(999);
    await flush(a, d);
    expect([...a.rec.of('call.ended'), ...d.rec.of('call.ended')]).toEqual([]);
    const ended = Promise.all([nextEvent(a.socket, 'call.ended'), nextEvent(d.socket, 'call.ended')]);
    advance(1);
    const [toCaller, toCallee] = await ended;
    expect(toCaller).toEqual({ callId, reason: 'no_answer' });
    expect(toCallee).toEqual({ callId, reason: 'no_answer' });
    expect(await s.calls.count()).toBe(0);
    drop(a, d);
  });

  it('glare: two people calling each other at once end up in exactly one call', async () => {
    const a = await device('alex');
    const d = await device('dana');
    const fromAlex = randomUUID();
    const fromDana = randomUUID();
    const acceptAtAlex = nextEvent(a.socket, 'call.accept');
    const [ackA, ackD] = await Promise.all([
      a.emit('call.invite', { callId: fromAlex, toUserId: ids.dana, kind: 'video' }),
      d.emit('call.invite', { callId: fromDana, toUserId: ids.alex, kind: 'video' }),
    ]);
    // Alex's invite reached the server first (it was emitted first on its own connection), so it wins.
    expect(ackA).toEqual({ ok: true });
    expect(ackD).toEqual({ ok: true, merged: { callId: fromAlex, fromUserId: ids.alex, fromDeviceId: a.deviceId, kind: 'video', fromName: 'Alex Admin' } });
    expect(await acceptAtAlex).toMatchObject({ callId: fromAlex, fromDeviceId: d.deviceId });
    expect(await s.calls.count()).toBe(1);
    expect((await s.calls.callOf(ids.alex))?.id).toBe(fromAlex);
    expect((await s.calls.callOf(ids.dana))?.id).toBe(fromAlex);
    await d.emit('call.hangup', { callId: fromAlex, reason: 'user_hangup' });
    expect(await s.calls.count()).toBe(0);
    drop(a, d);
  });

  it('glare, the narrow interleaving: the other invite lands after this one found no call of its own; it still merges instead of refusing busy', async () => {
    // Failed CI once on two nodes: Dana's invite read "no call of mine", then Alex's call (which claims
    // Dana) was created, and Dana's invite saw Alex busy and ended with callee_busy.
    const a = await device('alex');
    const d = await device('dana');
    const fromAlex = randomUUID();
    const fromDana = randomUUID();
    const registry = s.calls.registry;
    const realCallOf = registry.callOfUser.bind(registry);
    let alexInvite: Promise<any> | undefined;
    registry.callOfUser = async (userId: string) => {
      const found = await realCallOf(userId);
      // Dana's own lookup has just answered "none": Alex's invite runs to completion before Dana's goes on.
      if (userId === ids.dana && !alexInvite) await (alexInvite = a.emit('call.invite', { callId: fromAlex, toUserId: ids.dana, kind: 'audio' }));
      return found;
    };
    try {
      const acceptAtAlex = nextEvent(a.socket, 'call.accept');
      const ackD = await d.emit('call.invite', { callId: fromDana, toUserId: ids.alex, kind: 'audio' });
      expect(await alexInvite).toEqual({ ok: true });
      expect(ackD).toEqual({ ok: true, merged: { callId: fromAlex, fromUserId: ids.alex, fromDeviceId: a.deviceId, kind: 'audio', fromName: 'Alex Admin' } });
      expect(await acceptAtAlex).toMatchObject({ callId: fromAlex, fromDeviceId: d.deviceId });
      expect(a.rec.of('call.ended')).toEqual([]);
      expect(await s.calls.count()).toBe(1);
    } finally {
      registry.callOfUser = realCallOf;
    }
    await d.emit('call.hangup', { callId: fromAlex, reason: 'user_hangup' });
    expect(await s.calls.count()).toBe(0);
    drop(a, d);
  });

  it('a device that vanishes mid-call ends it for the other side with a reason, and both are free again', async () => {
    const a = await device('alex');
    const d = await device('dana');
    const callId = randomUUID();
    await a.emit('call.invite', { callId, toUserId: ids.dana, kind: 'video' });
    await d.emit('call.accept', { callId });
    d.socket.disconnect(); // tab closed
    await vi.waitFor(async () => expect((await s.calls.callOf(ids.dana))?.lost).toEqual([`${ids.dana}:${d.deviceId}`]));
    advance(599);
    await flush(a);
    expect(a.rec.of('call.ended')).toEqual([]);
    const ended = nextEvent(a.socket, 'call.ended');
    advance(1);
    expect(await ended).toEqual({ callId, reason: 'peer_disconnected' });
    expect(await s.calls.count()).toBe(0);
    // Free again: a new call rings.
    const d2 = await device('dana');
    const rang = nextEvent(d2.socket, 'call.invite');
    const again = randomUUID();
    await a.emit('call.invite', { callId: again, toUserId: ids.dana, kind: 'audio' });
    expect((await rang).callId).toBe(again);
    await a.emit('call.cancel', { callId: again, reason: 'cancelled' });
    drop(a, d2);
  });

  it('a device whose socket comes back within the grace period keeps its call', async () => {
    const a = await device('alex');
    const d = await device('dana');
    const callId = randomUUID();
    await a.emit('call.invite', { callId, toUserId: ids.dana, kind: 'video' });
    await d.emit('call.accept', { callId });
    d.socket.disconnect();
    await vi.waitFor(async () => expect((await s.calls.callOf(ids.dana))?.lost).toHaveLength(1));
    advance(200);
    const back = await s.connect(cookies.dana!, { deviceId: d.deviceId });
    await vi.waitFor(async () => expect((await s.calls.callOf(ids.dana))?.lost).toEqual([]));
    advance(800); // past the grace period
    await flush(a);
    expect((await s.calls.callOf(ids.dana))?.id).toBe(callId);
    expect(a.rec.of('call.ended')).toEqual([]);
    const hung = nextEvent(back, 'call.hangup');
    await a.emit('call.hangup', { callId, reason: 'user_hangup' });
    expect((await hung).callId).toBe(callId);
    back.disconnect();
    drop(a);
  });

  it('refuses bad call payloads with a typed error and changes nothing', async () => {
    const a = await device('alex');
    const d = await device('dana');
    const cases: [string, Record<string, unknown>, string][] = [
      ['call.invite', { callId: 'nope', toUserId: ids.dana, kind: 'video' }, 'bad_request'],
      ['call.invite', { callId: randomUUID(), toUserId: ids.dana, kind: 'hologram' }, 'bad_request'],
      ['call.invite', { callId: randomUUID(), toUserId: ids.dana, kind: 'video', fromUserId: ids.noor }, 'bad_request'],
      ['call.invite', { callId: randomUUID(), toUserId: ids.alex, kind: 'video' }, 'forbidden'],
      ['call.invite', { callId: randomUUID(), toUserId: randomUUID(), kind: 'video' }, 'not_found'],
      ['call.offer', { callId: randomUUID(), sdp: 'v=0' }, 'not_found'],
      ['call.offer', { callId: randomUUID(), sdp: 'x'.repeat(60_000) }, 'bad_request'],
      ['call.ice', { callId: randomUUID(), candidate: { candidate: 5 } }, 'bad_request'],
      ['call.hangup', { callId: randomUUID(), reason: 'because' }, 'bad_request'],
    ];
    for (const [event, payload, code] of cases) {
      expect(await a.emit(event, payload), `${event} ${JSON.stringify(payload).slice(0, 60)}`).toMatchObject({ ok: false, error: { code } });
    }
    expect(await (a.socket.emitWithAck as any)('call.invite', { callId: randomUUID(), toUserId: ids.dana, kind: 'video', deviceId: 'someone-else' })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const callId = randomUUID();
    await a.emit('call.invite', { callId, toUserId: ids.dana, kind: 'video' });
    // Offers before the answer, and a reused call id.
    expect(await a.emit('call.offer', { callId, sdp: 'v=0' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await d.emit('call.invite', { callId, toUserId: ids.alex, kind: 'video' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await a.emit('call.hangup', { callId, reason: 'user_hangup' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await a.emit('call.cancel', { callId, reason: 'cancelled' })).toEqual({ ok: true });
    expect(await s.calls.count()).toBe(0);
    drop(a, d);
  });
});

describe('CALL_PRECONNECT=0', () => {
  let s: TestServer;
  afterAll(async () => s?.close());

  it('the caller never hears preconnect and every signal waits for the answer, as before decision 020', async () => {
    s = await startTestServer({ env: { CALL_PRECONNECT: '0' } });
    const [alex, dana] = [await s.login('admin@example.com'), await s.login('doctor@example.com')];
    const danaId = (await s.request('GET', '/api/me', { cookie: dana })).body.user.id;
    const a = await s.connect(alex, { deviceId: 'alex-1' });
    const d = await s.connect(dana, { deviceId: 'dana-1' });
    const emit = (socket: TestSocket, deviceId: string, event: string, p: object) => (socket.emitWithAck as (e: string, p: unknown) => Promise<any>)(event, { deviceId, ...p });
    const callId = randomUUID();
    const invited = nextEvent(d, 'call.invite');
    await emit(a, 'alex-1', 'call.invite', { callId, toUserId: danaId, kind: 'audio' });
    await invited;
    const ringing = nextEvent(a, 'call.ringing');
    await emit(d, 'dana-1', 'call.ringing', { callId, preconnect: true });
    expect(await ringing).toEqual({ callId, fromUserId: danaId, fromDeviceId: 'dana-1' });
    expect((await s.calls.registry.get(callId))?.preconnected).toBeUndefined();
    expect(await emit(a, 'alex-1', 'call.offer', { callId, toDeviceId: 'dana-1', sdp: 'v=0' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await emit(d, 'dana-1', 'call.offer', { callId, sdp: 'v=0' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    await emit(a, 'alex-1', 'call.cancel', { callId, reason: 'cancelled' });
    a.disconnect();
    d.disconnect();
  });
});
