import { CALL_CLIENT_SCHEMAS, CALL_SERVER_SCHEMAS, type CallKind, type EndReason } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { CallSession, candidateType, type CallEnd, type CallSessionOptions, type IncomingCallSignal, type OutgoingCallSignal } from './call.ts';
import { CallError } from './errors.ts';
import type { CallState } from './states.ts';
import { ManualClock, RecordingLogger } from './testing/clock.ts';
import {
  FakePeerConnection,
  FakeStream,
  FakeTrack,
  fakeMedia,
  fakePeerConnectionFactory,
  settle,
} from './testing/fake-peer-connection.ts';

const ALICE = crypto.randomUUID();
const BOB = crypto.randomUUID();

type PartyOptions = Partial<Pick<CallSessionOptions<FakeTrack, FakeStream>, 'stopLocalTracksOnEnd' | 'rtcConfiguration' | 'refreshConfiguration'>>;

function party(deviceId: string, options: PartyOptions = {}) {
  const fakes = fakePeerConnectionFactory();
  const logger = new RecordingLogger();
  const clock = new ManualClock();
  const session = new CallSession({
    deviceId,
    peerConnectionFactory: fakes.factory,
    rtcConfiguration: { iceServers: [{ urls: 'stun:stun.example.test:3478' }] },
    logger,
    clock,
    ...options,
  });
  const signals: OutgoingCallSignal[] = [];
  const invalid: string[] = [];
  const states: [CallState, CallState][] = [];
  const ends: CallEnd[] = [];
  const tracks: FakeTrack[] = [];
  const streams: FakeStream[] = [];
  session.on('signal', (signal) => {
    // Everything the engine sends must pass the server's validation.
    const parsed = CALL_CLIENT_SCHEMAS[signal.type].safeParse(signal.payload);
    if (!parsed.success) invalid.push(`${signal.type}: ${parsed.error.message}`);
    signals.push(signal);
  });
  session.on('state', (state, old) => states.push([state, old]));
  session.on('ended', (end) => ends.push(end));
  session.on('track', (track) => tracks.push(track));
  session.on('remoteStream', (stream) => streams.push(stream));
  return {
    session,
    fakes,
    logger,
    clock,
    signals,
    invalid,
    states,
    ends,
    tracks,
    streams,
    pc: () => fakes.last(),
    sent: (type: OutgoingCallSignal['type']) => signals.filter((s) => s.type === type),
    lastSent: () => signals.at(-1),
  };
}
type Party = ReturnType<typeof party>;

function incoming<T extends IncomingCallSignal['type']>(
  type: T,
  payload: Extract<IncomingCallSignal, { type: T }>['payload'],
): IncomingCallSignal {
  // Parse like the app's socket layer does before handing a message to the engine.
  return { type, payload: CALL_SERVER_SCHEMAS[type].parse(payload) } as IncomingCallSignal;
}

/** A caller whose invite is out. */
function outgoingCall(kind: CallKind = 'video', options: PartyOptions = {}) {
  const p = party('alice-laptop', options);
  const localStream = fakeMedia(kind);
  const callId = crypto.randomUUID();
  p.session.start({ toUserId: BOB, kind, localStream, callId });
  const from = (deviceId = 'bob-phone') => ({ callId, fromUserId: BOB, fromDeviceId: deviceId });
  return { ...p, callId, localStream, from };
}

/** A callee device that is ringing. */
function incomingCall(kind: CallKind = 'video', options: PartyOptions = {}) {
  const p = party('bob-phone', options);
  const callId = crypto.randomUUID();
  const from = (deviceId = 'alice-laptop') => ({ callId, fromUserId: ALICE, fromDeviceId: deviceId });
  p.session.handleSignal(incoming('call.invite', { ...from(), kind, fromName: 'Alice' }));
  return { ...p, callId, from };
}

async function answerSdp(offerSdp: string): Promise<string> {
  const remote = new FakePeerConnection();
  remote.autoGather = false;
  await remote.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  const track = new FakeTrack('audio');
  remote.addTrack(track, new FakeStream([track]));
  await remote.setLocalDescription();
  return remote.localDescription!.sdp;
}

async function offerSdp(): Promise<string> {
  const remote = new FakePeerConnection();
  remote.autoGather = false;
  const track = new FakeTrack('audio');
  remote.addTrack(track, new FakeStream([track]));
  await remote.setLocalDescription();
  return remote.localDescription!.sdp;
}

const hostCandidate = (port: number) => ({ candidate: `candidate:1 1 udp 1 192.0.2.1 ${port} typ host`, sdpMid: '0', sdpMLineIndex: 0 });

/** A caller that is connected. */
async function connectedCaller() {
  const c = outgoingCall('audio');
  c.session.handleSignal(incoming('call.accept', c.from()));
  await settle();
  const offer = c.sent('call.offer')[0]!;
  if (offer.type !== 'call.offer') throw new Error('no offer');
  c.session.handleSignal(incoming('call.answer', { ...c.from(), sdp: await answerSdp(offer.payload.sdp) }));
  await settle();
  c.pc().connect();
  expect(c.session.state).toBe('connected');
  return c;
}

