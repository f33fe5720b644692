// Connecting while it rings (docs/decisions/020-preconnect-while-ringing.md): one caller, two
// callee devices, each a CallSession on its own fake peer connections, and a relay that routes
// like the server (apps/server/src/features/calls/call-lifecycle.ts): while it rings, the caller's
// offer, answer and candidates go to the one device they name, a ringing device's to the caller;
// after an answer, only between the two bound devices.
import { CALL_CLIENT_SCHEMAS, CALL_SERVER_SCHEMAS } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { CallSession, type CallEnd, type IncomingCallSignal, type OutgoingCallSignal } from './call.ts';
import type { CallState } from './states.ts';
import { ManualClock, RecordingLogger } from './testing/clock.ts';
import { FakeStream, FakeTrack, fakeMedia, fakePeerConnectionFactory, settle, type FakePeerConnection } from './testing/fake-peer-connection.ts';

const ALICE = crypto.randomUUID();
const BOB = crypto.randomUUID();

interface Device {
  userId: string;
  deviceId: string;
  session: CallSession<FakeTrack, FakeStream>;
  fakes: ReturnType<typeof fakePeerConnectionFactory>;
  logger: RecordingLogger;
  clock: ManualClock;
  signals: OutgoingCallSignal[];
  invalid: string[];
  states: CallState[];
  ends: CallEnd[];
  tracks: FakeTrack[];
  sent(type: OutgoingCallSignal['type']): OutgoingCallSignal[];
}

function device(userId: string, deviceId: string, preconnect: boolean): Device {
  const fakes = fakePeerConnectionFactory();
  const logger = new RecordingLogger();
  const clock = new ManualClock();
  const session = new CallSession<FakeTrack, FakeStream>({ deviceId, peerConnectionFactory: fakes.factory, logger, clock, preconnect });
  const d: Device = {
    userId,
    deviceId,
    session,
    fakes,
    logger,
    clock,
    signals: [],
    invalid: [],
    states: [],
    ends: [],
    tracks: [],
    sent: (type) => d.signals.filter((s) => s.type === type),
  };
  session.on('signal', (signal) => {
    const parsed = CALL_CLIENT_SCHEMAS[signal.type].safeParse(signal.payload);
    if (!parsed.success) d.invalid.push(`${signal.type}: ${parsed.error.message}`);
    d.signals.push(signal);
  });
  session.on('state', (state) => d.states.push(state));
  session.on('ended', (end) => d.ends.push(end));
  session.on('track', (track) => d.tracks.push(track));
  return d;
}

/** The server's routing, in miniature: who gets what, before and after the answer. */
class Relay {
  readonly refused: string[] = [];
  #caller: Device;
  #callees: Device[];
  #preconnected = new Set<string>();
  #answeredBy: Device | null = null;

  constructor(caller: Device, callees: Device[], allowPreconnect = true) {
    this.#caller = caller;
    this.#callees = callees;
    for (const d of [caller, ...callees]) {
      d.session.on('signal', (signal) => this.#route(d, signal, allowPreconnect));
    }
  }

  #deliver(to: Device, type: IncomingCallSignal['type'], payload: Record<string, unknown>): void {
    const event = { type, payload: CALL_SERVER_SCHEMAS[type].parse(payload) } as IncomingCallSignal;
    setTimeout(() => to.session.handleSignal(event), 0);
  }

