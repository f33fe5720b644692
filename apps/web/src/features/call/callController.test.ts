/*
 * The web app's calls against the REAL Parley server (apps/server/src/testing/harness.ts): each
 * device is a CallController on a socket.io-client socket, with the engine's fake peer connection
 * (no network media; the tests drive ICE) and fake camera and microphone. What the server checks,
 * relays, merges, refuses and stores is the server's own doing.
 */
import type { PeerConnectionFactory, SignalChannel } from '@parley/call';
import { fakePeerConnectionFactory, RecordingLogger, settle, type FakePeerConnection } from '@parley/call/testing';
import type { CallClientEventName } from '@parley/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// The harness's vitest context (pgUrl) is declared by the run's global setup.
import type {} from '../../../../server/src/testing/global-setup.ts';
import { startTestServer, type TestServer, type TestSocket } from '../../../../server/src/testing/harness.ts';
import { CallController, type CallPeer } from './callController.ts';
import { callSocketOf } from './callSocket.ts';
import type { Tone } from './tones.ts';
import { fakeMediaAccess, type FakeMediaAccess, type FakeMediaTrack } from './testing/fakes.ts';

let server: TestServer;
const users: Record<'alex' | 'dana' | 'noor', { id: string; name: string; email: string; cookie: string }> = {} as never;
const TURN = 'turn:127.0.0.1:3478';

beforeAll(async () => {
  // A TURN server is configured (never reached: the fake gathers host candidates only).
  server = await startTestServer({ env: { TURN_URLS: TURN, TURN_SECRET: 'a-turn-secret-of-16+chars', CALL_RING_TIMEOUT_S: '30' } });
  for (const [who, email] of [['alex', 'admin@example.com'], ['dana', 'doctor@example.com'], ['noor', 'nurse@example.com']] as const) {
    const cookie = await server.login(email);
    const me = (await server.request('GET', '/api/me', { cookie })).body.user;
    users[who] = { id: me.id, name: me.name, email, cookie };
  }
});
afterAll(async () => {
  await server?.close();
});

interface Side {
  who: keyof typeof users;
  deviceId: string;
  socket: TestSocket;
  /** Every event this device sent, in order. */
  sent: CallClientEventName[];
  media: FakeMediaAccess;
  pcs: ReturnType<typeof fakePeerConnectionFactory>;
  tones: (Tone | null)[];
  log: RecordingLogger;
  controller: CallController;
}

const sides: Side[] = [];
afterEach(async () => {
  const done = sides.splice(0);
  for (const s of done) s.controller.stop();
  await sleep(50);
  for (const s of done) s.socket.disconnect();
  // Let the server notice the sockets are gone, so the next test's calls do not meet these.
  await sleep(50);
});

let n = 0;
async function side(
  who: keyof typeof users,
  o: {
    media?: FakeMediaAccess;
    connectMs?: number;
    statsIntervalMs?: number;
    watchdog?: { stallMs: number; oneWayMs: number };
    fullVideoAfterMs?: number;
    ringPreview?: boolean;
    pageVisible?: () => boolean;
  } = {},
): Promise<Side> {
  const deviceId = `${who}-${++n}`;
  const socket = await server.connect(users[who].cookie, { deviceId });
  const channel = callSocketOf(socket);
  const sent: CallClientEventName[] = [];
  const recorded: SignalChannel = {
    get connected() {
      return channel.connected;
    },
    emit: (type, payload, ack) => {
      sent.push(type);
      channel.emit(type, payload, ack);
    },
    on: (type, listener) => channel.on(type, listener),
    onConnect: (listener) => channel.onConnect(listener),
  };
  const pcs = fakePeerConnectionFactory();
  const tones: (Tone | null)[] = [];
  const log = new RecordingLogger();
  const media = o.media ?? fakeMediaAccess();
  const controller = new CallController({
    socket: recorded,
    deviceId,
    media,
    peerConnectionFactory: pcs.factory as unknown as PeerConnectionFactory<MediaStreamTrack, MediaStream>,
    // The server's own ICE servers for this person, as the browser fetches them.
    rtcConfiguration: async () => (await server.request('GET', '/api/rtc-config', { cookie: users[who].cookie })).body,
    resolvePeer: (id) => Object.values(users).filter((u) => u.id === id).map((u) => ({ name: u.name, seed: u.email }))[0],
    tones: { play: (tone) => void (tones.at(-1) !== tone && tones.push(tone)) },
    logger: log,
    endDisplayMs: 300,
    ...(o.connectMs ? { timeouts: { connectMs: o.connectMs } } : {}),
    ...(o.statsIntervalMs ? { statsIntervalMs: o.statsIntervalMs } : {}),
    ...(o.watchdog ? { watchdog: o.watchdog } : {}),
    ...(o.fullVideoAfterMs ? { fullVideoAfterMs: o.fullVideoAfterMs } : {}),
    ...(o.ringPreview !== undefined ? { ringPreview: o.ringPreview } : {}),
    ...(o.pageVisible ? { pageVisible: o.pageVisible } : {}),
  });
  controller.start();
  const s = { who, deviceId, socket, sent, media, pcs, tones, log, controller };
  sides.push(s);
  return s;
}