describe('CallSession: caller', () => {
  it('invites, hears ringing, offers on accept, queues and flushes ICE, connects', async () => {
    const c = outgoingCall('video');
    expect(c.session.state).toBe('outgoing');
    expect(c.session.direction).toBe('outgoing');
    expect(c.signals[0]).toEqual({
      type: 'call.invite',
      payload: { callId: c.callId, deviceId: 'alice-laptop', toUserId: BOB, kind: 'video' },
    });
    expect(c.fakes.instances).toHaveLength(0);

    const ringing: string[] = [];
    c.session.on('remoteRinging', (deviceId) => ringing.push(deviceId));
    c.session.handleSignal(incoming('call.ringing', c.from('bob-phone')));
    c.session.handleSignal(incoming('call.ringing', c.from('bob-tablet')));
    expect(c.session.remoteRinging).toBe(true);
    expect(ringing).toEqual(['bob-phone', 'bob-tablet']);
    expect(c.session.state).toBe('outgoing');

    c.session.handleSignal(incoming('call.accept', c.from('bob-phone')));
    expect(c.session.state).toBe('connecting');
    expect(c.session.peerDeviceId).toBe('bob-phone');
    expect(c.session.polite).toBe(false);
    expect(c.pc().configuration.iceServers?.[0]?.urls).toBe('stun:stun.example.test:3478');
    await settle();
    const offer = c.sent('call.offer');
    expect(offer).toHaveLength(1);
    expect(c.pc().callsOf('addTrack')).toHaveLength(2);
    expect(c.sent('call.ice').length).toBeGreaterThan(0);

    // The callee's candidates can overtake its answer.
    c.session.handleSignal(incoming('call.ice', { ...c.from(), candidate: hostCandidate(1) }));
    c.session.handleSignal(incoming('call.ice', { ...c.from(), candidate: hostCandidate(2) }));
    await settle();
    expect(c.logger.messages('info')).toContain('[call ' + c.callId.slice(0, 8) + '] Queued candidates: 2');
    const sdp = offer[0]?.type === 'call.offer' ? offer[0].payload.sdp : '';
    c.session.handleSignal(incoming('call.answer', { ...c.from(), sdp: await answerSdp(sdp) }));
    await settle();
    expect(c.logger.has('Flushing 2 queued ICE candidates')).toBe(true);
    expect(c.pc().addedCandidates).toHaveLength(2);

    c.clock.advance(1234);
    c.pc().connect();
    expect(c.session.state).toBe('connected');
    expect(c.session.connectedAt).toBe(1_800_000_001_234);
    expect(c.states).toEqual([
      ['outgoing', 'idle'],
      ['connecting', 'outgoing'],
      ['connected', 'connecting'],
    ]);
    expect(c.tracks.map((t) => t.kind)).toEqual(['audio']);
    expect(c.streams).toHaveLength(1);
    expect(c.clock.pending).toBe(0);
    expect(c.invalid).toEqual([]);
  });

  it('makes its offer on accept without waiting for the negotiationneeded event', async () => {
    const c = outgoingCall('video');
    c.session.handleSignal(incoming('call.accept', c.from()));
    // In a page that event is a task of its own, behind the app's render of the answered call;
    // the offer must not wait for it (here it never comes).
    c.pc().onnegotiationneeded = null;
    await settle();
    expect(c.sent('call.offer')).toHaveLength(1);
    expect(c.pc().callsOf('setLocalDescription')).toHaveLength(1);
    expect(c.pc().signalingState).toBe('have-local-offer');
  });

  it('generates a UUID call id when none is given', () => {
    const p = party('alice-laptop');
    p.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio') });
    expect(p.session.callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.invalid).toEqual([]);
  });

  it('ignores an accept from a user who is not the callee', () => {
    const c = outgoingCall();
    c.session.handleSignal(incoming('call.accept', { ...c.from(), fromUserId: crypto.randomUUID() }));
    expect(c.session.state).toBe('outgoing');
  });
});

