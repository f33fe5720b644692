import { CALL_CLIENT_SCHEMAS, type CallClientEventName, type CallServerEventName } from '@parley/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { CallAgent } from './agent.ts';
import { CONFIGURATION_MAX_AGE_MS, type AgentCall } from './agent-call.ts';
import type { SignalChannel } from './signal-channel.ts';
import { ManualClock, RecordingLogger } from './testing/clock.ts';
import { fakeMedia, fakePeerConnectionFactory, settle, type FakeStream, type FakeTrack } from './testing/fake-peer-connection.ts';
import type { PeerConfiguration } from './webrtc.ts';

const DANA = '11111111-1111-4111-8111-111111111111';
const NOOR = '22222222-2222-4222-8222-222222222222';
const SAM = '33333333-3333-4333-8333-333333333333';
const CALL_X = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const CALL_Y = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
const OFFER = 'v=0\r\na=ice-ufrag:remote1\r\na=fake-track:audio a1 s1\r\n';
const STUN: PeerConfiguration = { iceServers: [{ urls: 'stun:stun.clinic.test:3478' }] };
const TURN: PeerConfiguration = { iceServers: [{ urls: 'turn:turn.clinic.test:3478', username: 'u', credential: 'c' }] };

interface Sent {
  type: CallClientEventName;
  payload: any;
  ack: (res: unknown) => void;
}

/** The test plays the server: it sees every emit and fires server events. Acks are the test's to give. */
class TestChannel implements SignalChannel {
  connected = true;
  readonly sent: Sent[] = [];
  readonly invalid: string[] = [];
  readonly #listeners = new Map<string, Set<(payload: unknown) => void>>();
  readonly #connect = new Set<() => void>();
  emit(type: CallClientEventName, payload: unknown, ack: (res: unknown) => void): void {
    const parsed = CALL_CLIENT_SCHEMAS[type].safeParse(payload);
    if (!parsed.success) this.invalid.push(`${type}: ${parsed.error.message}`);
    this.sent.push({ type, payload, ack });
  }
  on(type: CallServerEventName, listener: (payload: unknown) => void): () => void {
    const set = this.#listeners.get(type) ?? new Set();
    set.add(listener);
    this.#listeners.set(type, set);
    return () => set.delete(listener);
  }
  onConnect(listener: () => void): () => void {
    this.#connect.add(listener);
    return () => this.#connect.delete(listener);
  }
  fire(type: CallServerEventName, payload: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(payload);
  }
  reconnect(): void {
    this.connected = true;
    for (const listener of this.#connect) listener();
  }
  types(): string[] {
    return this.sent.map((s) => s.type);
  }
  take(type: CallClientEventName): Sent {
    const i = this.sent.findIndex((s) => s.type === type);
    if (i < 0) throw new Error(`nothing sent as ${type}; sent ${this.types().join(', ') || 'nothing'}`);
    return this.sent.splice(i, 1)[0]!;
  }
  ackAll(): void {
    for (const s of this.sent.splice(0)) s.ack({ ok: true });
  }
}

const agents: CallAgent<FakeTrack, FakeStream>[] = [];
afterEach(() => {
  for (const a of agents.splice(0)) a.stop();
});

function device(deviceId = 'noor-phone', iceServers: () => Promise<PeerConfiguration> = async () => STUN) {
  const channel = new TestChannel();
  const pcs = fakePeerConnectionFactory();
  const clock = new ManualClock();
  const log = new RecordingLogger();
  let fetches = 0;
  const agent = new CallAgent<FakeTrack, FakeStream>({
    deviceId,
    channel,
    peerConnectionFactory: pcs.factory,
    iceServers: () => {
      fetches += 1;
      return iceServers();
    },
    clock,
    logger: log,
    statsIntervalMs: 1_000,
    qualityReportMs: 10_000,
  });
  agent.start();
  agents.push(agent);
  const incoming: AgentCall<FakeTrack, FakeStream>[] = [];
  agent.on('incoming', (call) => incoming.push(call));
  return { agent, channel, pcs, clock, log, incoming, fetches: () => fetches };
}
type Device = ReturnType<typeof device>;

const invite = (callId = CALL_X, from = DANA, kind: 'audio' | 'video' = 'audio') => ({
  callId,
  fromUserId: from,
  fromDeviceId: from === DANA ? 'dana-laptop' : 'sam-desk',
  kind,
  fromName: from === DANA ? 'Dana Doctor' : 'Sam Admin',
});

/** Noor's device answers Dana's call and the media path comes up. */
async function answeredCall(d: Device = device()) {
  d.channel.fire('call.invite', invite());
  const call = d.incoming[0]!;
  expect(await call.accept(fakeMedia('audio'))).toBe(true);
  d.channel.fire('call.offer', { callId: CALL_X, fromUserId: DANA, fromDeviceId: 'dana-laptop', sdp: OFFER });
  await settle();
  d.pcs.last().connect();
  await settle();
  expect(call.phase).toBe('connected');
  d.channel.ackAll();
  return { ...d, call, pc: d.pcs.last() };
}

/** Advances the manual clock a second at a time, letting each stats reading finish. */
async function seconds(d: Device, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    d.clock.advance(1_000);
    await settle(2);
  }
}

