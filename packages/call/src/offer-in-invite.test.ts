// The first negotiation's SDP travels with the invite and the accept (docs/decisions/008-offer-in-invite.md):
// a caller and callee sessions on fake peer connections, with the test carrying the signals as the server would.
import { CALL_CLIENT_SCHEMAS, CALL_SERVER_SCHEMAS } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { CallSession } from './call.ts';
import { HeldCandidates, candidateLines } from './early-offer.ts';
import type { IncomingCallSignal, OutgoingCallSignal } from './session-types.ts';
import { ManualClock, RecordingLogger } from './testing/clock.ts';
import { fakeMedia, fakePeerConnectionFactory, settle, type FakeStream, type FakeTrack } from './testing/fake-peer-connection.ts';

const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';

function party(deviceId: string) {
  const fakes = fakePeerConnectionFactory();
  const clock = new ManualClock();
  const logger = new RecordingLogger();
  const session = new CallSession<FakeTrack, FakeStream>({ deviceId, peerConnectionFactory: fakes.factory, logger, clock });
  const signals: OutgoingCallSignal[] = [];
  const invalid: string[] = [];
  session.on('signal', (signal) => {
    const parsed = CALL_CLIENT_SCHEMAS[signal.type].safeParse(signal.payload);
    if (!parsed.success) invalid.push(`${signal.type}: ${parsed.error.message}`);
    signals.push(signal);
  });
  return { session, fakes, clock, logger, signals, invalid, types: () => signals.map((s) => s.type), pc: () => fakes.last() };
}

/** What the server hands on: the payload a client sent, with the sender filled in, parsed as the receiving app does. */
function relayed(signal: OutgoingCallSignal, fromUserId: string, extra: Record<string, unknown> = {}): IncomingCallSignal {
  const { deviceId, ...rest } = signal.payload as { deviceId: string } & Record<string, unknown>;
  const payload = { ...rest, fromUserId, fromDeviceId: deviceId, ...extra };
  return { type: signal.type, payload: CALL_SERVER_SCHEMAS[signal.type as keyof typeof CALL_SERVER_SCHEMAS].parse(payload) } as IncomingCallSignal;
}

async function calling() {
  const caller = party('alice-laptop');
  const callId = crypto.randomUUID();
  caller.session.start({ toUserId: BOB, kind: 'video', localStream: fakeMedia('video'), callId });
  await settle();
  const invite = caller.signals.find((s) => s.type === 'call.invite')!;
  return { caller, callId, invite };
}

/** A callee device ringing with the invite as the server sends it to each device. */
function ringingDevice(deviceId: string, invite: OutgoingCallSignal) {
  const callee = party(deviceId);
  const { toUserId: _to, ...rest } = invite.payload as { toUserId: string } & Record<string, unknown>;
  callee.session.handleSignal(relayed({ type: 'call.invite', payload: rest } as unknown as OutgoingCallSignal, ALICE, { fromName: 'Alice' }));
  return callee;
}