describe('CallSession: callee', () => {
  it('rings, accepts, answers the offer with its media, connects', async () => {
    const c = incomingCall('audio');
    expect(c.session.state).toBe('ringing');
    expect(c.session.peerName).toBe('Alice');
    expect(c.session.peerUserId).toBe(ALICE);
    expect(c.signals).toEqual([{ type: 'call.ringing', payload: { callId: c.callId, deviceId: 'bob-phone' } }]);

    c.session.accept(fakeMedia('audio'));
    expect(c.session.state).toBe('connecting');
    expect(c.lastSent()).toEqual({ type: 'call.accept', payload: { callId: c.callId, deviceId: 'bob-phone' } });
    expect(c.session.polite).toBe(true);
    await settle();
    // Polite and waiting: no track on the connection yet, no offer of its own.
    expect(c.pc().callsOf('addTrack')).toHaveLength(0);
    expect(c.sent('call.offer')).toEqual([]);

    c.session.handleSignal(incoming('call.ice', { ...c.from(), candidate: hostCandidate(1) }));
    c.session.handleSignal(incoming('call.offer', { ...c.from(), sdp: await offerSdp() }));
    c.session.handleSignal(incoming('call.ice', { ...c.from(), candidate: hostCandidate(2) }));
    c.session.handleSignal(incoming('call.ice', { ...c.from(), candidate: null }));
    await settle();
    expect(c.logger.has('Flushing 3 queued ICE candidates')).toBe(true);
    expect(c.pc().addedCandidates).toEqual([hostCandidate(1), hostCandidate(2), null]);
    expect(c.sent('call.answer')).toHaveLength(1);
    expect(c.pc().callsOf('addTrack')).toHaveLength(1);

    c.pc().connect();
    expect(c.session.state).toBe('connected');
    expect(c.states.map(([s]) => s)).toEqual(['ringing', 'connecting', 'connected']);
    expect(c.invalid).toEqual([]);
  });

  it('ignores offers, candidates and hangups from a device other than the caller device', async () => {
    const c = incomingCall();
    c.session.accept(fakeMedia('video'));
    c.session.handleSignal(incoming('call.offer', { ...c.from('alice-phone'), sdp: await offerSdp() }));
    c.session.handleSignal(incoming('call.ice', { ...c.from('alice-phone'), candidate: hostCandidate(1) }));
    c.session.handleSignal(incoming('call.hangup', { ...c.from('alice-phone'), reason: 'user_hangup' }));
    await settle();
    expect(c.pc().callsOf('setRemoteDescription')).toEqual([]);
    expect(c.pc().callsOf('addIceCandidate')).toEqual([]);
    expect(c.session.state).toBe('connecting');
    expect(c.logger.messages('warn').some((m) => m.includes('not the peer device'))).toBe(true);
  });
});

