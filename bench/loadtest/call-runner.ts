// One whole call life through the real protocol, between two werift devices: invite, ring,
// answer, connected, data channel messages both ways (and RTP both ways with --media), held for
// the duration, hung up — and what went wrong, as one of the report's reasons.
import { acceptDataChannel, openDataChannel, RtpCounter, RtpSource, weriftLocalStream } from '@parley/call/werift';
import type { MediaStreamTrack, RTCDataChannel, RTCPeerConnection } from 'werift';
import { CallTrace, type LoadDevice, type WeriftAgentCall } from './device.ts';
import type { CallOutcome, FailureReason } from './report.ts';

export interface CallPlan {
  media: boolean;
  holdMs: number;
  setupTimeoutMs: number;
  /** Data channel messages each side sends per second while the call is held. */
  dataPerS: number;
  /** With media: RTP packets a second on each audio and each video track, each way. */
  audioPps: number;
  videoPps: number;
  /** Resolves when the run is interrupted (Ctrl-C): the call hangs up at once. */
  interrupted: Promise<void>;
}

class CallFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
  }
}

const LABEL = 'loadtest';
const AUDIO_BYTES = 80; // a 32 kbit/s Opus frame
const VIDEO_BYTES = 1000;

function untilConnected(call: WeriftAgentCall, timeoutMs: number): Promise<void> {
  if (call.phase === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new CallFailure('setup_timeout', `not connected within ${timeoutMs} ms (${call.phase})`));
    }, timeoutMs);
    const off = call.on('update', () => {
      if (call.phase === 'connected') {
        clearTimeout(timer);
        off();
        resolve();
      } else if (call.phase === 'ended') {
        clearTimeout(timer);
        off();
        reject(new CallFailure('ended_before_connected', `ended (${call.end?.reason}, ${call.end?.by}) before connected`));
      }
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, reason: FailureReason, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CallFailure(reason, `${what} within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof CallFailure ? err : new CallFailure(reason, String((err as Error).message ?? err)));
      },
    );
  });
}

function remoteTracks(call: WeriftAgentCall): Map<string, Promise<MediaStreamTrack>> {
  const waiting = new Map<string, (t: MediaStreamTrack) => void>();
  const tracks = new Map<string, Promise<MediaStreamTrack>>();
  for (const kind of ['audio', 'video']) tracks.set(kind, new Promise((r) => waiting.set(kind, r)));
  call.on('track', (track) => waiting.get(track.kind)?.(track));
  return tracks;
}

/** Counts the messages the channel receives; sends `perS` a second while `running()`. */
function chatter(channel: RTCDataChannel, perS: number): { received: () => number; sent: () => number; stop: () => void } {
  let received = 0;
  let sent = 0;
  channel.onMessage.subscribe(() => received++);
  const timer = setInterval(() => {
    if (channel.readyState !== 'open') return;
    channel.send(`loadtest ${++sent}`);
  }, 1000 / perS);
  return { received: () => received, sent: () => sent, stop: () => clearInterval(timer) };
}

/** werift's own view of the connection, into the call's trace: ICE gathering and checks, DTLS (connectionState), candidates. */
function tracePeer(pc: RTCPeerConnection, trace: CallTrace, who: string): void {
  let local = 0;
  pc.iceGatheringStateChange.subscribe((s) => trace.mark(who, `werift gathering ${s} (${local} local candidates)`));
  pc.onIceCandidate.subscribe((c) => {
    if (c) local++;
  });
  pc.iceConnectionStateChange.subscribe((s) => trace.mark(who, `werift ICE ${s}`));
  pc.connectionStateChange.subscribe((s) => trace.mark(who, `werift connection ${s}`));
  pc.signalingStateChange.subscribe((s) => trace.mark(who, `werift signaling ${s}`));
}

function tracePhases(call: WeriftAgentCall, trace: CallTrace, who: string): void {
  let last = '';
  call.on('update', () => {
    if (call.phase !== last) trace.mark(who, `phase ${(last = call.phase)}`);
  });
}

const sleep = (ms: number, interrupted: Promise<void>) => Promise.race([new Promise((r) => setTimeout(r, ms)), interrupted]);

export async function runCall(caller: LoadDevice, callee: LoadDevice, plan: CallPlan): Promise<CallOutcome> {
  const outcome: CallOutcome = { ok: false };
  let callerCall: WeriftAgentCall | undefined;
  let calleeCall: WeriftAgentCall | undefined;
  const sources: RtpSource[] = [];
  const stops: Array<() => void> = [];
  let interrupted = false;
  void plan.interrupted.then(() => (interrupted = true));
  const refusedBefore = caller.refusals.length;
  const trace = new CallTrace();
  caller.tracing = { trace, who: 'caller' };
  callee.tracing = { trace, who: 'callee' };
  try {
    const kind = plan.media ? 'video' : 'audio';
    const local = { caller: weriftLocalStream(kind), callee: weriftLocalStream(kind) };
    // The caller opens the channel on its peer connection before the first offer, which carries it.
    let callerChannel: Promise<RTCDataChannel> | undefined;
    caller.onNextPeerConnection = (pc) => {
      tracePeer(pc, trace, 'caller');
      callerChannel = openDataChannel(pc, LABEL, plan.setupTimeoutMs);
      callerChannel.catch(() => undefined);
    };
    // The callee listens for the channel on its connection as the engine makes it (when it answers):
    // the offer travels in the invite, so the channel can open before the accept is acknowledged.
    let calleeChannel: Promise<RTCDataChannel> | undefined;
    callee.onNextPeerConnection = (pc) => {
      tracePeer(pc, trace, 'callee');
      calleeChannel = acceptDataChannel(pc, LABEL, plan.setupTimeoutMs);
      calleeChannel.catch(() => undefined);
    };

    const incoming = callee.nextIncoming(plan.setupTimeoutMs);
    incoming.catch(() => undefined);
    callerCall = caller.agent.dial(callee.user.id, kind);
    tracePhases(callerCall, trace, 'caller');
    const callerTracks = remoteTracks(callerCall);
    const ringing = new Promise<number>((resolve) => {
      const off = callerCall!.on('update', () => {
        if (callerCall!.remoteRinging) {
          off();
          resolve(performance.now());
        }
      });
    });
    await callerCall.place(local.caller.stream);

    calleeCall = await withTimeout(incoming, plan.setupTimeoutMs, 'no_ring', 'no invite reached the callee');
    const calleeTracks = remoteTracks(calleeCall);
    tracePhases(calleeCall, trace, 'callee');
    const rangAt = await withTimeout(ringing, plan.setupTimeoutMs, 'no_ring', 'the caller heard no ringing');
    const invitedAt = caller.sentAt.get(`${callerCall.callId}:call.invite`);
    if (invitedAt !== undefined) outcome.inviteToRingMs = rangAt - invitedAt;
    if (caller.refusals.length > refusedBefore) throw new CallFailure('invite_refused', caller.refusals.at(-1)!);

    const answeredAt = performance.now();
    trace.mark('callee', 'answers');
    if (!(await calleeCall.accept(local.callee.stream))) throw new CallFailure('ended_before_connected', `the call stopped ringing before the answer (${calleeCall.end?.reason})`);
    await Promise.all([untilConnected(callerCall, plan.setupTimeoutMs), untilConnected(calleeCall, plan.setupTimeoutMs)]);
    outcome.answerToConnectedMs = performance.now() - answeredAt;
    trace.mark('both', 'connected');

    if (!callerChannel) throw new CallFailure('data_channel', 'the engine made no peer connection on the caller');
    if (!calleeChannel) throw new CallFailure('data_channel', 'the engine made no peer connection on the callee');
    const [chA, chB] = await withTimeout(Promise.all([callerChannel, calleeChannel]), plan.setupTimeoutMs, 'data_channel', 'the data channel did not open');
    const talkA = chatter(chA, plan.dataPerS);
    const talkB = chatter(chB, plan.dataPerS);
    stops.push(talkA.stop, talkB.stop);

    let counters: Array<{ source: RtpSource; counter: RtpCounter }> = [];
    if (plan.media) {
      const [aAudio, aVideo, bAudio, bVideo] = await withTimeout(
        Promise.all([callerTracks.get('audio')!, callerTracks.get('video')!, calleeTracks.get('audio')!, calleeTracks.get('video')!]),
        plan.setupTimeoutMs,
        'media_short',
        'the remote tracks did not arrive',
      );
      const src = (t: MediaStreamTrack | null, kind: 'audio' | 'video') => {
        const s = new RtpSource(t!, kind === 'audio' ? { packetsPerSecond: plan.audioPps, payloadBytes: AUDIO_BYTES } : { packetsPerSecond: plan.videoPps, payloadBytes: VIDEO_BYTES, clockRate: 90_000 });
        sources.push(s);
        s.start();
        return s;
      };
      // Each counter pairs with the source on the other end.
      counters = [
        { source: src(local.callee.audio, 'audio'), counter: new RtpCounter(aAudio) },
        { source: src(local.callee.video, 'video'), counter: new RtpCounter(aVideo) },
        { source: src(local.caller.audio, 'audio'), counter: new RtpCounter(bAudio) },
        { source: src(local.caller.video, 'video'), counter: new RtpCounter(bVideo) },
      ];
    }

    // Every packet a source writes is expected at the other end: the counters were listening
    // before the first one left, and the last ones get 300 ms to arrive after the sources stop.
    await sleep(plan.holdMs, plan.interrupted);
    for (const s of sources) s.stop();
    talkA.stop();
    talkB.stop();
    await new Promise((r) => setTimeout(r, 300)); // packets and messages in flight arrive
    if (plan.media) {
      outcome.media = {
        expected: counters.reduce((n, c) => n + c.source.sent, 0),
        received: counters.reduce((n, c) => n + c.counter.packets, 0),
        skipped: counters.reduce((n, c) => n + c.source.skipped, 0),
      };
      for (const c of counters) c.counter.stop();
    }
    outcome.data = { sent: talkA.sent() + talkB.sent(), received: talkA.received() + talkB.received() };
    if (callerCall.phase !== 'connected' || calleeCall.phase !== 'connected') {
      throw new CallFailure('dropped_while_held', `the call left connected while held (${callerCall.phase}/${calleeCall.phase}: ${callerCall.end?.reason ?? calleeCall.end?.reason ?? ''})`);
    }

    const callee_ = calleeCall;
    const calleeEnded = new Promise<void>((r) => (callee_.end ? r() : callee_.on('ended', () => r())));
    callerCall.hangup();
    await withTimeout(calleeEnded, 10_000, 'hangup_refused', 'the callee did not hear the hang up');
    if (calleeCall.end?.reason !== 'user_hangup') throw new CallFailure('hangup_refused', `the callee saw the end as ${calleeCall.end?.reason}`);

    if (interrupted) throw new CallFailure('interrupted', 'Ctrl-C while the call was held');
    if (outcome.data.received < outcome.data.sent) throw new CallFailure('data_channel', `${outcome.data.received} of ${outcome.data.sent} data channel messages arrived`);
    if (outcome.media && outcome.media.received < outcome.media.expected * 0.98) {
      throw new CallFailure('media_short', `${outcome.media.received} of ${outcome.media.expected} RTP packets arrived`);
    }
    outcome.ok = true;
    outcome.trace = trace.lines;
    return outcome;
  } catch (err) {
    const f = err instanceof CallFailure ? err : new CallFailure('error', String((err as Error)?.stack ?? err));
    outcome.failure = interrupted && f.reason !== 'interrupted' ? 'interrupted' : f.reason;
    const engineSaid = [...caller.log.slice(-2), ...callee.log.slice(-2)].join(' | ');
    outcome.detail = `${f.message}${engineSaid ? ` — engine: ${engineSaid}` : ''}`;
    trace.mark('runner', `FAILED ${outcome.failure}: ${f.message}`);
    outcome.trace = trace.lines;
    return outcome;
  } finally {
    caller.tracing = null;
    callee.tracing = null;
    caller.onNextPeerConnection = null;
    callee.onNextPeerConnection = null;
    for (const s of sources) s.stop();
    for (const stop of stops) stop();
    for (const c of [callerCall, calleeCall]) if (c && c.phase !== 'ended') c.hangup();
    // The device takes its next call only once this one has ended on both sides.
    await Promise.all([callerCall, calleeCall].map((c) => (c && !c.end ? new Promise<void>((r) => { c.on('ended', () => r()); setTimeout(r, 5000); }) : undefined)));
  }
}