describe('the offer in the invite', () => {
  it('the caller offers with the invite; the callee answers in call.accept; nothing else crosses before ICE, and media connects both ways', async () => {
    const { caller, callId, invite } = await calling();
    // The invite carries the offer (made and gathered before it left); the candidates wait for a device.
    expect(caller.types()).toEqual(['call.invite']);
    const offer = (invite.payload as { offer?: string }).offer;
    expect(offer).toMatch(/^v=0/);
    expect(caller.pc().localDescription?.sdp).toBe(offer);

    // Ringing longer than connectMs (18 s) is not a failed connection: that clock starts on the answer.
    caller.clock.advance(30_000);
    expect(caller.session.state).toBe('outgoing');

    const callee = ringingDevice('bob-phone', invite);
    expect(callee.types()).toEqual(['call.ringing']);
    expect(callee.fakes.instances).toHaveLength(0);
    callee.session.accept(fakeMedia('audio'));
    await settle();
    // One call.accept with the answer, then its candidates: no call.answer of its own.
    expect(callee.types()[1]).toBe('call.accept');
    expect(callee.types().slice(2).every((t) => t === 'call.ice')).toBe(true);
    expect(callee.types()).not.toContain('call.answer');
    expect(callee.pc().callsOf('setRemoteDescription')[0]).toEqual([{ type: 'offer', sdp: offer }]);
    const accept = callee.signals[1]!;
    const answer = (accept.payload as { answer?: string }).answer;
    expect(answer).toBe(callee.pc().localDescription?.sdp);

    caller.session.handleSignal(relayed(accept, BOB));
    await settle();
    expect(caller.session.state).toBe('connecting');
    expect(caller.pc().callsOf('setRemoteDescription')).toEqual([[{ type: 'answer', sdp: answer }]]);
    // No offer after the accept; the held candidates (2 and the end) go now.
    expect(caller.types()).toEqual(['call.invite', 'call.ice', 'call.ice', 'call.ice']);
    for (const ice of caller.signals.filter((s) => s.type === 'call.ice')) callee.session.handleSignal(relayed(ice, ALICE));
    for (const ice of callee.signals.filter((s) => s.type === 'call.ice')) caller.session.handleSignal(relayed(ice, BOB));
    await settle();
    expect(callee.pc().addedCandidates).toHaveLength(3);
    expect(caller.pc().addedCandidates).toHaveLength(3);

    caller.pc().connect();
    callee.pc().connect();
    expect([caller.session.state, callee.session.state]).toEqual(['connected', 'connected']);
    expect(caller.session.callId).toBe(callId);
    expect([...caller.invalid, ...callee.invalid]).toEqual([]);
  });

  it('every ringing device gets the offer, only the one that answers uses it; the others stop as answered elsewhere', async () => {
    const { invite } = await calling();
    const phone = ringingDevice('bob-phone', invite);
    const tablet = ringingDevice('bob-tablet', invite);
    phone.session.accept(fakeMedia('audio'));
    await settle();
    tablet.session.handleSignal(relayed({ type: 'call.answered_elsewhere', payload: { callId: invite.payload.callId, deviceId: 'bob-phone' } } as unknown as OutgoingCallSignal, BOB));
    await settle();
    expect(phone.session.state).toBe('connecting');
    expect(tablet.session.state).toBe('ended');
    expect(tablet.session.end).toMatchObject({ reason: 'answered_elsewhere' });
    // The tablet never made a peer connection of the offer, and said nothing but that it rang.
    expect(tablet.fakes.instances).toHaveLength(0);
    expect(tablet.types()).toEqual(['call.ringing']);
  });

  it('a callee that answers without using the offer (an older app) gets it in call.offer after the accept, with the candidates not in it', async () => {
    const { caller, invite } = await calling();
    caller.session.handleSignal(relayed({ type: 'call.accept', payload: { callId: invite.payload.callId, deviceId: 'bob-phone' } } as OutgoingCallSignal, BOB));
    await settle();
    expect(caller.types()).toEqual(['call.invite', 'call.offer', 'call.ice', 'call.ice', 'call.ice']);
    expect((caller.signals[1]!.payload as { sdp: string }).sdp).toBe((invite.payload as { offer?: string }).offer);
  });

  it('the invite waits for gathering at most offerGatherMs, then leaves with what there is; later candidates follow the answer', async () => {
    const caller = party('alice-laptop');
    caller.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio'), callId: crypto.randomUUID() });
    caller.pc().autoGather = false;
    await settle();
    expect(caller.signals).toEqual([]);
    caller.clock.advance(299);
    expect(caller.signals).toEqual([]);
    caller.clock.advance(1);
    expect(caller.types()).toEqual(['call.invite']);
    expect((caller.signals[0]!.payload as { offer?: string }).offer).toMatch(/^v=0/);
    caller.pc().emitCandidate({ candidate: 'candidate:9 1 udp 2122260223 10.0.0.9 50009 typ host', sdpMid: '0', sdpMLineIndex: 0 });
    await settle();
    expect(caller.types()).toEqual(['call.invite']);
    caller.session.handleSignal(relayed({ type: 'call.accept', payload: { callId: caller.session.callId!, deviceId: 'bob-phone' } } as OutgoingCallSignal, BOB, { answer: 'v=0\r\na=ice-ufrag:b\r\n' }));
    await settle();
    expect(caller.signals.slice(1).map((s) => (s.payload as { candidate?: { candidate: string } }).candidate?.candidate)).toEqual(['candidate:9 1 udp 2122260223 10.0.0.9 50009 typ host']);
  });

  it('a caller whose offer cannot be made invites without one and negotiates after the answer', async () => {
    const caller = party('alice-laptop');
    caller.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio'), callId: crypto.randomUUID() });
    const broken = caller.pc();
    broken.setLocalDescription = () => Promise.reject(new Error('no codecs'));
    await settle();
    expect(caller.types()).toEqual(['call.invite']);
    expect(caller.signals[0]!.payload).not.toHaveProperty('offer');
    expect(broken.closed).toBe(true);
    caller.session.handleSignal(relayed({ type: 'call.accept', payload: { callId: caller.session.callId!, deviceId: 'bob-phone' } } as OutgoingCallSignal, BOB));
    await settle();
    expect(caller.fakes.instances).toHaveLength(2);
    expect(caller.types()).toContain('call.offer');
  });

  it('a callee that cannot answer the offer declines (the server still has it ringing), and sends no accept', async () => {
    const { invite } = await calling();
    const callee = ringingDevice('bob-phone', { ...invite, payload: { ...invite.payload, offer: 'not an sdp' } } as OutgoingCallSignal);
    callee.session.accept(fakeMedia('audio'));
    await settle();
    expect(callee.session.end).toMatchObject({ reason: 'negotiation_failed', by: 'local' });
    expect(callee.signals.map((s) => [s.type, (s.payload as { reason?: string }).reason])).toEqual([
      ['call.ringing', undefined],
      ['call.reject', 'internal_error'],
    ]);
  });

  it('a hangup before the invite left tells nobody and releases the peer connection', async () => {
    const caller = party('alice-laptop');
    caller.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio'), callId: crypto.randomUUID() });
    caller.session.hangup();
    await settle();
    caller.clock.advance(1_000);
    expect(caller.signals).toEqual([]);
    expect(caller.pc().closed).toBe(true);
    expect(caller.session.end).toMatchObject({ reason: 'cancelled', by: 'local' });
  });
});

describe('HeldCandidates', () => {
  it('sends only the candidates the SDP that went out did not already carry, in order, with the end', () => {
    const held = new HeldCandidates();
    const a = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    const b = { candidate: 'candidate:2 1 udp 2122260223 10.0.0.2 50001 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    held.hold(a);
    held.hold(b);
    held.hold(null);
    const sdp = `v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=${a.candidate}\r\na=end-of-candidates\r\n`;
    expect(candidateLines(sdp)).toEqual([a.candidate]);
    held.sentWith(sdp);
    expect(held.complete).toBe(true);
    expect(held.drain()).toEqual([b, null]);
    expect(held.drain()).toEqual([]);
  });
});