describe('CallSession: every end has its reason', () => {
  type Case = [string, () => Party & { callId: string }, (p: Party & { callId: string }) => void, EndReason, CallEnd['by'], OutgoingCallSignal['type'] | null];
  const cases: Case[] = [
    ['caller: callee declined', () => outgoingCall(), (c) => c.session.handleSignal(incoming('call.reject', { callId: c.callId, fromUserId: BOB, fromDeviceId: 'bob-phone', reason: 'declined' })), 'declined', 'remote', null],
    ['caller: callee device busy', () => outgoingCall(), (c) => c.session.handleSignal(incoming('call.reject', { callId: c.callId, fromUserId: BOB, fromDeviceId: 'bob-phone', reason: 'busy' })), 'busy', 'remote', null],
    ['caller: server says busy', () => outgoingCall(), (c) => c.session.handleSignal(incoming('call.busy', { callId: c.callId })), 'busy', 'remote', null],
    ['caller: server says unavailable', () => outgoingCall(), (c) => c.session.handleSignal(incoming('call.ended', { callId: c.callId, reason: 'unavailable' })), 'unavailable', 'remote', null],
    ['caller: invite refused (not_found)', () => outgoingCall(), (c) => c.session.handleSignalError('call.invite', 'not_found'), 'unavailable', 'remote', null],
    ['caller: invite refused (internal)', () => outgoingCall(), (c) => c.session.handleSignalError('call.invite', 'internal'), 'internal_error', 'remote', null],
    ['caller: hangs up while ringing', () => outgoingCall(), (c) => c.session.hangup(), 'cancelled', 'local', 'call.cancel'],
    ['caller: nobody answers', () => outgoingCall(), (c) => c.clock.advance(45_000), 'no_answer', 'local', 'call.cancel'],
    ['callee: caller cancelled', () => incomingCall(), (c) => c.session.handleSignal(incoming('call.cancel', { callId: c.callId, fromUserId: ALICE, fromDeviceId: 'alice-laptop', reason: 'cancelled' })), 'cancelled', 'remote', null],
    ['callee: caller gave up', () => incomingCall(), (c) => c.session.handleSignal(incoming('call.cancel', { callId: c.callId, fromUserId: ALICE, fromDeviceId: 'alice-laptop', reason: 'no_answer' })), 'no_answer', 'remote', null],
    ['callee: answered on another device', () => incomingCall(), (c) => c.session.handleSignal(incoming('call.answered_elsewhere', { callId: c.callId, fromUserId: BOB, fromDeviceId: 'bob-tablet' })), 'answered_elsewhere', 'remote', null],
    ['callee: declined on another device', () => incomingCall(), (c) => c.session.handleSignal(incoming('call.reject', { callId: c.callId, fromUserId: BOB, fromDeviceId: 'bob-tablet', reason: 'declined' })), 'declined', 'remote', null],
    ['callee: declines', () => incomingCall(), (c) => c.session.reject(), 'declined', 'local', 'call.reject'],
    ['callee: declines as busy', () => incomingCall(), (c) => c.session.reject('busy'), 'busy', 'local', 'call.reject'],
    ['callee: camera refused', () => incomingCall(), (c) => c.session.reject('media_failed'), 'media_failed', 'local', 'call.reject'],
    ['callee: hangup() while ringing declines', () => incomingCall(), (c) => c.session.hangup(), 'declined', 'local', 'call.reject'],
    ['callee: rings out with no word from anyone', () => incomingCall(), (c) => c.clock.advance(60_000), 'no_answer', 'local', null],
    ['callee: accept lost the race', () => incomingCall(), (c) => { c.session.accept(fakeMedia('audio')); c.session.handleSignalError('call.accept', 'conflict'); }, 'answered_elsewhere', 'remote', null],
    ['callee: cancel crossed the accept', () => incomingCall(), (c) => { c.session.accept(fakeMedia('audio')); c.session.handleSignal(incoming('call.cancel', { callId: c.callId, fromUserId: ALICE, fromDeviceId: 'alice-laptop', reason: 'cancelled' })); }, 'cancelled', 'remote', null],
    ['callee: never connects', () => incomingCall(), (c) => { c.session.accept(fakeMedia('audio')); c.clock.advance(18_000); }, 'connection_failed', 'local', 'call.hangup'],
    ['in call: hangs up', () => incomingCall(), (c) => { c.session.accept(fakeMedia('audio')); c.session.hangup(); }, 'user_hangup', 'local', 'call.hangup'],
    ['in call: the peer hangs up', () => incomingCall(), (c) => { c.session.accept(fakeMedia('audio')); c.session.handleSignal(incoming('call.hangup', { callId: c.callId, fromUserId: ALICE, fromDeviceId: 'alice-laptop', reason: 'media_failed' })); }, 'media_failed', 'remote', null],
    ['in call: the server ends it', () => incomingCall(), (c) => { c.session.accept(fakeMedia('audio')); c.session.handleSignal(incoming('call.ended', { callId: c.callId, reason: 'peer_disconnected' })); }, 'peer_disconnected', 'remote', null],
    ['idle: hangup() before anything', () => ({ ...party('x'), callId: '' }), (c) => c.session.hangup(), 'cancelled', 'local', null],
  ];

  it.each(cases)('%s', async (_name, make, act, reason, by, closing) => {
    const c = make();
    const before = c.signals.length;
    act(c);
    await settle();
    expect(c.session.state).toBe('ended');
    expect(c.ends).toMatchObject([{ reason, by }]);
    expect(c.session.end).toMatchObject({ reason, by });
    const after = c.signals.slice(before).filter((s) => s.type !== 'call.accept' && s.type !== 'call.ice');
    if (closing === null) {
      expect(after).toEqual([]);
    } else {
      expect(after).toHaveLength(1);
      expect(after[0]?.type).toBe(closing);
      // The closing signal carries the same reason the local end reports.
      expect((after[0]?.payload as { reason: string }).reason).toBe(reason);
    }
    expect(c.states.at(-1)?.[0]).toBe('ended');
    expect(c.clock.pending).toBe(0);
    expect(c.invalid).toEqual([]);
  });

  it('ends with negotiation_failed when the first offer cannot be applied', async () => {
    const c = incomingCall();
    c.session.accept(fakeMedia('audio'));
    c.session.handleSignal(incoming('call.offer', { ...c.from(), sdp: 'garbage' }));
    await settle();
    expect(c.ends).toEqual([{ reason: 'negotiation_failed', by: 'local' }]);
    expect(c.lastSent()).toEqual({
      type: 'call.hangup',
      payload: { callId: c.callId, deviceId: 'bob-phone', reason: 'negotiation_failed' },
    });
  });

  it('keeps a connected call when a renegotiation fails', async () => {
    const c = await connectedCaller();
    c.session.handleSignal(incoming('call.answer', { ...c.from(), sdp: await answerSdp(await offerSdp()) }));
    await settle();
    expect(c.session.state).toBe('connected');
    expect(c.logger.has('renegotiation failed')).toBe(true);
  });

  it('stops local tracks on end, closes the connection, and emits nothing more', async () => {
    const c = await connectedCaller();
    const pc = c.pc();
    c.session.hangup();
    expect(c.localStream.getTracks().every((t) => t.stopped)).toBe(true);
    expect(pc.closed).toBe(true);
    const count = c.signals.length;
    pc.emitCandidate(hostCandidate(7));
    pc.setIceConnectionState('failed');
    c.session.handleSignal(incoming('call.hangup', { ...c.from(), reason: 'user_hangup' }));
    c.session.hangup();
    c.clock.advance(120_000);
    expect(c.signals).toHaveLength(count);
    expect(c.ends).toHaveLength(1);
  });

  it('leaves local tracks running when told to', () => {
    const c = incomingCall('audio', { stopLocalTracksOnEnd: false });
    const media = fakeMedia('audio');
    c.session.accept(media);
    c.session.hangup();
    expect(media.getTracks().some((t) => t.stopped)).toBe(false);
  });
});