  #route(from: Device, signal: OutgoingCallSignal, allowPreconnect: boolean): void {
    if (signal.type === 'call.resume' || signal.type === 'call.stats') return;
    const { deviceId, toDeviceId, preconnect, ...rest } = signal.payload as Record<string, unknown>;
    const stamped = { ...rest, fromUserId: from.userId, fromDeviceId: deviceId };
    const callees = this.#callees;
    switch (signal.type) {
      case 'call.invite':
        for (const c of callees) this.#deliver(c, 'call.invite', { callId: rest.callId, kind: rest.kind, fromUserId: from.userId, fromDeviceId: deviceId, fromName: 'Alice' });
        return;
      case 'call.ringing': {
        const allowed = preconnect === true && allowPreconnect;
        if (allowed) this.#preconnected.add(from.deviceId);
        this.#deliver(this.#caller, 'call.ringing', allowed ? { ...stamped, preconnect: true } : stamped);
        return;
      }
      case 'call.accept':
        this.#answeredBy = from;
        this.#deliver(this.#caller, 'call.accept', stamped);
        for (const c of callees) if (c !== from) this.#deliver(c, 'call.answered_elsewhere', stamped);
        return;
      case 'call.cancel':
        for (const c of callees) this.#deliver(c, 'call.cancel', stamped);
        return;
      case 'call.reject':
        this.#deliver(this.#caller, 'call.reject', stamped);
        for (const c of callees) if (c !== from) this.#deliver(c, 'call.reject', stamped);
        return;
      case 'call.offer':
      case 'call.answer':
      case 'call.ice':
      case 'call.hangup': {
        const to = this.#relayTarget(from, toDeviceId as string | undefined);
        if (!to) {
          this.refused.push(`${signal.type} from ${from.deviceId} to ${String(toDeviceId)}`);
          return;
        }
        this.#deliver(to, signal.type, stamped);
        return;
      }
    }
  }

  #relayTarget(from: Device, toDeviceId: string | undefined): Device | null {
    const answered = this.#answeredBy;
    if (answered) {
      if (from === this.#caller) return toDeviceId === undefined || toDeviceId === answered.deviceId ? answered : null;
      return from === answered ? this.#caller : null;
    }
    if (from === this.#caller) {
      return toDeviceId && this.#preconnected.has(toDeviceId) ? (this.#callees.find((c) => c.deviceId === toDeviceId) ?? null) : null;
    }
    return this.#preconnected.has(from.deviceId) ? this.#caller : null;
  }
}

/** The caller's connection to `deviceId`: the one whose offer named it. */
function pcTo(caller: Device, deviceId: string): FakePeerConnection {
  const offers = caller.sent('call.offer').filter((s) => (s.payload as { toDeviceId?: string }).toDeviceId === deviceId);
  const first = offers[0];
  if (!first || first.type !== 'call.offer') throw new Error(`no offer to ${deviceId}`);
  const pc = caller.fakes.instances.find((p) => p.callsOf('setLocalDescription').length > 0 && p.localDescription?.sdp === first.payload.sdp);
  if (pc) return pc;
  // The offer may have been superseded by a later local description; fall back to order of creation.
  return caller.fakes.instances[caller.sent('call.offer').indexOf(first)]!;
}

/** A ringing call from Alice's laptop to Bob's phone and tablet, each pre-connected when it says so. */
async function ringingCall(options: { phone?: boolean; tablet?: boolean; caller?: boolean; allow?: boolean } = {}) {
  const alice = device(ALICE, 'alice-laptop', options.caller ?? true);
  const phone = device(BOB, 'bob-phone', options.phone ?? true);
  const tablet = device(BOB, 'bob-tablet', options.tablet ?? true);
  const relay = new Relay(alice, [phone, tablet], options.allow ?? true);
  const aliceMedia = fakeMedia('video');
  alice.session.start({ toUserId: BOB, kind: 'video', localStream: aliceMedia });
  await settle();
  for (const callee of [phone, tablet]) callee.session.preconnect({ iceServers: [{ urls: 'stun:stun.example.test:3478' }] });
  await settle(30);
  return { alice, phone, tablet, relay, aliceMedia };
}

const allSenders = (d: Device) => d.fakes.instances.flatMap((pc) => pc.senders);