describe('CallAgent', () => {
  it('validates what the server sends and drops what does not parse', () => {
    const d = device();
    d.channel.fire('call.invite', { ...invite(), callId: 'not-a-uuid' });
    d.channel.fire('call.invite', { ...invite(), fromDeviceId: 'dana laptop!' });
    expect(d.incoming).toEqual([]);
    expect(d.channel.sent).toEqual([]);
    expect(d.log.has('invalid payload')).toBe(true);
  });

  it('rings for an invite, and stops when another device of mine answers', () => {
    const d = device();
    d.channel.fire('call.invite', invite());
    expect(d.incoming).toHaveLength(1);
    expect(d.incoming[0]).toMatchObject({ phase: 'ringing', direction: 'incoming', peerUserId: DANA, peerName: 'Dana Doctor', callId: CALL_X });
    expect(d.channel.take('call.ringing').payload).toEqual({ callId: CALL_X, deviceId: 'noor-phone' });
    d.channel.fire('call.answered_elsewhere', { callId: CALL_X, fromUserId: NOOR, fromDeviceId: 'noor-laptop' });
    expect(d.incoming[0]!.end).toEqual({ reason: 'answered_elsewhere', by: 'remote' });
    expect(d.channel.sent).toEqual([]);
  });

  it('declines a second call as busy without ringing for it or telling the app', async () => {
    const d = await answeredCall();
    d.channel.fire('call.invite', invite(CALL_Y, SAM, 'video'));
    expect(d.channel.types()).toEqual(['call.reject']);
    expect(d.channel.take('call.reject').payload).toEqual({ callId: CALL_Y, deviceId: 'noor-phone', reason: 'busy' });
    expect(d.incoming).toHaveLength(1);
    expect(d.call.phase).toBe('connected');
    expect(() => d.agent.dial(SAM, 'audio')).toThrow(/in a call/);
  });

  it('fetches the ICE servers when it rings and answers on them, so the diagnosis knows the relay it had', async () => {
    let config = TURN;
    const d = device('noor-phone', async () => config);
    d.channel.fire('call.invite', invite());
    // Fetched while ringing, before any click; the answer does not wait for another fetch.
    expect(d.fetches()).toBe(1);
    config = STUN;
    await d.incoming[0]!.accept(fakeMedia('audio'));
    expect(d.fetches()).toBe(1);
    expect(d.pcs.last().configuration).toEqual(TURN);
    d.clock.advance(18_000);
    expect(d.incoming[0]!.end).toMatchObject({ reason: 'connection_failed', by: 'local', diagnosis: { code: 'turn_unreachable' } });
    expect(d.channel.sent.at(-1)).toMatchObject({ type: 'call.hangup', payload: { reason: 'connection_failed' } });
  });

  it('fetches the ICE servers again for an answer after a long ring (TURN credentials expire)', async () => {
    let config = STUN;
    const d = device('noor-phone', async () => config);
    d.channel.fire('call.invite', invite());
    config = TURN;
    d.clock.advance(CONFIGURATION_MAX_AGE_MS + 1);
    await d.incoming[0]!.accept(fakeMedia('audio'));
    expect(d.fetches()).toBe(2);
    expect(d.pcs.last().configuration).toEqual(TURN);
  });

  it('fetches fresh ICE servers before every ICE restart', async () => {
    let n = 0;
    const d = await answeredCall(device('noor-phone', async () => ({ iceServers: [{ urls: `turn:turn${++n}.clinic.test`, username: 'u', credential: `c${n}` }] })));
    const before = d.fetches();
    d.pc.setIceConnectionState('failed');
    await settle();
    expect(d.fetches()).toBe(before + 1);
    const calls = d.pc.calls.map((c) => c.method).filter((m) => m === 'setConfiguration' || m === 'restartIce');
    expect(calls).toEqual(['setConfiguration', 'restartIce']);
    expect(d.pc.callsOf('setConfiguration')[0]![0]).toEqual({ iceServers: [{ urls: `turn:turn${n}.clinic.test`, username: 'u', credential: `c${n}` }] });
  });

  it('holds signals while the server is unreachable and sends them after call.resume', async () => {
    const d = await answeredCall();
    d.channel.connected = false;
    d.pc.emitCandidate({ candidate: 'candidate:7 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.2 rport 40000', sdpMid: '0', sdpMLineIndex: 0 });
    await settle();
    expect(d.channel.sent).toEqual([]);
    d.channel.reconnect();
    expect(d.channel.types()).toEqual(['call.resume', 'call.ice']);
    expect(d.channel.sent[0]!.payload).toMatchObject({ callId: CALL_X, role: 'callee', peerUserId: DANA, peerDeviceId: 'dana-laptop', kind: 'audio' });
    // The server forgot the call while we were away: it is over.
    d.channel.take('call.resume').ack({ ok: false, error: { code: 'not_found', message: 'no such call' } });
    expect(d.call.end).toMatchObject({ reason: 'peer_disconnected', refusal: 'not_found' });
  });

  describe('invite glare', () => {
    async function calling(d: Device) {
      const call = d.agent.dial(NOOR, 'video');
      const stream = fakeMedia('video');
      await call.place(stream);
      return { call, stream, ours: d.channel.take('call.invite') };
    }

    it('holds the peer’s invite until our ack, then continues as the callee of the merged call with the same media', async () => {
      const d = device('dana-laptop');
      const { call, stream, ours } = await calling(d);
      d.channel.fire('call.invite', { ...invite(CALL_Y, NOOR, 'video'), fromDeviceId: 'noor-phone', fromName: 'Noor Nurse' });
      expect(d.channel.sent).toEqual([]);
      expect(d.incoming).toEqual([]);
      ours.ack({ ok: true, merged: { callId: CALL_Y, fromUserId: NOOR, fromDeviceId: 'noor-phone', kind: 'video', fromName: 'Noor Nurse' } });
      expect(d.channel.types()).toEqual(['call.accept']);
      expect(d.channel.sent[0]!.payload).toEqual({ callId: CALL_Y, deviceId: 'dana-laptop' });
      expect(call).toMatchObject({ callId: CALL_Y, direction: 'incoming', phase: 'connecting', end: null });
      expect(stream.getTracks().every((t) => !t.stopped)).toBe(true);
      // The caller's offer finds the merged session.
      d.channel.fire('call.offer', { callId: CALL_Y, fromUserId: NOOR, fromDeviceId: 'noor-phone', sdp: OFFER });
      await settle();
      expect(d.channel.types()).toContain('call.answer');
    });

    it('declines the held invite as busy once our own call turns out to be on', async () => {
      const d = device('dana-laptop');
      const { call, ours } = await calling(d);
      d.channel.fire('call.invite', { ...invite(CALL_Y, NOOR), fromDeviceId: 'noor-phone' });
      ours.ack({ ok: true });
      expect(d.channel.take('call.reject').payload).toEqual({ callId: CALL_Y, deviceId: 'dana-laptop', reason: 'busy' });
      expect(call).toMatchObject({ direction: 'outgoing', phase: 'outgoing' });
    });

    it('takes the peer’s call instead of placing ours when it came while getting the camera', async () => {
      const d = device('dana-laptop');
      const call = d.agent.dial(NOOR, 'audio');
      d.channel.fire('call.invite', { ...invite(CALL_Y, NOOR), fromDeviceId: 'noor-phone' });
      await call.place(fakeMedia('audio'));
      expect(d.channel.types()).toEqual(['call.accept']);
      expect(call).toMatchObject({ callId: CALL_Y, direction: 'incoming', phase: 'connecting' });
    });

    it('lets the held invite ring when our own call ends first', async () => {
      const d = device('dana-laptop');
      const { call, ours } = await calling(d);
      d.channel.fire('call.invite', { ...invite(CALL_Y, NOOR), fromDeviceId: 'noor-phone' });
      call.hangup();
      expect(d.channel.take('call.cancel').payload).toMatchObject({ reason: 'cancelled' });
      expect(d.incoming.map((c) => c.callId)).toEqual([CALL_Y]);
      ours.ack({ ok: true });
    });
  });

  describe('the media watchdog', () => {
    it('restarts ICE when nothing arrives on a connected transport, then says the call is one-way', async () => {
      const d = await answeredCall();
      await seconds(d, 3);
      expect(d.call.oneWay).toBeNull();
      expect(d.pc.callsOf('restartIce')).toHaveLength(0);

      d.pc.stopDelivering('inbound');
      await seconds(d, 5);
      expect(d.pc.callsOf('restartIce')).toHaveLength(1);
      expect(d.log.has('restarting ICE')).toBe(true);
      expect(d.call.oneWay).toBeNull();

      const updates: string[] = [];
      d.call.on('update', () => updates.push(String(d.call.oneWay)));
      await seconds(d, 6);
      expect(d.call.oneWay).toBe('inbound');
      expect(updates).toContain('inbound');
      // One restart per stall: the watchdog does not hammer ICE.
      expect(d.pc.callsOf('restartIce')).toHaveLength(1);

      // The history keeps it: the summary carries the fact.
      d.channel.sent.splice(0);
      d.call.hangup();
      expect(d.channel.types()).toEqual(['call.stats', 'call.hangup']);
      expect(d.channel.sent[0]!.payload.quality).toMatchObject({ path: 'direct', protocol: 'udp', oneWay: 'inbound' });
      expect(d.channel.invalid).toEqual([]);
    });

    it('clears the condition when media arrives again', async () => {
      const d = await answeredCall();
      await seconds(d, 1);
      d.pc.stopDelivering('inbound');
      await seconds(d, 12);
      expect(d.call.oneWay).toBe('inbound');
      d.pc.resumeDelivering('inbound');
      await seconds(d, 1);
      expect(d.call.oneWay).toBeNull();
    });

    it('says the peer receives nothing when its receiver reports stop, without restarting ICE', async () => {
      const d = await answeredCall();
      await seconds(d, 2);
      d.pc.stopDelivering('outbound');
      await seconds(d, 11);
      expect(d.call.oneWay).toBeNull();
      await seconds(d, 2);
      expect(d.call.oneWay).toBe('outbound');
      expect(d.pc.callsOf('restartIce')).toHaveLength(0);
    });

    it('does not count a stall while ICE itself is reconnecting', async () => {
      const d = await answeredCall();
      await seconds(d, 1);
      d.pc.stopDelivering('inbound');
      d.pc.setIceConnectionState('disconnected');
      await seconds(d, 1);
      const afterIce = d.pc.callsOf('restartIce').length;
      await seconds(d, 8);
      // Only the engine's own restart for `disconnected` (after 2 s), none from the watchdog.
      expect(afterIce).toBe(0);
      expect(d.pc.callsOf('restartIce')).toHaveLength(1);
      expect(d.call.oneWay).toBeNull();
    });
  });

  it('measures a connected call and reports its quality summary now and then', async () => {
    const d = await answeredCall();
    await seconds(d, 2);
    expect(d.call.details).toMatchObject({ path: 'direct', protocol: 'udp', rttMs: 20, lossPct: 0 });
    expect(d.call.details?.inKbps).toBeGreaterThan(0);
    // The first summary went out at once (answeredCall acked it); the next one 10 s later.
    const stats = () => d.channel.sent.filter((s) => s.type === 'call.stats');
    expect(stats()).toHaveLength(0);
    await seconds(d, 9);
    expect(stats()).toHaveLength(1);
    await seconds(d, 3);
    expect(stats()).toHaveLength(1);
    expect(stats()[0]!.payload).toEqual({ callId: CALL_X, deviceId: 'noor-phone', quality: { path: 'direct', protocol: 'udp', rttMs: 20, lossPct: 0 } });
  });

  it('stop() takes its listeners off and hangs up the call', async () => {
    const d = await answeredCall();
    d.agent.stop();
    expect(d.channel.take('call.hangup').payload).toMatchObject({ reason: 'user_hangup' });
    d.channel.fire('call.invite', invite(CALL_Y, SAM));
    expect(d.incoming).toHaveLength(1);
  });
});