describe('CallSession: ICE restart and reconnect', () => {
  it('restarts ICE after 2 s of disconnected, and comes back', async () => {
    const c = await connectedCaller();
    const pc = c.pc();
    pc.setIceConnectionState('disconnected');
    expect(c.session.state).toBe('reconnecting');
    c.clock.advance(1999);
    expect(pc.callsOf('restartIce')).toHaveLength(0);
    c.clock.advance(1);
    expect(pc.callsOf('restartIce')).toHaveLength(1);
    await settle();
    const offers = c.sent('call.offer');
    expect(offers).toHaveLength(2);
    const restartOffer = offers[1]!;
    expect(restartOffer.type === 'call.offer' && restartOffer.payload.sdp).toContain(`a=ice-ufrag:${pc.ufrag}`);

    pc.setIceConnectionState('connected');
    expect(c.session.state).toBe('connected');
    expect(c.states.slice(-2)).toEqual([
      ['reconnecting', 'connected'],
      ['connected', 'reconnecting'],
    ]);
    expect(c.clock.pending).toBe(0);
  });

  it('does not restart when the link comes back within the grace period', async () => {
    const c = await connectedCaller();
    c.pc().setIceConnectionState('disconnected');
    c.clock.advance(1500);
    c.pc().setIceConnectionState('connected');
    c.clock.advance(10_000);
    expect(c.pc().callsOf('restartIce')).toHaveLength(0);
    expect(c.session.state).toBe('connected');
  });

  it('restarts at once on failed', async () => {
    const c = await connectedCaller();
    c.pc().setIceConnectionState('failed');
    expect(c.session.state).toBe('reconnecting');
    expect(c.pc().callsOf('restartIce')).toHaveLength(1);
  });

  it('gives up with connection_failed after 30 s without recovery', async () => {
    const c = await connectedCaller();
    c.pc().setIceConnectionState('disconnected');
    c.clock.advance(2000);
    c.pc().setIceConnectionState('failed');
    c.clock.advance(27_999);
    expect(c.session.state).toBe('reconnecting');
    c.clock.advance(1);
    expect(c.session.state).toBe('ended');
    expect(c.ends).toMatchObject([{ reason: 'connection_failed', by: 'local' }]);
    expect(c.lastSent()).toEqual({
      type: 'call.hangup',
      payload: { callId: c.callId, deviceId: 'alice-laptop', reason: 'connection_failed' },
    });
    expect(c.pc().callsOf('restartIce')).toHaveLength(2);
  });

  it('fetches fresh ICE servers before every restart and restarts on them', async () => {
    const configs = [{ iceServers: [{ urls: 'turn:turn.example.test:3478', username: '2:alice', credential: 'fresh' }] }];
    const refreshed: number[] = [];
    const c = outgoingCall('audio', {
      refreshConfiguration: async () => {
        refreshed.push(c.clock.now());
        return configs[0]!;
      },
    });
    c.session.handleSignal(incoming('call.accept', c.from()));
    await settle();
    const offer = c.sent('call.offer')[0]!;
    if (offer.type !== 'call.offer') throw new Error('no offer');
    c.session.handleSignal(incoming('call.answer', { ...c.from(), sdp: await answerSdp(offer.payload.sdp) }));
    await settle();
    c.pc().connect();
    c.pc().setIceConnectionState('failed');
    expect(c.pc().callsOf('restartIce')).toHaveLength(0); // waits for the fresh credentials
    await settle();
    expect(refreshed).toHaveLength(1);
    expect(c.pc().callsOf('setConfiguration')).toEqual([[configs[0]]]);
    expect(c.pc().callsOf('restartIce')).toHaveLength(1);
  });
});

