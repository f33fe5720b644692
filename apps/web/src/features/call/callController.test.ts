import type { PeerConnectionFactory } from '@parley/call';
import { afterEach, describe, expect, it } from 'vitest';
// The engine's own fake RTCPeerConnection: the JSEP state machine without a network.
import { fakePeerConnectionFactory, RecordingLogger, settle, type FakePeerConnection } from '@parley/call/testing';
import { CallController, type CallPeer } from './callController.ts';
import type { Tone } from './tones.ts';
import { FakeCallSocket, fakeMediaAccess, type Emitted, type FakeMediaAccess, type FakeMediaTrack } from './testing/fakes.ts';

const DANA = { id: '11111111-1111-4111-8111-111111111111', name: 'Dana Doctor', email: 'dana@clinic.test' };
const NOOR = { id: '22222222-2222-4222-8222-222222222222', name: 'Noor Nurse', email: 'noor@clinic.test' };
const SAM = { id: '33333333-3333-4333-8333-333333333333', name: 'Sam Admin', email: 'sam@clinic.test' };
const CALL_X = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';

const peerOf = (u: typeof DANA): CallPeer => ({ id: u.id, name: u.name, seed: u.email });

interface Side {
  user: typeof DANA;
  deviceId: string;
  socket: FakeCallSocket;
  media: FakeMediaAccess;
  pcs: ReturnType<typeof fakePeerConnectionFactory>;
  tones: (Tone | null)[];
  log: RecordingLogger;
  controller: CallController;
}

const sides: Side[] = [];

function side(
  user: typeof DANA,
  deviceId: string,
  media = fakeMediaAccess(),
  timeouts?: { connectMs: number },
  extra: { statsIntervalMs?: number; qualityReportMs?: number } = {},
): Side {
  const socket = new FakeCallSocket();
  const pcs = fakePeerConnectionFactory();
  const tones: (Tone | null)[] = [];
  const log = new RecordingLogger();
  const controller = new CallController({
    socket,
    deviceId,
    media,
    peerConnectionFactory: pcs.factory as unknown as PeerConnectionFactory<MediaStreamTrack, MediaStream>,
    rtcConfiguration: async () => ({ iceServers: [{ urls: ['stun:stun.clinic.test:3478'] }] }),
    resolvePeer: (id) => [DANA, NOOR, SAM].filter((u) => u.id === id).map((u) => ({ name: u.name, seed: u.email }))[0],
    tones: { play: (tone) => void (tones.at(-1) !== tone && tones.push(tone)) },
    logger: log,
    endDisplayMs: 300,
    ...(timeouts ? { timeouts } : {}),
    ...extra,
  });
  controller.start();
  const s = { user, deviceId, socket, media, pcs, tones, log, controller };
  sides.push(s);
  return s;
}

/** A tiny server between two devices: acks everything and forwards with the `from` fields filled in. */
function relay(a: Side, b: Side): void {
  const forward = (from: Side, to: Side) => (e: Emitted) => {
    const { deviceId: _deviceId, toUserId: _toUserId, ...rest } = e.payload as Record<string, unknown>;
    queueMicrotask(() => {
      e.ack({ ok: true });
      const fields = { ...rest, fromUserId: from.user.id, fromDeviceId: from.deviceId };
      to.socket.fire(e.event, e.event === 'call.invite' ? { ...fields, fromName: from.user.name } : fields);
    });
  };
  a.socket.onEmit = forward(a, b);
  b.socket.onEmit = forward(b, a);
}

const lastPc = (s: Side): FakePeerConnection => s.pcs.last();
const snap = (s: Side) => s.controller.getSnapshot();
const call = (s: Side) => {
  const c = snap(s).call;
  if (!c) throw new Error('no call on screen');
  return c;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => {
  for (const s of sides.splice(0)) s.controller.stop();
});