const peer = (who: keyof typeof users): CallPeer => ({ id: users[who].id, name: users[who].name, seed: users[who].email });
const lastPc = (s: Side): FakePeerConnection => s.pcs.last();
const snap = (s: Side) => s.controller.getSnapshot();
const call = (s: Side) => {
  const c = snap(s).call;
  if (!c) throw new Error(`no call on ${s.deviceId}'s screen`);
  return c;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (real time, the server is real) until `check` holds. */
async function until(check: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Dana calls Noor, Noor answers, both media paths come up. */
async function connected(kind: 'audio' | 'video', o: Parameters<typeof side>[1] = {}) {
  const dana = await side('dana', o);
  const noor = await side('noor', o);
  await dana.controller.startCall(peer('noor'), kind);
  await until(() => snap(noor).call?.phase === 'ringing', 'Noor ringing');
  await noor.controller.answer();
  await until(() => call(dana).phase === 'connecting' && dana.pcs.instances.length > 0, 'Dana connecting');
  await until(() => noor.sent.includes('call.answer'), 'the answer');
  lastPc(dana).connect();
  lastPc(noor).connect();
  await until(() => call(dana).phase === 'connected' && call(noor).phase === 'connected', 'both connected');
  return { dana, noor };
}

describe('CallController on the real server', () => {
  it('places, rings, answers, connects and hangs up a video call between two devices', async () => {
    const dana = await side('dana');
    const noor = await side('noor');
    const placing = dana.controller.startCall(peer('noor'), 'video');
    expect(call(dana).phase).toBe('preparing');
    await placing;
    await until(() => snap(noor).call?.phase === 'ringing' && call(dana).remoteRinging, 'ringing on both');
    expect(call(noor)).toMatchObject({ direction: 'incoming', kind: 'video', peer: { name: 'Dana Doctor', seed: 'doctor@example.com' } });
    expect(noor.tones.at(-1)).toBe('ringtone');
    expect(dana.tones.at(-1)).toBe('ringback');

    await noor.controller.answer();
    await until(() => call(dana).phase === 'connecting' && noor.sent.includes('call.answer'), 'offer and answer');
    expect(noor.tones.at(-1)).toBeNull();
    // This call's peer connections have the ICE servers the server handed out, TURN credentials included.
    for (const s of [dana, noor]) {
      const urls = (lastPc(s).configuration.iceServers ?? []).flatMap((i) => i.urls);
      expect(urls).toContain(TURN);
    }

    lastPc(dana).connect();
    lastPc(noor).connect();
    const twoWay = (s: Side) => call(s).phase === 'connected' && call(s).remoteStream?.getTracks().length === 2 && call(s).remoteVideo;
    await until(() => twoWay(dana) && twoWay(noor), 'both connected, with both remote tracks');
    for (const s of [dana, noor]) {
      expect(call(s)).toMatchObject({ ice: 'connected', connection: 'connected', video: true, remoteVideo: true, cameraOn: true });
      expect(call(s).connectedAt).not.toBeNull();
      expect(call(s).remoteStream?.getTracks().map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    }

    dana.controller.hangup();
    await until(() => call(noor).end !== null, 'the hang up reaching Noor');
    expect(call(dana).end).toMatchObject({ reason: 'user_hangup', by: 'local', text: 'Call ended' });
    expect(call(noor).end).toMatchObject({ reason: 'user_hangup', by: 'remote', text: 'Call ended' });
    expect([...dana.media.tracks, ...noor.media.tracks].every((t) => t.readyState === 'ended')).toBe(true);
    expect(dana.log.messages().some((m) => m.startsWith('[Call] [call '))).toBe(true);
    // The reason shows for a moment, then the call view closes.
    await sleep(350);
    expect(snap(dana).call).toBeNull();
    expect(snap(noor).call).toBeNull();
  });

  it('publishes a new snapshot only when something on screen changed, keeping the parts that did not', async () => {
    const { dana } = await connected('video');
    await sleep(50);
    const before = snap(dana);
    let notified = 0;
    const off = dana.controller.subscribe(() => notified++);

    // The engine reports a transport event, and the devices are listed again: nothing changed on screen.
    lastPc(dana).setIceConnectionState('connected');
    dana.controller.refreshDevices();
    await sleep(50);
    expect(notified).toBe(0);
    expect(snap(dana)).toBe(before);

    // A change: a new snapshot and a new call view, the untouched parts the same objects.
    dana.controller.toggleMute();
    expect(notified).toBe(1);
    const after = snap(dana);
    expect(after.call).not.toBe(before.call);
    expect(after.call).toMatchObject({ muted: true, remoteStream: before.call!.remoteStream, peer: before.call!.peer });
    expect(after.microphones).toBe(before.microphones);
    expect(after.cameras).toBe(before.cameras);
    off();
  });

  it('says "Unavailable" when the person called is signed in nowhere', async () => {
    const dana = await side('dana');
    await dana.controller.startCall(peer('alex'), 'audio');
    await until(() => call(dana).end !== null, 'the end');
    expect(call(dana).end).toMatchObject({ reason: 'unavailable', text: 'Unavailable — Alex Admin is not online' });
  });

  it('declines a call as busy on a device that is getting its camera for a call of its own', async () => {
    const noorMedia = fakeMediaAccess();
    let grant!: () => void;
    noorMedia.gate = new Promise((resolve) => (grant = resolve));
    const noor = await side('noor', { media: noorMedia });
    const dana = await side('dana');
    const preparing = noor.controller.startCall(peer('alex'), 'audio');
    await dana.controller.startCall(peer('noor'), 'video');
    await until(() => call(dana).end !== null, "Dana's call ending");
    expect(call(dana).end).toMatchObject({ reason: 'busy', text: 'Busy' });
    expect(noor.sent).toEqual(['call.reject']);
    expect(call(noor).phase).toBe('preparing');
    grant();
    await preparing;
  });

  it('holds what the engine says while the socket is down, and sends it after call.resume', async () => {
    const { dana, noor } = await connected('audio');
    const before = dana.sent.length;
    dana.socket.disconnect();
    lastPc(dana).emitCandidate({ candidate: 'candidate:7 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.2 rport 40000', sdpMid: '0', sdpMLineIndex: 0 });
    await settle();
    expect(dana.sent.length).toBe(before);
    dana.socket.connect();
    await until(() => dana.sent.length >= before + 2, 'resume and the held candidate');
    expect(dana.sent.slice(before)).toEqual(['call.resume', 'call.ice']);
    // The server kept the call: a hang up still reaches Noor.
    await sleep(50);
    expect(call(dana).end).toBeNull();
    dana.controller.hangup();
    await until(() => call(noor).end !== null, 'the hang up reaching Noor');
    expect(call(noor).end).toMatchObject({ reason: 'user_hangup', by: 'remote' });
  });

  it('glare: both call each other at once and get exactly one call', async () => {
    const dana = await side('dana');
    const noor = await side('noor');
    await Promise.all([dana.controller.startCall(peer('noor'), 'video'), noor.controller.startCall(peer('dana'), 'video')]);
    await until(() => [dana, noor].every((s) => snap(s).call?.phase === 'connecting'), 'one call connecting on both');
    expect(call(dana).callId).toBe(call(noor).callId);
    expect([call(dana).direction, call(noor).direction].sort()).toEqual(['incoming', 'outgoing']);
    expect([...dana.sent, ...noor.sent]).not.toContain('call.cancel');
    await until(() => dana.sent.includes('call.offer') || noor.sent.includes('call.offer'), 'the offer');
  });

  it('says why a call that never connected failed, from the ICE servers the call had', async () => {
    const dana = await side('dana', { connectMs: 400 });
    const noor = await side('noor', { connectMs: 400 });
    await dana.controller.startCall(peer('noor'), 'audio');
    await until(() => snap(noor).call?.phase === 'ringing', 'Noor ringing');
    await noor.controller.answer();
    await until(() => call(dana).end !== null && call(noor).end !== null, 'both ends');
    for (const s of [dana, noor]) {
      expect(call(s).end).toMatchObject({
        reason: 'connection_failed',
        text: "Can't reach the relay (TURN) server — calls between different networks need one",
        detail: expect.stringMatching(/^One is configured, but this network blocks it/),
      });
    }
  });

  it('measures a connected call, reports its quality before hanging up, and the history keeps it', async () => {
    const { dana, noor } = await connected('audio', { statsIntervalMs: 20 });
    await until(() => call(dana).details?.inKbps != null, 'call details');
    expect(call(dana).details).toMatchObject({ path: 'direct', protocol: 'udp', rttMs: 20, lossPct: 0 });
    expect(call(dana).qualityWarning).toBeNull();
    dana.controller.hangup();
    expect(dana.sent.slice(-2)).toEqual(['call.stats', 'call.hangup']);
    expect(call(dana).details).toBeNull();
    await until(() => call(noor).end !== null, 'the end on Noor');
    const conversation = (await server.request('POST', '/api/conversations', { cookie: users.dana.cookie, body: { userId: users.noor.id } })).body.conversation;
    const messages = async () => (await server.request('GET', `/api/conversations/${conversation.id}/messages`, { cookie: users.dana.cookie })).body.messages as any[];
    let entry: any;
    for (let i = 0; i < 100 && !entry; i++) {
      entry = (await messages()).find((m) => m.id === call(dana).callId);
      if (!entry) await sleep(20);
    }
    expect(entry.call.quality).toMatchObject({ path: 'direct', protocol: 'udp', rttMs: 20, lossPct: 0 });
  });

  it('tells the person plainly when media stops arriving and an ICE restart does not bring it back', async () => {
    const { dana, noor } = await connected('video', { statsIntervalMs: 20, watchdog: { stallMs: 100, oneWayMs: 150 } });
    lastPc(noor).stopDelivering('inbound');
    await until(() => call(noor).oneWay !== null, 'the one-way condition');
    expect(call(noor).oneWay).toBe("You can't hear or see Dana Doctor");
    expect(lastPc(noor).callsOf('restartIce').length).toBeGreaterThanOrEqual(1);
    expect(call(dana).oneWay).toBeNull();
    lastPc(noor).resumeDelivering('inbound');
    await until(() => call(noor).oneWay === null, 'media back');
  });

  describe('camera and microphone', () => {
    it('does not place a call without a microphone, and says why', async () => {
      const dana = await side('dana', { media: fakeMediaAccess({ microphone: 'NotAllowedError', camera: 'NotAllowedError' }) });
      await dana.controller.startCall(peer('noor'), 'video');
      expect(dana.sent).toEqual([]);
      expect(call(dana).end).toMatchObject({
        reason: 'media_failed',
        text: 'Call failed: camera or microphone unavailable',
        detail: 'Camera and microphone permission was denied',
      });
    });

    it('offers the caller audio only when the camera fails', async () => {
      const dana = await side('dana', { media: fakeMediaAccess({ camera: 'NotFoundError' }) });
      await dana.controller.startCall(peer('noor'), 'video');
      expect(dana.sent).toEqual([]);
      expect(call(dana).mediaError).toEqual({ message: 'No camera found', canContinueAudioOnly: true });
      await dana.controller.continueAudioOnly();
      expect(dana.sent).toEqual(['call.invite']);
      expect(call(dana)).toMatchObject({ kind: 'audio', video: false, mediaError: null });
    });

    it('the callee declines with media_failed when nothing works, and the caller reads why', async () => {
      const dana = await side('dana');
      const noor = await side('noor', { media: fakeMediaAccess({ microphone: 'NotFoundError' }) });
      await dana.controller.startCall(peer('noor'), 'audio');
      await until(() => snap(noor).call?.phase === 'ringing', 'Noor ringing');
      await noor.controller.answer();
      expect(call(noor).end).toMatchObject({ reason: 'media_failed', detail: 'No microphone found' });
      await until(() => call(dana).end !== null, "Dana's end");
      expect(call(dana).end?.reason).toBe('media_failed');
    });

    it('the callee may answer a video call with audio only', async () => {
      const dana = await side('dana');
      const noor = await side('noor', { media: fakeMediaAccess({ camera: 'NotReadableError' }) });
      await dana.controller.startCall(peer('noor'), 'video');
      await until(() => snap(noor).call?.phase === 'ringing', 'Noor ringing');
      await noor.controller.answer();
      expect(call(noor).mediaError?.canContinueAudioOnly).toBe(true);
      expect(noor.tones.at(-1)).toBeNull();
      await noor.controller.continueAudioOnly();
      expect(noor.sent).toContain('call.accept');
      expect(call(noor).localStream?.getTracks().map((t) => t.kind)).toEqual(['audio']);
      expect(call(noor).cameraOn).toBe(false);
    });

    it('mutes the microphone track and turns the camera on mid-call (renegotiating)', async () => {
      const { dana, noor } = await connected('audio');
      expect(call(noor)).toMatchObject({ video: false, cameraOn: false });
      dana.controller.toggleMute();
      const mic = dana.media.tracks.find((t) => t.kind === 'audio')!;
      expect(mic.enabled).toBe(false);
      expect(call(dana).muted).toBe(true);
      dana.controller.toggleMute();
      expect(mic.enabled).toBe(true);

      const offers = () => dana.sent.filter((e) => e === 'call.offer').length;
      const before = offers();
      await dana.controller.toggleCamera();
      await until(() => offers() === before + 1 && call(noor).remoteVideo, 'the renegotiated camera on Noor');
      expect(call(dana)).toMatchObject({ cameraOn: true, video: true });
      expect(call(noor)).toMatchObject({ video: true, remoteVideo: true });

      await dana.controller.toggleCamera();
      const camera = dana.media.tracks.find((t) => t.kind === 'video') as FakeMediaTrack;
      expect(camera.readyState).toBe('ended');
      expect(call(dana).cameraOn).toBe(false);
    });

    it('starts the camera at 640×480 and raises it to 1280×720 once remote frames arrived, without renegotiating', async () => {
      const dana = await side('dana', { fullVideoAfterMs: 100 });
      const noor = await side('noor', { fullVideoAfterMs: 100 });
      await dana.controller.startCall(peer('noor'), 'video');
      await until(() => snap(noor).call?.phase === 'ringing', 'Noor ringing');
      await noor.controller.answer();
      const camera = (s: Side) => s.media.tracks.find((t) => t.kind === 'video')!;
      for (const s of [dana, noor]) expect(camera(s).getSettings()).toMatchObject({ width: 640, height: 480 });
      await until(() => noor.sent.includes('call.answer'), 'the answer');
      const offers = dana.sent.filter((e) => e === 'call.offer').length;
      lastPc(dana).connect();
      lastPc(noor).connect();
      await until(() => call(dana).remoteVideo && call(noor).remoteVideo, 'remote video on both');
      // Not at once: the other side's first frames come first.
      for (const s of [dana, noor]) expect(camera(s).applied).toEqual([]);
      await until(() => camera(dana).applied.length > 0 && camera(noor).applied.length > 0, 'both cameras raised');
      for (const s of [dana, noor]) {
        expect(camera(s).applied).toEqual([{ width: { ideal: 1280 }, height: { ideal: 720 } }]);
        expect(camera(s).getSettings()).toMatchObject({ width: 1280, height: 720 });
        expect(s.log.messages()).toContain('[Call] Camera raised to 1280×720');
      }
      await sleep(400);
      expect(dana.sent.filter((e) => e === 'call.offer').length).toBe(offers);
      expect(camera(dana).applied.length + camera(noor).applied.length).toBe(2);
    });

    it('switches the microphone mid-call and lists the devices', async () => {
      const { dana } = await connected('audio');
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

  // Alex calls in these, so Dana's invite cap (CALL_INVITES_PER_MINUTE) is not used up for the tests after them.
  describe('the camera while a video call rings', () => {
    const allowed = () => Object.assign(fakeMediaAccess(), { allowed: true });
    const kinds = (c: MediaStreamConstraints) => [c.audio ? 'audio' : null, c.video ? 'video' : null].filter(Boolean).join('+');

    it('shows the camera while it rings, and the answer keeps that camera and asks only for the microphone', async () => {
      const alex = await side('alex');
      const noor = await side('noor', { media: allowed() });
      await alex.controller.startCall(peer('noor'), 'video');
      await until(() => !!snap(noor).call?.preview, "Noor's preview");
      expect(noor.media.requests.map(kinds)).toEqual(['video']);
      const camera = noor.media.tracks[0]!;
      expect(call(noor).preview?.getTracks()).toEqual([camera]);
      expect(call(noor).phase).toBe('ringing');
      expect(snap(noor).cameras.selected).toBe('video-default');

      await noor.controller.answer();
      // call.accept left with the camera alone; the microphone joins the call when it is in hand.
      expect(noor.media.requests.map(kinds)).toEqual(['video', 'audio']);
      await until(() => call(noor).localStream?.getTracks().length === 2, 'the answer, with the microphone');
      expect(call(noor).preview).toBeNull();
      expect(call(noor).localStream?.getTracks().map((t) => t.kind).sort()).toEqual(['audio', 'video']);
      expect(call(noor).localStream?.getTracks()).toContain(camera);
      expect(camera.readyState).toBe('live');
      await until(() => alex.pcs.instances.length > 0 && noor.sent.includes('call.accept'), 'accepted');
      lastPc(alex).connect();
      lastPc(noor).connect();
      await until(() => call(alex).phase === 'connected' && call(noor).phase === 'connected', 'both connected');
      alex.controller.hangup();
      await until(() => call(noor).end !== null, 'the end');
      expect(camera.readyState).toBe('ended');
    });

    it('never on an audio call, a hidden page, a camera not allowed yet, or when turned off; those answer as before', async () => {
      const cases: [string, Parameters<typeof side>[1], 'audio' | 'video'][] = [
        ['audio call', { media: allowed() }, 'audio'],
        ['hidden page', { media: allowed(), pageVisible: () => false }, 'video'],
        ['camera not allowed yet', {}, 'video'],
        ['turned off', { media: allowed(), ringPreview: false }, 'video'],
      ];
      for (const [what, options, kind] of cases) {
        const alex = await side('alex');
        const noor = await side('noor', options);
        await alex.controller.startCall(peer('noor'), kind);
        await until(() => snap(noor).call?.phase === 'ringing', `Noor ringing (${what})`);
        await sleep(50);
        expect(noor.media.requests, what).toEqual([]);
        expect(call(noor).preview, what).toBeNull();
        await noor.controller.answer();
        expect(noor.media.requests.map(kinds), what).toEqual([kind === 'video' ? 'audio+video' : 'audio']);
        await until(() => snap(alex).call?.answered === true, `answered (${what})`);
        alex.controller.hangup();
        await until(() => call(noor).end !== null, `the end (${what})`);
        for (const s of sides.splice(0)) {
          s.controller.stop();
          s.socket.disconnect();
        }
        await sleep(50);
      }
    });

    it('goes out when the call stops ringing here: answered elsewhere, declined, or turned off', async () => {
      const alex = await side('alex');
      const noor = await side('noor', { media: allowed() });
      const noor2 = await side('noor', { media: allowed() });
      await alex.controller.startCall(peer('noor'), 'video');
      await until(() => !!snap(noor).call?.preview && !!snap(noor2).call?.preview, 'both previews');
      await noor2.controller.answer();
      // Answered elsewhere closes the dialog at once.
      await until(() => snap(noor).call === null, 'answered elsewhere');
      expect(noor.media.tracks.every((t) => t.readyState === 'ended')).toBe(true);
      await until(() => snap(alex).call?.answered === true, 'answered');
      alex.controller.hangup();
      await until(() => call(noor2).end !== null, 'the end');
      await sleep(400);

      await alex.controller.startCall(peer('noor'), 'video');
      await until(() => snap(noor).call?.phase === 'ringing' && !!snap(noor).call?.preview && !!snap(noor2).call?.preview, 'both previews again');
      noor.controller.setRingPreview(false);
      expect(call(noor).preview).toBeNull();
      expect(snap(noor).ringPreview).toBe(false);
      noor2.controller.decline();
      await until(() => call(alex).end !== null, 'declined');
      expect([...noor.media.tracks, ...noor2.media.tracks].every((t) => t.readyState === 'ended')).toBe(true);
    });

    it('a microphone that fails once answered with the preview camera ends the call as media_failed, and both say why', async () => {
      const alex = await side('alex');
      const media = allowed();
      const noor = await side('noor', { media });
      await alex.controller.startCall(peer('noor'), 'video');
      await until(() => !!snap(noor).call?.preview, "Noor's preview");
      media.fail.microphone = 'NotReadableError';
      await noor.controller.answer();
      await until(() => snap(noor).call?.end != null || snap(noor).call === null, 'the end on Noor');
      await until(() => call(alex).end !== null, 'the end on Alex');
      expect(call(alex).end?.reason).toBe('media_failed');
      expect(media.tracks.every((t) => t.readyState === 'ended')).toBe(true);
    });

    it('a preview camera that died is not used: the answer asks for both again', async () => {
      const alex = await side('alex');
      const noor = await side('noor', { media: allowed() });
      await alex.controller.startCall(peer('noor'), 'video');
      await until(() => !!snap(noor).call?.preview, "Noor's preview");
      noor.media.tracks[0]!.readyState = 'ended';
      await noor.controller.answer();
      expect(noor.media.requests.map(kinds)).toEqual(['video', 'audio+video']);
      expect(call(noor).localStream?.getTracks().every((t) => t.readyState === 'live')).toBe(true);
    });
  });

  it('cancels the call when stopped, and listens no more', async () => {
    const dana = await side('dana');
    const noor = await side('noor');
    await dana.controller.startCall(peer('noor'), 'audio');
    await until(() => snap(noor).call?.phase === 'ringing', 'Noor ringing');
    dana.controller.stop();
    expect(dana.sent.at(-1)).toBe('call.cancel');
    expect(snap(dana).call).toBeNull();
    await until(() => call(noor).end !== null, "Noor's missed call");
    expect(call(noor).end).toMatchObject({ reason: 'cancelled', text: 'Missed call' });
    // Listening no more: a call to this device now finds nobody answering for it.
    const sent = dana.sent.length;
    await noor.controller.startCall(peer('dana'), 'audio');
    await sleep(100);
    expect(dana.sent.length).toBe(sent);
  });
});