describe('CallSession: a call that never connects says why', () => {
  const turnConfig = { iceServers: [{ urls: 'turn:turn.example.test:3478?transport=udp', username: 'u', credential: 'c' }] };
  const cases = [
    ['no relay configured', {}, [], 'no_turn'],
    ['a relay configured but never reached', { rtcConfiguration: turnConfig }, [], 'turn_unreachable'],
    ['the relay reached, no pair worked', { rtcConfiguration: turnConfig }, ['candidate:9 1 udp 41885439 203.0.113.9 50000 typ relay raddr 0.0.0.0 rport 0'], 'no_pair'],
  ] as const;

  it.each(cases)('%s → %s', async (_name, options, extra, code) => {
    const c = incomingCall('audio', options);
    c.session.accept(fakeMedia('audio'));
    c.session.handleSignal(incoming('call.offer', { ...c.from(), sdp: await offerSdp() }));
    await settle();
    for (const line of extra) c.pc().emitCandidate({ candidate: line, sdpMid: '0', sdpMLineIndex: 0 });
    c.session.handleSignal(incoming('call.ice', { ...c.from(), candidate: { candidate: 'candidate:1 1 udp 1686052607 198.51.100.7 40000 typ srflx raddr 10.0.0.2 rport 40000', sdpMid: '0', sdpMLineIndex: 0 } }));
    c.clock.advance(17_999);
    expect(c.session.state).toBe('connecting');
    c.clock.advance(1);
    expect(c.session.end).toMatchObject({ reason: 'connection_failed', by: 'local', diagnosis: { code } });
    expect(c.session.end?.diagnosis?.remote).toEqual(['srflx']);
    expect(c.session.end?.diagnosis?.local).toContain('host');
    expect(c.logger.lines.some((l) => l.message.includes(`giving up (${code}`))).toBe(true);
  });

  it('the side whose peer gave up first also says why', async () => {
    const c = incomingCall('audio');
    c.session.accept(fakeMedia('audio'));
    c.session.handleSignal(incoming('call.offer', { ...c.from(), sdp: await offerSdp() }));
    await settle();
    c.session.handleSignal(incoming('call.hangup', { ...c.from(), reason: 'connection_failed' }));
    expect(c.session.end).toMatchObject({ reason: 'connection_failed', by: 'remote', diagnosis: { code: 'no_turn' } });
  });

  it('reads candidate types', () => {
    expect(candidateType('candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host generation 0')).toBe('host');
    expect(candidateType('candidate:9 1 udp 41885439 203.0.113.9 50000 typ relay raddr 0.0.0.0 rport 0')).toBe('relay');
    expect(candidateType('')).toBeUndefined();
  });

  it('resume() tells the server this device is still in the call, and nothing outside one', async () => {
    const ringing = outgoingCall();
    ringing.session.resume();
    expect(ringing.sent('call.resume')).toEqual([]);
    const c = await connectedCaller();
    c.session.resume();
    expect(c.sent('call.resume')).toEqual([
      {
        type: 'call.resume',
        payload: { callId: c.callId, deviceId: 'alice-laptop', role: 'caller', peerUserId: BOB, peerDeviceId: 'bob-phone', kind: 'audio', answeredAt: expect.any(Number) },
      },
    ]);
    expect(c.invalid).toEqual([]);
  });

  it('replaceTrack() swaps a microphone without renegotiation', async () => {
    const c = await connectedCaller();
    const pc = c.pc();
    const offersBefore = c.sent('call.offer').length;
    const old = c.localStream.getTracks()[0]!;
    const next = new FakeTrack('audio');
    await c.session.replaceTrack(old, next, c.localStream);
    await settle();
    expect(pc.senders.map((s) => s.track)).toContain(next);
    expect(pc.senders.map((s) => s.track)).not.toContain(old);
    expect(c.sent('call.offer')).toHaveLength(offersBefore);
    expect(old.stopped).toBe(false); // the app owns the old track
    c.session.hangup();
    expect(next.stopped).toBe(true); // the session stops what it sends
  });

  it('a refused candidate or measurement does not end the call; a refused resume does', async () => {
    const c = await connectedCaller();
    c.session.handleSignalError('call.stats', 'not_found');
    c.session.handleSignalError('call.ice', 'not_found');
    c.session.handleSignalError('call.offer', 'conflict');
    expect(c.session.state).toBe('connected');
    c.session.handleSignalError('call.resume', 'not_found');
    expect(c.session.end).toMatchObject({ reason: 'peer_disconnected', by: 'remote' });
  });

  it('reportQuality() sends the measurement in a call only', async () => {
    const ringing = outgoingCall();
    const quality = { path: 'relay', protocol: 'udp', rttMs: 42, lossPct: 0.5 } as const;
    ringing.session.reportQuality(quality);
    expect(ringing.sent('call.stats')).toEqual([]);
    const c = await connectedCaller();
    c.session.reportQuality(quality);
    expect(c.sent('call.stats')).toEqual([{ type: 'call.stats', payload: { callId: c.callId, deviceId: 'alice-laptop', quality } }]);
    expect(c.invalid).toEqual([]);
  });

  it('manual restartIce() is allowed only in a call', async () => {
    const c = outgoingCall();
    expect(() => c.session.restartIce()).toThrow(CallError);
    const d = await connectedCaller();
    d.session.restartIce();
    expect(d.pc().callsOf('restartIce')).toHaveLength(1);
  });
});