describe('CallController', () => {
  it('places, rings, answers, connects and hangs up a video call between two devices', async () => {
    const dana = side(DANA, 'dana-laptop');
    const noor = side(NOOR, 'noor-phone');
    relay(dana, noor);

    const placing = dana.controller.startCall(peerOf(NOOR), 'video');
    expect(call(dana).phase).toBe('preparing');
    await placing;
    await settle();

    // The invite carried this page's device id; Noor's engine rang and said so.
    expect(dana.socket.emitted.find((e) => e.event === 'call.invite')?.payload).toMatchObject({
      deviceId: 'dana-laptop',
      toUserId: NOOR.id,
      kind: 'video',
    });
    expect(call(noor)).toMatchObject({ direction: 'incoming', phase: 'ringing', kind: 'video', peer: { name: 'Dana Doctor', seed: DANA.email } });
    expect(call(dana)).toMatchObject({ phase: 'outgoing', remoteRinging: true });
    expect(noor.tones.at(-1)).toBe('ringtone');
    expect(dana.tones.at(-1)).toBe('ringback');

    await noor.controller.answer();
    await settle();
    expect(noor.tones.at(-1)).toBeNull();
    expect(call(dana).phase).toBe('connecting');
    expect(call(noor).phase).toBe('connecting');
    // The ICE servers of this call reached the peer connection.
    expect(lastPc(dana).configuration.iceServers).toEqual([{ urls: ['stun:stun.clinic.test:3478'] }]);

    lastPc(dana).connect();
    lastPc(noor).connect();
    await settle();
    for (const s of [dana, noor]) {
      expect(call(s)).toMatchObject({ phase: 'connected', ice: 'connected', connection: 'connected', video: true, remoteVideo: true, cameraOn: true });
      expect(call(s).connectedAt).not.toBeNull();
      expect(call(s).remoteStream?.getTracks().map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    }

    dana.controller.hangup();
    await settle();
    expect(call(dana).end).toMatchObject({ reason: 'user_hangup', by: 'local', text: 'Call ended' });
    expect(call(noor).end).toMatchObject({ reason: 'user_hangup', by: 'remote', text: 'Call ended' });
    expect(dana.media.tracks.every((t) => t.readyState === 'ended')).toBe(true);
    expect(noor.media.tracks.every((t) => t.readyState === 'ended')).toBe(true);

    // The reason shows for a moment, then the call view closes.
    await sleep(350);
    expect(snap(dana).call).toBeNull();
    expect(snap(noor).call).toBeNull();
  });

  it('logs the engine lines with the [Call] prefix', async () => {
    const dana = side(DANA, 'dana-laptop');
    await dana.controller.startCall(peerOf(NOOR), 'audio');
    expect(dana.log.messages().some((m) => m.startsWith('[Call] [call '))).toBe(true);
  });

  it('drops server events that fail validation', () => {
    const noor = side(NOOR, 'noor-phone');
    noor.socket.fire('call.invite', { callId: 'not-a-uuid', fromUserId: DANA.id, fromDeviceId: 'x', kind: 'video', fromName: 'Dana' });
    noor.socket.fire('call.invite', { callId: CALL_X, fromUserId: DANA.id, fromDeviceId: 'dana laptop!', kind: 'video', fromName: 'Dana' });
    expect(snap(noor).call).toBeNull();
    expect(noor.socket.emitted).toEqual([]);
    expect(noor.log.has('invalid payload')).toBe(true);
  });

  it('routes each event to the session of its call id only', async () => {
    const noor = side(NOOR, 'noor-phone');
    noor.socket.fire('call.invite', { callId: CALL_X, fromUserId: DANA.id, fromDeviceId: 'dana-laptop', kind: 'audio', fromName: 'Dana Doctor' });
    expect(noor.socket.take('call.ringing').payload).toEqual({ callId: CALL_X, deviceId: 'noor-phone' });

    // A cancel for some other call leaves this one ringing.
    noor.socket.fire('call.cancel', { callId: SAM.id, fromUserId: DANA.id, fromDeviceId: 'dana-laptop', reason: 'cancelled' });
    expect(call(noor).phase).toBe('ringing');

    noor.socket.fire('call.cancel', { callId: CALL_X, fromUserId: DANA.id, fromDeviceId: 'dana-laptop', reason: 'cancelled' });
    expect(call(noor).end).toMatchObject({ reason: 'cancelled', text: 'Missed call' });
    expect(call(noor).answered).toBe(false);
  });

  it('declines a second call as busy, without ringing for it', async () => {
    const dana = side(DANA, 'dana-laptop');
    const noor = side(NOOR, 'noor-phone');
    relay(dana, noor);
    await dana.controller.startCall(peerOf(NOOR), 'audio');
    await settle();
    await noor.controller.answer();
    await settle();
    noor.socket.onEmit = null;
    noor.socket.emitted.splice(0);

    noor.socket.fire('call.invite', { callId: CALL_X, fromUserId: SAM.id, fromDeviceId: 'sam-desk', kind: 'video', fromName: 'Sam Admin' });
    expect(noor.socket.events()).toEqual(['call.reject']);
    expect(noor.socket.take('call.reject').payload).toEqual({ callId: CALL_X, deviceId: 'noor-phone', reason: 'busy' });
    expect(call(noor)).toMatchObject({ peer: { id: DANA.id }, phase: 'connecting', end: null });
  });

  it('ends the call when the server refuses the invite (a failed ack)', async () => {
    const dana = side(DANA, 'dana-laptop');
    await dana.controller.startCall(peerOf(NOOR), 'audio');
    dana.socket.take('call.invite').ack({ ok: false, error: { code: 'recipient_inactive', message: 'deactivated' } });
    expect(call(dana).end).toMatchObject({ reason: 'unavailable', text: 'Unavailable — Noor Nurse is not online' });
  });

  it('keeps the call when an offer is refused, and ends it when the server says it is over', async () => {
    const dana = side(DANA, 'dana-laptop');
    await dana.controller.startCall(peerOf(NOOR), 'audio');
    const invite = dana.socket.take('call.invite');
    invite.ack({ ok: true });
    const callId = (invite.payload as { callId: string }).callId;
    dana.socket.fire('call.accept', { callId, fromUserId: NOOR.id, fromDeviceId: 'noor-phone' });
    await settle();
    dana.socket.take('call.offer').ack({ ok: false, error: { code: 'not_found', message: 'No such call' } });
    expect(call(dana).end).toBeNull();
    dana.socket.fire('call.ended', { callId, reason: 'peer_disconnected' });
    expect(call(dana).end).toMatchObject({ reason: 'peer_disconnected', text: "Call ended: Noor Nurse's connection was lost" });
  });

  it('holds what the engine says while the socket is down, and sends it after call.resume', async () => {
    const dana = side(DANA, 'dana-laptop');
    await dana.controller.startCall(peerOf(NOOR), 'audio');
    const invite = dana.socket.take('call.invite');
    invite.ack({ ok: true });
    const callId = (invite.payload as { callId: string }).callId;
    dana.socket.fire('call.accept', { callId, fromUserId: NOOR.id, fromDeviceId: 'noor-phone' });
    await settle();
    dana.socket.take('call.offer').ack({ ok: true });
    const pc = dana.pcs.last();
    pc.connect();
    await settle();
    dana.socket.emitted.length = 0;
    // The server goes away; the browser keeps gathering candidates.
    dana.socket.connected = false;
    pc.emitCandidate({ candidate: 'candidate:7 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.2 rport 40000', sdpMid: '0', sdpMLineIndex: 0 });
    await settle();
    expect(dana.socket.emitted).toEqual([]);
    dana.socket.fire('connect', undefined);
    await settle();
    expect(dana.socket.emitted.map((e) => e.event)).toEqual(['call.resume', 'call.ice']);
    expect(call(dana).end).toBeNull();
  });

  it('shows the server ending a ringing call', async () => {
    const dana = side(DANA, 'dana-laptop');
    await dana.controller.startCall(peerOf(NOOR), 'video');
    const { callId } = dana.socket.take('call.invite').payload as { callId: string };
    dana.socket.fire('call.ended', { callId, reason: 'unavailable' });
    expect(call(dana).end?.text).toBe('Unavailable — Noor Nurse is not online');
    expect(dana.tones.at(-1)).toBeNull();
  });

  describe('invite glare', () => {
    const theirInvite = { callId: CALL_X, fromUserId: NOOR.id, fromDeviceId: 'noor-phone', kind: 'video' as const, fromName: 'Noor Nurse' };

    it('continues as the callee of the merged call, with the same camera and microphone', async () => {
      const dana = side(DANA, 'dana-laptop');
      await dana.controller.startCall(peerOf(NOOR), 'video');
      const invite = dana.socket.take('call.invite');
      const tracks = call(dana).localStream!.getTracks() as unknown as FakeMediaTrack[];

      // Noor's invite reaches this device first: it waits instead of being declined as busy.
      dana.socket.fire('call.invite', theirInvite);
      expect(dana.socket.events()).toEqual([]);

      invite.ack({ ok: true, merged: theirInvite });
      await settle();
      expect(dana.socket.events()).not.toContain('call.cancel');
      expect(dana.socket.events()).not.toContain('call.reject');
      expect(dana.socket.take('call.accept').payload).toEqual({ callId: CALL_X, deviceId: 'dana-laptop' });
      expect(call(dana)).toMatchObject({ callId: CALL_X, direction: 'incoming', phase: 'connecting', end: null });
      expect(call(dana).localStream!.getTracks()).toEqual(tracks);
      expect(tracks.every((t) => t.readyState === 'live')).toBe(true);

      // The caller's offer finds the merged session.
      dana.socket.fire('call.offer', { callId: CALL_X, fromUserId: NOOR.id, fromDeviceId: 'noor-phone', sdp: 'v=0\r\na=ice-ufrag:x\r\na=fake-track:video v1 s1\r\n' });
      await settle();
      expect(dana.socket.events()).toContain('call.answer');
      expect(call(dana).remoteStream).not.toBeNull();
    });

    it('creates the merged call from the ack when its invite never came', async () => {
      const dana = side(DANA, 'dana-laptop');
      await dana.controller.startCall(peerOf(NOOR), 'audio');
      dana.socket.take('call.invite').ack({ ok: true, merged: theirInvite });
      expect(dana.socket.take('call.accept').payload).toEqual({ callId: CALL_X, deviceId: 'dana-laptop' });
      expect(call(dana)).toMatchObject({ callId: CALL_X, kind: 'video', phase: 'connecting' });
    });

    it('declines a held invite as busy once our own call turns out to be on', async () => {
      const dana = side(DANA, 'dana-laptop');
      await dana.controller.startCall(peerOf(NOOR), 'audio');
      const invite = dana.socket.take('call.invite');
      dana.socket.fire('call.invite', theirInvite);
      invite.ack({ ok: true });
      expect(dana.socket.take('call.reject').payload).toMatchObject({ callId: CALL_X, reason: 'busy' });
      expect(call(dana)).toMatchObject({ direction: 'outgoing', phase: 'outgoing' });
    });
  });

  describe('camera and microphone', () => {
    it('does not place a call without a microphone, and says why', async () => {
      const dana = side(DANA, 'dana-laptop', fakeMediaAccess({ microphone: 'NotAllowedError', camera: 'NotAllowedError' }));
      await dana.controller.startCall(peerOf(NOOR), 'video');
      expect(dana.socket.emitted).toEqual([]);
      expect(call(dana).end).toMatchObject({
        reason: 'media_failed',
        text: 'Call failed: camera or microphone unavailable',
        detail: 'Camera and microphone permission was denied',
      });
    });

    it('offers the caller audio only when the camera fails', async () => {
      const dana = side(DANA, 'dana-laptop', fakeMediaAccess({ camera: 'NotFoundError' }));
      await dana.controller.startCall(peerOf(NOOR), 'video');
      expect(dana.socket.emitted).toEqual([]);
      expect(call(dana).mediaError).toEqual({ message: 'No camera found', canContinueAudioOnly: true });
      dana.controller.continueAudioOnly();
      expect(dana.socket.take('call.invite').payload).toMatchObject({ kind: 'audio' });
      expect(call(dana)).toMatchObject({ kind: 'audio', video: false, mediaError: null, phase: 'outgoing' });
    });

    it('the callee declines with media_failed when nothing works', async () => {
      const noor = side(NOOR, 'noor-phone', fakeMediaAccess({ microphone: 'NotFoundError' }));
      noor.socket.fire('call.invite', { callId: CALL_X, fromUserId: DANA.id, fromDeviceId: 'dana-laptop', kind: 'audio', fromName: 'Dana Doctor' });
      await noor.controller.answer();
      expect(noor.socket.take('call.reject').payload).toEqual({ callId: CALL_X, deviceId: 'noor-phone', reason: 'media_failed' });
      expect(call(noor).end).toMatchObject({ reason: 'media_failed', detail: 'No microphone found' });
    });

    it('the callee may answer a video call with audio only', async () => {
      const noor = side(NOOR, 'noor-phone', fakeMediaAccess({ camera: 'NotReadableError' }));
      noor.socket.fire('call.invite', { callId: CALL_X, fromUserId: DANA.id, fromDeviceId: 'dana-laptop', kind: 'video', fromName: 'Dana Doctor' });
      await noor.controller.answer();
      expect(call(noor).mediaError?.canContinueAudioOnly).toBe(true);
      expect(noor.tones.at(-1)).toBeNull();
      noor.controller.continueAudioOnly();
      expect(noor.socket.take('call.accept').payload).toEqual({ callId: CALL_X, deviceId: 'noor-phone' });
      expect(call(noor).localStream?.getTracks().map((t) => t.kind)).toEqual(['audio']);
      expect(call(noor).cameraOn).toBe(false);
    });

    it('mutes the microphone track and turns the camera on mid-call (renegotiating)', async () => {
      const dana = side(DANA, 'dana-laptop');
      const noor = side(NOOR, 'noor-phone');
      relay(dana, noor);
      await dana.controller.startCall(peerOf(NOOR), 'audio');
      await settle();
      await noor.controller.answer();
      await settle();
      lastPc(dana).connect();
      lastPc(noor).connect();
      await settle();
      expect(call(noor)).toMatchObject({ video: false, cameraOn: false });

      dana.controller.toggleMute();
      const mic = dana.media.tracks.find((t) => t.kind === 'audio')!;
      expect(mic.enabled).toBe(false);
      expect(call(dana).muted).toBe(true);
      dana.controller.toggleMute();
      expect(mic.enabled).toBe(true);

      const offersBefore = dana.socket.emitted.filter((e) => e.event === 'call.offer').length;
      await dana.controller.toggleCamera();
      await settle();
      expect(call(dana)).toMatchObject({ cameraOn: true, video: true });
      expect(dana.socket.emitted.filter((e) => e.event === 'call.offer').length).toBe(offersBefore + 1);
      expect(call(noor)).toMatchObject({ video: true, remoteVideo: true });

      await dana.controller.toggleCamera();
      const camera = dana.media.tracks.find((t) => t.kind === 'video')!;
      expect(camera.readyState).toBe('ended');
      expect(call(dana).cameraOn).toBe(false);
    });

    it('switches the microphone mid-call and lists the devices', async () => {
      const dana = side(DANA, 'dana-laptop');
      await dana.controller.startCall(peerOf(NOOR), 'audio');
      await settle();
      expect(snap(dana).microphones.options.map((o) => o.id)).toEqual(['audio-default', 'mic-2']);
      expect(snap(dana).microphones.selected).toBe('audio-default');

      await dana.controller.selectMicrophone('mic-2');
      expect(snap(dana).microphones.selected).toBe('mic-2');
      const [first, second] = dana.media.tracks;
      expect(first?.readyState).toBe('ended');
      expect(second).toMatchObject({ kind: 'audio', deviceId: 'mic-2', readyState: 'live' });
      expect(call(dana).localStream?.getTracks()).toEqual([second]);
    });
  });

  it('resumes an answered call when the socket reconnects (a restarted server rebuilds it)', async () => {
    const dana = side(DANA, 'dana-laptop');
    const noor = side(NOOR, 'noor-phone');
    relay(dana, noor);
    await dana.controller.startCall(peerOf(NOOR), 'video');
    await settle();
    await noor.controller.answer();
    await settle();
    dana.socket.onEmit = null;
    dana.socket.emitted.splice(0);

    dana.socket.fire('connect', undefined);
    expect(dana.socket.take('call.resume').payload).toMatchObject({
      deviceId: 'dana-laptop',
      role: 'caller',
      peerUserId: NOOR.id,
      peerDeviceId: 'noor-phone',
      kind: 'video',
    });
  });

  it('says why a call that never connected failed (the engine diagnosis)', async () => {
    const dana = side(DANA, 'dana-laptop', fakeMediaAccess(), { connectMs: 50 });
    await dana.controller.startCall(peerOf(NOOR), 'audio');
    const { callId } = dana.socket.take('call.invite').payload as { callId: string };
    dana.socket.fire('call.accept', { callId, fromUserId: NOOR.id, fromDeviceId: 'noor-phone' });
    await sleep(100);
    expect(call(dana).end).toMatchObject({
      reason: 'connection_failed',
      text: "Can't reach the relay (TURN) server — calls between different networks need one",
      detail: 'None is configured for Parley: please ask an administrator to set one up.',
    });
  });

  describe('call quality', () => {
    /** A relayed pair whose counters grow by 100 packets (`lost` of them lost) and 10 KB each way per reading. */
    function relayedStats(lost: number) {
      let n = 0;
      return async () => {
        n += 1;
        return new Map<string, unknown>([
          ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
          ['P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', currentRoundTripTime: 0.05 }],
          ['L', { id: 'L', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp' }],
          ['R', { id: 'R', type: 'remote-candidate', candidateType: 'srflx', protocol: 'udp' }],
          ['I', { id: 'I', type: 'inbound-rtp', kind: 'audio', packetsLost: n * lost, packetsReceived: n * (100 - lost), bytesReceived: n * 10_000 }],
          ['O', { id: 'O', type: 'outbound-rtp', kind: 'audio', bytesSent: n * 10_000 }],
        ]);
      };
    }

    async function connectedPair(lost: number) {
      const dana = side(DANA, 'dana-laptop', fakeMediaAccess(), undefined, { statsIntervalMs: 20, qualityReportMs: 60_000 });
      const noor = side(NOOR, 'noor-phone');
      relay(dana, noor);
      await dana.controller.startCall(peerOf(NOOR), 'video');
      await settle();
      await noor.controller.answer();
      await settle();
      (lastPc(dana) as any).getStats = relayedStats(lost);
      lastPc(dana).connect();
      lastPc(noor).connect();
      await settle();
      return { dana, noor };
    }

    it('measures a connected call, shows the details and reports the summary, last right before hanging up', async () => {
      const { dana } = await connectedPair(1);
      await sleep(120);
      expect(call(dana).details).toMatchObject({ path: 'relay', protocol: 'tcp', rttMs: 50, lossPct: 1 });
      expect(call(dana).details?.inKbps).toBeGreaterThan(0);
      expect(call(dana).qualityWarning).toBeNull();
      // The first summary goes out as soon as there is one; the next only after qualityReportMs.
      const stats = () => dana.socket.emitted.filter((e) => e.event === 'call.stats');
      expect(stats()).toHaveLength(1);
      expect(stats()[0]!.payload).toMatchObject({ deviceId: 'dana-laptop', quality: { path: 'relay', protocol: 'tcp', rttMs: 50, lossPct: 1 } });

      dana.controller.hangup();
      const events = dana.socket.events();
      expect(events.slice(-2)).toEqual(['call.stats', 'call.hangup']);
      expect(call(dana).details).toBeNull();
    });

    it('warns about a poor connection once it has lasted a few seconds of readings', async () => {
      const { dana } = await connectedPair(20);
      // statsIntervalMs is 20 ms here, but the warning waits for 3 s of real readings.
      await sleep(150);
      expect(call(dana).qualityWarning).toBeNull();
    });
  });

  it('takes its listeners off the socket when stopped, hanging up the call', async () => {
    const dana = side(DANA, 'dana-laptop');
    await dana.controller.startCall(peerOf(NOOR), 'audio');
    dana.socket.take('call.invite').ack({ ok: true });
    expect(dana.socket.listenerCount()).toBe(13); // 12 call events and the reconnect
    dana.controller.stop();
    expect(dana.socket.listenerCount()).toBe(0);
    expect(dana.socket.take('call.cancel').payload).toMatchObject({ reason: 'cancelled' });
    expect(snap(dana).call).toBeNull();
  });
});