describe('connecting while it rings', () => {
  it('each ringing device connects with the caller before the click, and nothing is sent before it', async () => {
    const { alice, phone, tablet, relay } = await ringingCall();
    expect(alice.session.state).toBe('outgoing');
    expect(phone.session.state).toBe('ringing');
    expect(tablet.session.state).toBe('ringing');
    expect(relay.refused).toEqual([]);

    // One connection and one offer per ringing device, each named for its device.
    expect(alice.fakes.instances).toHaveLength(2);
    expect(alice.sent('call.offer').map((s) => (s.payload as { toDeviceId?: string }).toDeviceId).sort()).toEqual(['bob-phone', 'bob-tablet']);
    expect(alice.sent('call.ice').every((s) => typeof (s.payload as { toDeviceId?: string }).toDeviceId === 'string')).toBe(true);
    // Each callee answered while ringing, on m-sections reserved for its media; no offer of its own.
    for (const callee of [phone, tablet]) {
      expect(callee.sent('call.ringing')[0]?.payload).toMatchObject({ preconnect: true });
      expect(callee.sent('call.answer')).toHaveLength(1);
      expect(callee.sent('call.offer')).toHaveLength(0);
      expect(callee.sent('call.ice').length).toBeGreaterThan(0);
      expect(callee.fakes.last().signalingState).toBe('stable');
      expect(callee.fakes.last().localDescription?.sdp).toMatch(/a=fake-slot:\S+ video - sendrecv/);
    }
    // ICE and DTLS come up on all four connections.
    for (const pc of [...alice.fakes.instances, phone.fakes.last(), tablet.fakes.last()]) pc.connect();
    await settle();
    expect(alice.session.state).toBe('outgoing');
    expect(phone.session.state).toBe('ringing');

    // No track on any sender of anyone, and the apps were told of no remote media.
    expect(allSenders(alice).every((s) => s.track === null && s.replaced.length === 0)).toBe(true);
    expect([...allSenders(phone), ...allSenders(tablet)].every((s) => s.track === null)).toBe(true);
    expect([alice.tracks, phone.tracks, tablet.tracks]).toEqual([[], [], []]);

    // A connection made while ringing has no connect timeout: a long ring does not end the call.
    phone.clock.advance(20_000);
    alice.clock.advance(20_000);
    expect(phone.session.state).toBe('ringing');
    expect(alice.session.state).toBe('outgoing');
    // A track given while ringing waits for the answer too.
    const extra = new FakeTrack('video');
    phone.session.addTrack(extra, fakeMedia('audio'));
    expect(allSenders(phone).some((s) => s.track === extra)).toBe(false);
    for (const d of [alice, phone, tablet]) expect(d.invalid).toEqual([]);
  });

  it('the click puts the tracks on the connection that is up: connected at once, no renegotiation, the other device let go', async () => {
    const { alice, phone, tablet, relay, aliceMedia } = await ringingCall();
    const toPhone = pcTo(alice, 'bob-phone');
    const toTablet = pcTo(alice, 'bob-tablet');
    for (const pc of [toPhone, toTablet, phone.fakes.last(), tablet.fakes.last()]) pc.connect();
    await settle();
    const offersBefore = alice.sent('call.offer').length;

    const bobMedia = fakeMedia('video');
    phone.session.accept(bobMedia);
    expect(phone.session.state).toBe('connected');
    expect(phone.states).toEqual(['ringing', 'connecting', 'connected']);
    // The phone's tracks are on its reserved senders, replaced in, not added.
    expect(phone.fakes.instances).toHaveLength(1);
    expect(phone.fakes.last().callsOf('addTrack')).toHaveLength(0);
    expect(phone.fakes.last().senders.map((s) => s.track?.id).sort()).toEqual(bobMedia.getTracks().map((t) => t.id).sort());
    await settle(30);

    expect(alice.session.state).toBe('connected');
    expect(alice.session.peerDeviceId).toBe('bob-phone');
    expect(toPhone.senders.map((s) => s.track?.id).sort()).toEqual(aliceMedia.getTracks().map((t) => t.id).sort());
    expect(toPhone.callsOf('addTrack')).toHaveLength(0);
    expect(toTablet.closed).toBe(true);
    expect(tablet.ends).toEqual([{ reason: 'answered_elsewhere', by: 'remote' }]);
    expect(tablet.fakes.last().closed).toBe(true);
    // No offer, answer or extra round trip after the click.
    expect(alice.sent('call.offer')).toHaveLength(offersBefore);
    expect(phone.sent('call.offer')).toHaveLength(0);
    expect(phone.sent('call.answer')).toHaveLength(1);
    // The remote media reached each app once its side was answered: the caller's stream on the phone.
    expect(phone.tracks.map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    expect(alice.tracks.map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    expect(relay.refused).toEqual([]);

    // From now on the kept connection speaks to the bound device without naming it; it hangs up normally.
    alice.session.hangup();
    await settle();
    expect(phone.ends).toEqual([{ reason: 'user_hangup', by: 'remote' }]);
    expect(toPhone.closed && phone.fakes.last().closed).toBe(true);
  });

  it('a track added after the answer takes the sender reserved for its kind, with no renegotiation', async () => {
    const { alice, phone } = await ringingCall({ tablet: false });
    for (const pc of [alice.fakes.last(), phone.fakes.last()]) pc.connect();
    await settle();
    const bobMedia = fakeMedia('video');
    const [microphone, camera] = bobMedia.getTracks();
    // Answered with the camera alone (a preview's), the microphone joins a moment later.
    phone.session.accept(new FakeStream([camera!]));
    phone.session.addTrack(microphone!, bobMedia);
    await settle(30);
    expect(phone.fakes.last().senders.map((s) => s.track?.kind).sort()).toEqual(['audio', 'video']);
    expect(phone.fakes.last().callsOf('addTrack')).toHaveLength(0);
    expect(phone.sent('call.offer')).toHaveLength(0);
    expect(alice.sent('call.offer')).toHaveLength(1);
  });

  it('answered before the connection is up: the connect timeout starts at the answer', async () => {
    const { alice, phone } = await ringingCall({ tablet: false });
    phone.session.accept(fakeMedia('video'));
    await settle(30);
    expect(phone.session.state).toBe('connecting');
    expect(alice.session.state).toBe('connecting');
    phone.clock.advance(18_001);
    expect(phone.ends[0]?.reason).toBe('connection_failed');
  });

  it('a device that does not pre-connect gets the offer after its accept, as before; so does any device when the server refuses it', async () => {
    for (const options of [{ phone: false, tablet: false }, { allow: false }, { caller: false }]) {
      const { alice, phone, relay } = await ringingCall(options);
      expect(alice.fakes.instances).toHaveLength(0);
      expect(alice.sent('call.offer')).toHaveLength(0);
      const bobMedia = fakeMedia('video');
      phone.session.accept(bobMedia);
      await settle(30);
      expect(alice.sent('call.offer')).toHaveLength(1);
      expect(alice.sent('call.offer')[0]?.payload).not.toHaveProperty('toDeviceId');
      expect(phone.sent('call.answer')).toHaveLength(1);
      expect(phone.fakes.last().senders.map((s) => s.track?.id).sort()).toEqual(bobMedia.getTracks().map((t) => t.id).sort());
      alice.fakes.last().connect();
      phone.fakes.last().connect();
      expect([alice.session.state, phone.session.state]).toEqual(['connected', 'connected']);
      expect(relay.refused).toEqual([]);
    }
  });

  it('a connection made while ringing that fails is dropped, not the call: the answer makes a new one', async () => {
    const alice = device(ALICE, 'alice-laptop', true);
    alice.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio') });
    const callId = alice.session.callId!;
    const from = { callId, fromUserId: BOB, fromDeviceId: 'bob-phone' };
    const signal = <T extends IncomingCallSignal['type']>(type: T, payload: Record<string, unknown>) =>
      alice.session.handleSignal({ type, payload: CALL_SERVER_SCHEMAS[type].parse(payload) } as IncomingCallSignal);
    signal('call.ringing', { ...from, preconnect: true });
    await settle();
    expect(alice.fakes.instances).toHaveLength(1);
    signal('call.answer', { ...from, sdp: 'not an sdp' });
    await settle();
    expect(alice.session.state).toBe('outgoing');
    expect(alice.fakes.instances[0]!.closed).toBe(true);
    // A stranger's answer for a device never rung is dropped without a connection.
    signal('call.answer', { ...from, fromDeviceId: 'bob-tv', sdp: 'v=0\r\n' });
    await settle();
    expect(alice.fakes.instances).toHaveLength(1);

    signal('call.accept', from);
    await settle();
    expect(alice.session.state).toBe('connecting');
    expect(alice.fakes.instances).toHaveLength(2);
    expect(alice.sent('call.offer').at(-1)?.payload).not.toHaveProperty('toDeviceId');
    expect(alice.fakes.last().callsOf('addTrack')).toHaveLength(1);
  });

  it('cancel, decline and the ring timeout close every connection made while ringing', async () => {
    const cancelled = await ringingCall();
    cancelled.alice.session.hangup();
    await settle();
    expect(cancelled.alice.fakes.instances.every((pc) => pc.closed)).toBe(true);
    expect([cancelled.phone, cancelled.tablet].every((d) => d.fakes.last().closed && d.ends[0]?.reason === 'cancelled')).toBe(true);

    const declined = await ringingCall();
    declined.tablet.session.reject();
    await settle();
    expect(declined.alice.ends).toEqual([{ reason: 'declined', by: 'remote' }]);
    expect(declined.alice.fakes.instances.every((pc) => pc.closed)).toBe(true);
    expect([declined.phone, declined.tablet].every((d) => d.fakes.last().closed)).toBe(true);

    const unanswered = await ringingCall();
    unanswered.alice.clock.advance(45_000);
    await settle();
    expect(unanswered.alice.ends[0]?.reason).toBe('no_answer');
    expect(unanswered.alice.fakes.instances.every((pc) => pc.closed)).toBe(true);
  });
});