describe('CallSession: guards and robustness', () => {
  it('public methods refuse the wrong state with CallError(invalid_state)', () => {
    const c = outgoingCall();
    expect(() => c.session.accept(fakeMedia('audio'))).toThrow(expect.objectContaining({ reason: 'invalid_state' }));
    expect(() => c.session.reject()).toThrow(CallError);
    expect(() => c.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio') })).toThrow(
      expect.objectContaining({ reason: 'invalid_state' }),
    );
    c.session.hangup();
    expect(() => c.session.addTrack(new FakeTrack('video'), new FakeStream())).toThrow(CallError);
    expect(() => c.session.hangup()).not.toThrow();
  });

  it('drops messages for another call, out of place, or after the end', () => {
    const c = outgoingCall();
    c.session.handleSignal(incoming('call.accept', { ...c.from(), callId: crypto.randomUUID() }));
    expect(c.session.state).toBe('outgoing');
    c.session.handleSignal(incoming('call.answered_elsewhere', c.from()));
    c.session.handleSignal(incoming('call.hangup', { ...c.from(), reason: 'user_hangup' }));
    c.session.handleSignal(incoming('call.invite', { ...c.from(), kind: 'audio', fromName: 'Bob' }));
    expect(c.session.state).toBe('outgoing');
    c.session.hangup();
    expect(() => c.session.handleSignal(incoming('call.accept', c.from()))).not.toThrow();
    expect(c.session.state).toBe('ended');
  });

  it('a listener that throws does not break the engine', async () => {
    const p = party('alice-laptop');
    p.session.on('state', () => {
      throw new Error('UI bug');
    });
    p.session.on('signal', () => {
      throw new Error('transport bug');
    });
    const callId = crypto.randomUUID();
    p.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio'), callId });
    p.session.handleSignal(incoming('call.accept', { callId, fromUserId: BOB, fromDeviceId: 'bob-phone' }));
    await settle();
    expect(p.session.state).toBe('connecting');
    expect(p.signals.map((s) => s.type)).toContain('call.offer');
    p.pc().connect();
    expect(p.session.state).toBe('connected');
    expect(p.logger.messages('error').filter((m) => m.includes('threw')).length).toBeGreaterThanOrEqual(4);
  });

  it('delivers events only after each step, so re-entrant calls keep signals in causal order', () => {
    const p = party('bob-phone');
    // The UI answers from inside the state listener, before the engine has "finished" ringing.
    p.session.on('state', (state) => {
      if (state === 'ringing') p.session.accept(fakeMedia('audio'));
    });
    const callId = crypto.randomUUID();
    p.session.handleSignal(incoming('call.invite', { callId, fromUserId: ALICE, fromDeviceId: 'a', kind: 'audio', fromName: 'A' }));
    expect(p.signals.map((s) => s.type)).toEqual(['call.ringing', 'call.accept']);
    expect(p.states).toEqual([
      ['ringing', 'idle'],
      ['connecting', 'ringing'],
    ]);

    // A hangup from the very first state event still follows the invite.
    const q = party('alice-laptop');
    q.session.on('state', (state) => {
      if (state === 'outgoing') q.session.hangup();
    });
    q.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio') });
    expect(q.signals.map((s) => s.type)).toEqual(['call.invite', 'call.cancel']);
    expect(q.ends).toEqual([{ reason: 'cancelled', by: 'local' }]);
  });

  it('reports each remote track once, even when the connection repeats ontrack', async () => {
    const c = await connectedCaller();
    const [track] = c.tracks;
    c.pc().ontrack?.({ track: track!, streams: [] });
    expect(c.tracks).toHaveLength(1);
  });

  it('keeps an offer and candidates that overtake accept() (server-side glare merge) and applies them on accept', async () => {
    const c = incomingCall('audio');
    c.session.handleSignal(incoming('call.offer', { ...c.from(), sdp: await offerSdp() }));
    c.session.handleSignal(incoming('call.ice', { ...c.from(), candidate: hostCandidate(1) }));
    // Not from the caller device: dropped as usual.
    c.session.handleSignal(incoming('call.ice', { ...c.from('alice-phone'), candidate: hostCandidate(2) }));
    expect(c.session.state).toBe('ringing');
    c.session.accept(fakeMedia('audio'));
    await settle();
    expect(c.sent('call.answer')).toHaveLength(1);
    expect(c.pc().addedCandidates).toEqual([hostCandidate(1)]);
  });

  it('discard() ends without a signal and leaves the local tracks running (invite merged into the peer call)', () => {
    const c = outgoingCall('audio');
    const count = c.signals.length;
    c.session.discard();
    expect(c.signals).toHaveLength(count);
    expect(c.ends).toEqual([{ reason: 'cancelled', by: 'local' }]);
    expect(c.localStream.getTracks().some((t) => t.stopped)).toBe(false);
    expect(c.clock.pending).toBe(0);
  });

  it('ends with internal_error when no peer connection can be made', () => {
    const logger = new RecordingLogger();
    const session = new CallSession({
      deviceId: 'bob-phone',
      peerConnectionFactory: () => {
        throw new Error('RTCPeerConnection is not defined');
      },
      logger,
      clock: new ManualClock(),
    });
    const signals: OutgoingCallSignal[] = [];
    session.on('signal', (s) => signals.push(s));
    const callId = crypto.randomUUID();
    session.handleSignal(incoming('call.invite', { callId, fromUserId: ALICE, fromDeviceId: 'a', kind: 'audio', fromName: 'A' }));
    session.accept(fakeMedia('audio') as never);
    expect(session.end).toEqual({ reason: 'internal_error', by: 'local' });
    expect(signals.at(-1)).toEqual({ type: 'call.reject', payload: { callId, deviceId: 'bob-phone', reason: 'internal_error' } });
  });
});

// ---- two sessions, two fake peer connections, one fake server ----

interface Device {
  p: Party;
  userId: string;
  name: string;
}

/** Relays like the server: validates, stamps fromUserId/fromDeviceId, delivers asynchronously and in order. */
function relay(from: Device, to: Device): void {
  from.p.session.on('signal', (signal) => {
    if (signal.type === 'call.resume' || signal.type === 'call.stats') return; // for the server only
    const payload = CALL_CLIENT_SCHEMAS[signal.type].parse(signal.payload);
    const { deviceId, ...rest } = payload as { deviceId: string } & Record<string, unknown>;
    const stamped =
      signal.type === 'call.invite'
        ? { callId: rest.callId, kind: rest.kind, fromUserId: from.userId, fromDeviceId: deviceId, fromName: from.name }
        : { ...rest, fromUserId: from.userId, fromDeviceId: deviceId };
    const event = { type: signal.type, payload: CALL_SERVER_SCHEMAS[signal.type].parse(stamped) } as IncomingCallSignal;
    setTimeout(() => to.p.session.handleSignal(event), 0);
  });
}

async function callBetween(kind: CallKind) {
  const alice: Device = { p: party('alice-laptop'), userId: ALICE, name: 'Alice' };
  const bob: Device = { p: party('bob-phone'), userId: BOB, name: 'Bob' };
  relay(alice, bob);
  relay(bob, alice);
  const aliceMedia = fakeMedia(kind);
  const bobMedia = fakeMedia(kind);
  alice.p.session.start({ toUserId: BOB, kind, localStream: aliceMedia });
  await settle();
  expect(bob.p.session.state).toBe('ringing');
  expect(alice.p.session.remoteRinging).toBe(true);
  bob.p.session.accept(bobMedia);
  await settle(20);
  return { alice, bob, aliceMedia, bobMedia };
}

describe('two CallSessions back to back', () => {
  it('connect a video call, exchange media and candidates, and hang up', async () => {
    const { alice, bob, aliceMedia, bobMedia } = await callBetween('video');
    const a = alice.p.pc();
    const b = bob.p.pc();
    expect(a.signalingState).toBe('stable');
    expect(b.signalingState).toBe('stable');
    // Each side got the other's candidates and end-of-candidates.
    expect(a.addedCandidates).toHaveLength(3);
    expect(b.addedCandidates).toHaveLength(3);
    // One offer, one answer: the callee's media rode on its answer.
    expect(alice.p.sent('call.offer')).toHaveLength(1);
    expect(bob.p.sent('call.offer')).toHaveLength(0);
    expect(bob.p.sent('call.answer')).toHaveLength(1);

    a.connect();
    b.connect();
    expect(alice.p.session.state).toBe('connected');
    expect(bob.p.session.state).toBe('connected');
    expect(alice.p.tracks.map((t) => t.id).sort()).toEqual(bobMedia.getTracks().map((t) => t.id).sort());
    expect(bob.p.tracks.map((t) => t.id).sort()).toEqual(aliceMedia.getTracks().map((t) => t.id).sort());
    expect(alice.p.streams.map((s) => s.id)).toEqual([bobMedia.id]);

    alice.p.session.hangup();
    await settle();
    expect(alice.p.ends).toEqual([{ reason: 'user_hangup', by: 'local' }]);
    expect(bob.p.ends).toEqual([{ reason: 'user_hangup', by: 'remote' }]);
    expect(a.closed && b.closed).toBe(true);
    expect([...aliceMedia.getTracks(), ...bobMedia.getTracks()].every((t) => t.stopped)).toBe(true);
    expect(alice.p.invalid).toEqual([]);
    expect(bob.p.invalid).toEqual([]);
  });

  it('upgrade an audio call to video from either side, and from both at once (glare)', async () => {
    const { alice, bob } = await callBetween('audio');
    alice.p.pc().connect();
    bob.p.pc().connect();

    // The polite callee turns its camera on.
    const bobCam = new FakeTrack('video');
    bob.p.session.addTrack(bobCam, new FakeStream([bobCam]));
    await settle(20);
    expect(bob.p.sent('call.offer')).toHaveLength(1);
    expect(alice.p.tracks.map((t) => t.id)).toContain(bobCam.id);

    // The impolite caller does too.
    const aliceCam = new FakeTrack('video');
    alice.p.session.addTrack(aliceCam, new FakeStream([aliceCam]));
    await settle(20);
    expect(bob.p.tracks.map((t) => t.id)).toContain(aliceCam.id);

    // Both add a screen at the same moment: the offers cross.
    const aliceScreen = new FakeTrack('video');
    const bobScreen = new FakeTrack('video');
    alice.p.session.addTrack(aliceScreen, new FakeStream([aliceScreen]));
    bob.p.session.addTrack(bobScreen, new FakeStream([bobScreen]));
    await settle(30);
    expect(alice.p.logger.has('impolite side ignores the remote offer')).toBe(true);
    expect(bob.p.logger.has('polite side rolls back')).toBe(true);
    expect(alice.p.tracks.map((t) => t.id)).toContain(bobScreen.id);
    expect(bob.p.tracks.map((t) => t.id)).toContain(aliceScreen.id);
    expect(alice.p.pc().signalingState).toBe('stable');
    expect(bob.p.pc().signalingState).toBe('stable');
    expect(alice.p.session.state).toBe('connected');
    expect(bob.p.session.state).toBe('connected');
  });

  it('a decline reaches the caller with its reason', async () => {
    const alice: Device = { p: party('alice-laptop'), userId: ALICE, name: 'Alice' };
    const bob: Device = { p: party('bob-phone'), userId: BOB, name: 'Bob' };
    relay(alice, bob);
    relay(bob, alice);
    alice.p.session.start({ toUserId: BOB, kind: 'audio', localStream: fakeMedia('audio') });
    await settle();
    bob.p.session.reject();
    await settle();
    expect(alice.p.ends).toEqual([{ reason: 'declined', by: 'remote' }]);
    expect(bob.p.ends).toEqual([{ reason: 'declined', by: 'local' }]);
  });
});
