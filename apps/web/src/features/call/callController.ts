import {
  ApiError,
  CALL_SERVER_SCHEMAS,
  CallInviteEvent,
  type CallKind,
  type CallServerEventName,
  type EndReason,
  type ErrorCode,
} from '@parley/protocol';
import {
  browserPeerConnectionFactory,
  CallSession,
  prefixLogger,
  systemClock,
  type BrowserCallSession,
  type CallState,
  type CallTimeouts,
  type Clock,
  type ConnectionDiagnosis,
  type IncomingCallSignal,
  type Logger,
  type OutgoingCallSignal,
  type PeerConfiguration,
  type PeerConnectionFactory,
  type PeerConnectionLike,
} from '@parley/call';
import { randomId } from '../../lib/ids.ts';
import type { CallSocket } from './callSocket.ts';
import { listDevices, selectedDevice, type DeviceLists, type DeviceOption } from './devices.ts';
import { closesAtOnce, DIAGNOSIS_DETAIL, diagnosisCode, END_DISPLAY_MS, endText } from './endReasons.ts';
import {
  acquireCallMedia,
  acquireTrack,
  deviceIdOf,
  listen,
  stopStream,
  tracksOf,
  type DeviceChoice,
  type MediaAccess,
} from './media.ts';
import { QualityMeter, readSample, type CallDetails, type StatsReportLike } from '@parley/call';
import { poorConnectionText } from './quality.ts';
import { getRtcConfiguration } from './rtcConfig.ts';
import { silentTones, type Tone, type TonePlayer } from './tones.ts';

/** The call as the UI shows it: `preparing` is the caller getting camera and microphone before the invite. */
export type CallPhase = 'preparing' | Exclude<CallState, 'idle'>;

/** The other person. `seed` colours their avatar the way the rest of the app does (their email). */
export interface CallPeer {
  id: string;
  name: string;
  seed: string;
}

export interface CallEndView {
  reason: EndReason;
  by: 'local' | 'remote';
  /** In plain words (endReasons.ts). */
  text: string;
  /** What exactly failed, e.g. "Camera permission was denied". */
  detail: string | null;
}

/** One call as the UI renders it. A new object on every change. */
export interface CallView {
  /** Changes with every new call on this device (React key). */
  key: number;
  callId: string | null;
  direction: 'outgoing' | 'incoming';
  peer: CallPeer;
  kind: CallKind;
  /** Show the video layout: a video call, or an audio call where either side turned a camera on. */
  video: boolean;
  phase: CallPhase;
  /** This device answered or placed a call that got answered (it reached `connecting`). */
  answered: boolean;
  /** Caller: a callee device is ringing. */
  remoteRinging: boolean;
  /** RTCPeerConnection.iceConnectionState, `new` before there is one. */
  ice: string;
  /** RTCPeerConnection.connectionState. */
  connection: string;
  /** Epoch ms of the first `connected` (the call timer). */
  connectedAt: number | null;
  localStream: MediaStream | null;
  cameraOn: boolean;
  /** The camera is being turned on or switched. */
  cameraBusy: boolean;
  remoteStream: MediaStream | null;
  /** The remote side sends live video right now (else its avatar is shown). */
  remoteVideo: boolean;
  muted: boolean;
  /** Callee: camera and microphone are being acquired after Answer. */
  answering: boolean;
  /** Media could not be had. For a video call whose camera failed, audio only may go on. */
  mediaError: { message: string; canContinueAudioOnly: boolean } | null;
  /** A problem that does not end the call (a device switch failed). */
  notice: string | null;
  /** How the media travels, measured every second once connected ("Call details"); null before the first reading. */
  details: CallDetails | null;
  /** "Poor connection: 14 % packet loss" while loss or delay has been bad for a few seconds. */
  qualityWarning: string | null;
  end: CallEndView | null;
}

export interface DevicePicker {
  options: readonly DeviceOption[];
  /** The option shown as selected; null when there is none. */
  selected: string | null;
}

export interface CallSnapshot {
  call: CallView | null;
  microphones: DevicePicker;
  cameras: DevicePicker;
}

export interface CallControllerOptions {
  socket: CallSocket;
  /** This page load's device id (lib/realtime.ts DEVICE_ID). */
  deviceId: string;
  media: MediaAccess;
  /** The person or their display details for an incoming call, from what the app already knows. */
  resolvePeer?: (userId: string) => Omit<CallPeer, 'id'> | undefined;
  tones?: TonePlayer;
  peerConnectionFactory?: PeerConnectionFactory<MediaStreamTrack, MediaStream>;
  rtcConfiguration?: () => Promise<RTCConfiguration>;
  /** Defaults to `console`; every line is prefixed `[Call]`. */
  logger?: Logger;
  clock?: Clock;
  timeouts?: Partial<CallTimeouts>;
  endDisplayMs?: number;
  /** How often a connected call reads getStats() (call details, poor-connection warning). Default 1 s. */
  statsIntervalMs?: number;
  /** How often a connected call reports its quality summary for the history entry. Default 10 s. */
  qualityReportMs?: number;
}

/** Mutable bookkeeping behind one CallView. */
interface ActiveCall {
  key: number;
  direction: 'outgoing' | 'incoming';
  peer: CallPeer;
  kind: CallKind;
  video: boolean;
  session: BrowserCallSession | null;
  callId: string | null;
  rtc: RTCConfiguration;
  pc: PeerConnectionLike<MediaStreamTrack, MediaStream> | null;
  ice: string;
  connection: string;
  answered: boolean;
  localStream: MediaStream | null;
  /** A video call whose camera failed: the microphone, waiting for "Continue with audio only". */
  pendingAudioOnly: MediaStream | null;
  /** Caller: an invite from the very person we are calling, held until our invite's ack (glare). */
  heldInvite: CallInviteEvent | null;
  inviteAckPending: boolean;
  answering: boolean;
  cameraBusy: boolean;
  muted: boolean;
  remoteStream: MediaStream | null;
  remoteVideo: boolean;
  mediaError: CallView['mediaError'];
  notice: string | null;
  /** The measurements of this call (getStats every statsIntervalMs once connected). */
  meter: QualityMeter;
  statsRunning: boolean;
  statsTimer: unknown;
  /** Clock time of the last quality report to the server. */
  reportedAt: number | null;
  endDetail: string | null;
  diagnosis: ConnectionDiagnosis['code'] | null;
  end: CallEndView | null;
  endTimer: ReturnType<typeof setTimeout> | null;
  /** Listeners on tracks, streams and the peer connection, removed when the call ends. */
  cleanups: (() => void)[];
}

type AckResult = { ok: true; merged: unknown } | { ok: false; code: ErrorCode };

const SERVER_EVENTS = Object.keys(CALL_SERVER_SCHEMAS) as CallServerEventName[];

/**
 * The web app's calls: carries the engine's signals over the app socket, validates and routes
 * what the server sends to the CallSession of that call, gets camera and microphone, and keeps a
 * snapshot for React (subscribe/getSnapshot, for useSyncExternalStore). The call logic itself —
 * states, negotiation, ICE, timeouts — is the engine's (@parley/call); nothing here imports React.
 */
export class CallController {
  readonly #socket: CallSocket;
  readonly #deviceId: string;
  readonly #media: MediaAccess;
  readonly #resolvePeer: NonNullable<CallControllerOptions['resolvePeer']>;
  readonly #tones: TonePlayer;
  readonly #pcFactory: PeerConnectionFactory<MediaStreamTrack, MediaStream>;
  readonly #rtcConfiguration: () => Promise<RTCConfiguration>;
  readonly #log: Logger;
  readonly #clock: Clock | undefined;
  readonly #timeouts: Partial<CallTimeouts> | undefined;
  readonly #endDisplayMs: number;
  readonly #statsIntervalMs: number;
  readonly #qualityReportMs: number;
  readonly #listeners = new Set<() => void>();
  /** Every session still running, by call id: the current call and calls being declined as busy. */
  readonly #sessions = new Map<string, BrowserCallSession>();
  /** Signals the engine emitted while the socket was down, sent after call.resume on reconnect. */
  readonly #pendingSignals: { record: ActiveCall | null; session: BrowserCallSession; signal: OutgoingCallSignal }[] = [];
  #offs: (() => void)[] = [];
  #running = false;
  #active: ActiveCall | null = null;
  #nextKey = 1;
  #devices: DeviceLists = { microphones: [], cameras: [] };
  /** The ICE servers last fetched; a call that rings before its own fetch starts from these. */
  #lastRtc: RTCConfiguration = { iceServers: [] };
  readonly #choice: DeviceChoice = { microphoneId: null, cameraId: null };
  /** Camera and microphone switches, one at a time. */
  #mediaChain: Promise<void> = Promise.resolve();
  #snapshot: CallSnapshot = {
    call: null,
    microphones: { options: [], selected: null },
    cameras: { options: [], selected: null },
  };

  constructor(options: CallControllerOptions) {
    this.#socket = options.socket;
    this.#deviceId = options.deviceId;
    this.#media = options.media;
    this.#resolvePeer = options.resolvePeer ?? (() => undefined);
    this.#tones = options.tones ?? silentTones;
    this.#pcFactory = options.peerConnectionFactory ?? browserPeerConnectionFactory;
    this.#rtcConfiguration = options.rtcConfiguration ?? getRtcConfiguration;
    this.#log = prefixLogger(options.logger ?? console, '[Call]');
    this.#clock = options.clock;
    this.#timeouts = options.timeouts;
    this.#endDisplayMs = options.endDisplayMs ?? END_DISPLAY_MS;
    this.#statsIntervalMs = options.statsIntervalMs ?? 1_000;
    this.#qualityReportMs = options.qualityReportMs ?? 10_000;
  }

  // ---- for React ----

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getSnapshot = (): CallSnapshot => this.#snapshot;

  // ---- lifecycle ----

  /** Listens for call events. Safe to call again after stop() (React runs effects twice in development). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const type of SERVER_EVENTS) {
      const listener = (payload: unknown) => this.#onServerEvent(type, payload);
      this.#socket.on(type, listener);
      this.#offs.push(() => this.#socket.off(type, listener));
    }
    this.#offs.push(this.#media.onDeviceChange(() => this.refreshDevices()));
    // After a reconnect, a device in a call says so: a server that restarted rebuilds the call from it.
    this.#offs.push(this.#socket.onConnect(() => this.#resume()));
    this.refreshDevices();
  }

  /** Stops listening and ends whatever call is going on (sign-out, page teardown). */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    for (const off of this.#offs.splice(0)) off();
    const active = this.#active;
    if (active && !active.end) this.hangup();
    if (this.#active?.endTimer) clearTimeout(this.#active.endTimer);
    this.#active = null;
    this.#tones.play(null);
    this.#publish();
  }

  // ---- what the UI asks for ----

  /** Calls `peer`. Gets camera and microphone first; without them no call is placed. */
  async startCall(peer: CallPeer, kind: CallKind): Promise<void> {
    if (!this.#running || this.#inCall()) return;
    const record = this.#newRecord('outgoing', peer, kind);
    this.#activate(record);
    const [rtc, media] = await Promise.all([this.#rtc(), acquireCallMedia(this.#media, kind, this.#choice)]);
    record.rtc = rtc;
    if (this.#active !== record || record.end) {
      // Hung up while the browser was asking for permission.
      stopStream(media.ok ? media.stream : media.audioOnly);
      return;
    }
    if (media.ok) {
      this.#place(record, media.stream, kind);
    } else if (media.audioOnly) {
      this.#offerAudioOnly(record, media.audioOnly, media.message);
    } else {
      this.#log.warn(`No media for the call: ${media.message}; not calling`);
      record.endDetail = media.message;
      this.#finish(record, 'media_failed', 'local');
    }
  }

  /** The camera failed but the microphone works: keep the audio and let the person choose. */
  #offerAudioOnly(record: ActiveCall, audioOnly: MediaStream, message: string): void {
    this.#log.warn(`Camera unavailable (${message}); offering audio only`);
    record.pendingAudioOnly = audioOnly;
    record.mediaError = { message, canContinueAudioOnly: true };
    this.#publish();
    this.refreshDevices();
  }

  /** Callee: answer the ringing call with camera (video calls) and microphone. */
  async answer(): Promise<void> {
    const record = this.#active;
    const session = record?.session;
    if (!record || !session || record.direction !== 'incoming' || session.state !== 'ringing' || record.answering) return;
    record.answering = true;
    record.mediaError = null;
    stopStream(record.pendingAudioOnly);
    record.pendingAudioOnly = null;
    this.#publish();
    const [rtc, media] = await Promise.all([this.#rtc(), acquireCallMedia(this.#media, record.kind, this.#choice)]);
    record.answering = false;
    record.rtc = rtc;
    if (record.session !== session || session.state !== 'ringing') {
      // The caller gave up (or another device answered) while the browser was asking.
      stopStream(media.ok ? media.stream : media.audioOnly);
      this.#publish();
      return;
    }
    if (media.ok) {
      this.#acceptWith(record, session, media.stream);
    } else if (media.audioOnly) {
      this.#offerAudioOnly(record, media.audioOnly, media.message);
    } else {
      this.#log.warn(`No media to answer with: ${media.message}`);
      record.endDetail = media.message;
      session.reject('media_failed');
    }
  }

  /** A video call whose camera failed goes on with the microphone alone. */
  continueAudioOnly(): void {
    const record = this.#active;
    const stream = record?.pendingAudioOnly;
    if (!record || !stream) return;
    record.pendingAudioOnly = null;
    record.mediaError = null;
    if (!record.session) {
      this.#place(record, stream, 'audio');
    } else if (record.session.state === 'ringing') {
      this.#acceptWith(record, record.session, stream);
    } else {
      stopStream(stream);
      this.#publish();
    }
  }

  /** Callee: decline the ringing call (on every device of mine). */
  decline(): void {
    const record = this.#active;
    const session = record?.session;
    if (!record || !session || record.direction !== 'incoming' || session.state !== 'ringing') return;
    session.reject('declined');
  }

  /** Ends the call from this side, whatever its phase: cancel, decline or hang up. */
  hangup(): void {
    const record = this.#active;
    if (!record || record.end) return;
    if (record.session) {
      // The summary leaves before the hang up, so the server has it when it writes the history entry.
      this.#reportQuality(record, true);
      record.session.hangup();
      return;
    }
    // Still preparing: nothing was sent, so nothing to tell anyone.
    stopStream(record.pendingAudioOnly);
    record.pendingAudioOnly = null;
    this.#close(record);
    this.#releaseHeldInvite(record);
  }

  /** Closes an ended call's view before its reason times out. */
  dismiss(): void {
    const record = this.#active;
    if (record?.end) this.#close(record);
  }

  toggleMute(): void {
    const record = this.#active;
    if (!record || record.end) return;
    record.muted = !record.muted;
    this.#applyMute(record);
    this.#log.info(record.muted ? 'Microphone muted' : 'Microphone unmuted');
    this.#publish();
  }

  /**
   * Turns the camera off (the track is stopped: the camera light goes out) or on. On an audio call
   * turning it on makes it a video call: the engine adds the track and renegotiates.
   */
  toggleCamera(): Promise<void> {
    return this.#queueMedia(async () => {
      const record = this.#active;
      const session = record?.session;
      const stream = record?.localStream;
      if (!record || !session || !stream || record.end || !isLive(session)) return;
      const current = tracksOf(stream, 'video');
      record.notice = null;
      if (current.length > 0) {
        for (const track of current) this.#dropLocalTrack(record, session, stream, track);
        this.#log.info('Camera turned off');
        this.#publish();
        return;
      }
      record.cameraBusy = true;
      this.#publish();
      const result = await acquireTrack(this.#media, 'video', this.#choice);
      record.cameraBusy = false;
      if (!result.ok) {
        record.notice = result.message;
      } else if (record.session !== session || record.end || !isLive(session)) {
        result.track.stop();
      } else {
        this.#addLocalTrack(record, session, stream, result.track);
        record.video = true;
        this.#log.info(record.kind === 'audio' ? 'Camera turned on: the call becomes a video call' : 'Camera turned on');
        this.refreshDevices();
      }
      this.#publish();
    });
  }

  selectMicrophone(deviceId: string): Promise<void> {
    this.#choice.microphoneId = deviceId || null;
    this.#publish();
    return this.#queueMedia(() => this.#switchDevice('audio'));
  }

  selectCamera(deviceId: string): Promise<void> {
    this.#choice.cameraId = deviceId || null;
    this.#publish();
    return this.#queueMedia(() => this.#switchDevice('video'));
  }

  /** Lists microphones and cameras again (labels appear once a permission was granted). */
  refreshDevices(): void {
    this.#media.enumerateDevices().then(
      (infos) => {
        this.#devices = listDevices(infos);
        this.#publish();
      },
      (error: unknown) => this.#log.warn('enumerateDevices failed', error),
    );
  }

  // ---- server events ----

  #resume(): void {
    const session = this.#active?.session;
    if (session && !this.#active?.end && isLive(session)) {
      this.#log.info('Connection to the server is back: resuming the call');
      session.resume();
    }
    // What the engine said while the socket was down goes after call.resume: a server that
    // restarted must rebuild the call before it can relay anything for it.
    const pending = this.#pendingSignals.splice(0);
    for (const p of pending) this.#send(p.record, p.session, p.signal);
  }

  #onServerEvent(type: CallServerEventName, raw: unknown): void {
    const parsed = CALL_SERVER_SCHEMAS[type].safeParse(raw);
    if (!parsed.success) {
      this.#log.warn(`${type} with an invalid payload: dropped (${parsed.error.issues[0]?.message ?? 'invalid'})`);
      return;
    }
    const signal = { type, payload: parsed.data } as IncomingCallSignal;
    const callId = signal.payload.callId;
    const session = this.#sessions.get(callId);
    if (session) {
      session.handleSignal(signal);
      return;
    }
    if (signal.type === 'call.invite') {
      this.#onInvite(signal.payload);
      return;
    }
    const held = this.#active?.heldInvite;
    if (held?.callId === callId && (signal.type === 'call.cancel' || signal.type === 'call.ended' || signal.type === 'call.reject')) {
      this.#log.info(`${signal.type} for the held call ${callId.slice(0, 8)}: forgotten`);
      this.#active!.heldInvite = null;
      return;
    }
    this.#log.debug(`${type} for call ${callId.slice(0, 8)}, which this device does not have: ignored`);
  }

  #onInvite(invite: CallInviteEvent): void {
    const active = this.#active;
    if (active && !active.end) {
      // Glare: the person I am calling calls me. The server merges the two calls and tells me in my
      // invite's ack; until then this invite waits instead of being declined as busy.
      const samePerson = active.direction === 'outgoing' && active.peer.id === invite.fromUserId;
      const unanswered = active.session === null || active.inviteAckPending;
      if (samePerson && unanswered && !active.heldInvite) {
        this.#log.info(`Invite ${invite.callId.slice(0, 8)} from the person being called: held until our own invite is answered`);
        active.heldInvite = invite;
        return;
      }
      this.#rejectBusy(invite);
      return;
    }
    const known = this.#resolvePeer(invite.fromUserId);
    const peer: CallPeer = { id: invite.fromUserId, name: invite.fromName || known?.name || 'Someone', seed: known?.seed ?? invite.fromUserId };
    const record = this.#newRecord('incoming', peer, invite.kind);
    this.#activate(record);
    const session = this.#createSession(record, invite.callId);
    // The engine rings: it sends call.ringing and arms its own ring timeout.
    session.handleSignal({ type: 'call.invite', payload: invite });
    this.refreshDevices();
  }

  /** Already in a call: decline this one as busy, without ever ringing or telling the caller it rang. */
  #rejectBusy(invite: CallInviteEvent): void {
    this.#log.info(`Invite ${invite.callId.slice(0, 8)} from ${invite.fromName} while in a call: busy`);
    const session = this.#newSession(this.#pcFactory);
    this.#sessions.set(invite.callId, session);
    session.on('signal', (signal) => {
      if (signal.type !== 'call.ringing') this.#send(null, session, signal);
    });
    session.on('ended', () => this.#sessions.delete(invite.callId));
    session.handleSignal({ type: 'call.invite', payload: invite });
    session.reject('busy');
  }

  // ---- signals to the server ----

  #send(record: ActiveCall | null, session: BrowserCallSession, signal: OutgoingCallSignal): void {
    if (!this.#socket.connected) {
      // socket.io would buffer it and send it on reconnect ahead of call.resume. A measurement
      // is stale by then anyway; anything else waits for #resume.
      if (signal.type !== 'call.stats') this.#pendingSignals.push({ record, session, signal });
      return;
    }
    this.#socket.emit(signal.type, signal.payload, (res) => {
      const ack = readAck(res);
      if (signal.type === 'call.invite' && record) {
        this.#onInviteAck(record, session, ack);
      } else if (!ack.ok) {
        session.handleSignalError(signal.type, ack.code);
      }
    });
  }

  #onInviteAck(record: ActiveCall, session: BrowserCallSession, ack: AckResult): void {
    record.inviteAckPending = false;
    const held = record.heldInvite;
    record.heldInvite = null;
    if (!ack.ok) {
      if (ack.code === 'conflict' && !record.end) record.endDetail = 'You are already in a call on another device.';
      session.handleSignalError('call.invite', ack.code);
      if (held) this.#onInvite(held);
      return;
    }
    if (ack.merged !== undefined) {
      const merged = CallInviteEvent.safeParse(ack.merged);
      if (merged.success) {
        this.#merge(record, session, merged.data);
        return;
      }
      this.#log.warn('invite ack with an unreadable merged call: ignored');
    }
    // Our call is on; the held invite can only be declined now.
    if (held) this.#rejectBusy(held);
  }

  /**
   * Invite glare: the person I called was calling me, and the server answered their call on this
   * device instead of placing mine. Drop mine without a word (discard) and continue as the callee
   * of theirs, with the camera and microphone already running.
   */
  #merge(record: ActiveCall, outgoing: BrowserCallSession, merged: CallInviteEvent): void {
    const stream = record.localStream;
    if (this.#active !== record || record.end || outgoing.state === 'ended' || !stream) {
      this.#hangUpMerged(merged);
      return;
    }
    this.#log.info(`Invite glare: the server answered call ${merged.callId.slice(0, 8)} on this device; continuing as its callee`);
    if (outgoing.callId) this.#sessions.delete(outgoing.callId);
    record.direction = 'incoming';
    record.kind = merged.kind;
    record.video ||= merged.kind === 'video';
    record.peer = { ...record.peer, name: merged.fromName || record.peer.name };
    // The new session becomes the record's before the old one ends, so that end is not shown.
    const session = this.#createSession(record, merged.callId);
    outgoing.discard();
    session.handleSignal({ type: 'call.invite', payload: merged });
    session.accept(stream);
  }

  /** The server merged us into a call after we had already hung up: answer and hang up at once. */
  #hangUpMerged(merged: CallInviteEvent): void {
    this.#log.info(`Call ${merged.callId.slice(0, 8)} was merged after we hung up: hanging it up`);
    const session = this.#newSession(this.#pcFactory);
    this.#sessions.set(merged.callId, session);
    session.on('signal', (signal) => this.#send(null, session, signal));
    session.on('ended', () => this.#sessions.delete(merged.callId));
    session.handleSignal({ type: 'call.invite', payload: merged });
    session.accept(this.#media.createStream([]));
    session.hangup();
  }

  // ---- sessions ----

  #newSession(factory: PeerConnectionFactory<MediaStreamTrack, MediaStream>, record?: ActiveCall): BrowserCallSession {
    return new CallSession<MediaStreamTrack, MediaStream>({
      deviceId: this.#deviceId,
      peerConnectionFactory: factory,
      rtcConfiguration: toPeerConfiguration(record?.rtc ?? this.#lastRtc),
      // Fresh ICE servers (TURN credentials expire) before every ICE restart.
      refreshConfiguration: async () => {
        const rtc = await this.#rtc();
        if (record) record.rtc = rtc;
        return toPeerConfiguration(rtc);
      },
      logger: this.#log,
      ...(this.#clock ? { clock: this.#clock } : {}),
      ...(this.#timeouts ? { timeouts: this.#timeouts } : {}),
    });
  }

  #createSession(record: ActiveCall, callId: string): BrowserCallSession {
    const session = this.#newSession(this.#factoryFor(record), record);
    record.session = session;
    record.callId = callId;
    this.#sessions.set(callId, session);
    const mine = () => record.session === session;
    session.on('signal', (signal) => this.#send(record, session, signal));
    session.on('state', (state) => {
      // `ended` is reported by the `ended` event that follows at once, with its reason.
      if (!mine() || state === 'ended') return;
      if (state === 'connecting') record.answered = true;
      if (state === 'connected') this.#startStats(record);
      this.#readTransport(record);
      this.#publish();
    });
    session.on('remoteRinging', () => {
      if (mine()) this.#publish();
    });
    session.on('track', (track, streams) => {
      if (mine()) this.#onRemoteTrack(record, track, streams);
    });
    session.on('ended', (end) => {
      if (this.#sessions.get(callId) === session) this.#sessions.delete(callId);
      if (!mine()) return;
      if (end.diagnosis) {
        record.diagnosis = diagnosisCode(end.diagnosis, record.rtc.iceServers);
        record.endDetail ??= DIAGNOSIS_DETAIL[record.diagnosis];
      }
      this.#finish(record, end.reason, end.by);
    });
    return session;
  }

  /**
   * The browser's peer connection, watched for its ICE and connection states (the status line).
   * The engine uses the `on…` handlers; listeners added here do not disturb them. A callee's
   * session was made when the call rang; the ICE servers fetched when it answered win.
   */
  #factoryFor(record: ActiveCall): PeerConnectionFactory<MediaStreamTrack, MediaStream> {
    return (configuration) => {
      const pc = this.#pcFactory({ ...configuration, ...toPeerConfiguration(record.rtc) });
      record.pc = pc;
      const update = () => {
        if (record.pc !== pc || record.end) return;
        this.#readTransport(record);
        this.#publish();
      };
      record.cleanups.push(listen(pc, 'iceconnectionstatechange', update), listen(pc, 'connectionstatechange', update));
      this.#readTransport(record);
      return pc;
    };
  }

  // ---- call quality ----

  /** Reads getStats() every statsIntervalMs from the first `connected` to the end of the call. */
  #startStats(record: ActiveCall): void {
    if (record.statsRunning || record.end) return;
    record.statsRunning = true;
    const clock = this.#clock ?? systemClock;
    const tick = async () => {
      record.statsTimer = null;
      if (record.end) return;
      const report = await statsOf(record.pc).catch((error: unknown) => {
        this.#log.debug('getStats failed', error);
        return null;
      });
      if (record.end) return;
      if (report) {
        const before = { details: record.meter.details, warning: record.meter.warning };
        record.meter.add(readSample(report, clock.now()));
        this.#reportQuality(record, false);
        if (record.meter.warning !== before.warning) {
          this.#log.info(record.meter.warning ? poorConnectionText(record.meter.warning) : 'Connection quality is back to normal');
        }
        if (this.#active === record && (record.meter.details !== before.details || record.meter.warning !== before.warning)) this.#publish();
      }
      record.statsTimer = clock.setTimeout(() => void tick(), this.#statsIntervalMs);
    };
    void tick();
  }

  #stopStats(record: ActiveCall): void {
    if (record.statsTimer !== null) (this.#clock ?? systemClock).clearTimeout(record.statsTimer);
    record.statsTimer = null;
  }

  /**
   * Sends the call's quality summary (kept in its history entry): every qualityReportMs while
   * connected, and `now` right before this side hangs up. The last reading is used as it is: a
   * hang up never waits for getStats().
   */
  #reportQuality(record: ActiveCall, now: boolean): void {
    const session = record.session;
    if (!session || record.end) return;
    if (session.state !== 'connected' && !(now && session.state === 'reconnecting')) return;
    const at = (this.#clock ?? systemClock).now();
    if (!now && record.reportedAt !== null && at - record.reportedAt < this.#qualityReportMs) return;
    const summary = record.meter.summary();
    if (!summary) return;
    record.reportedAt = at;
    session.reportQuality(summary);
  }

  #readTransport(record: ActiveCall): void {
    if (!record.pc) return;
    record.ice = record.pc.iceConnectionState;
    record.connection = record.pc.connectionState;
  }

  /** Caller: media in hand, send the invite (or take the call that the same person placed meanwhile). */
  #place(record: ActiveCall, stream: MediaStream, kind: CallKind): void {
    record.localStream = stream;
    record.kind = kind;
    record.video = kind === 'video';
    record.mediaError = null;
    this.#watchLocalStream(record, stream);
    this.#applyMute(record);
    const held = record.heldInvite;
    if (held) {
      // They called while we were still getting the camera: take their call instead of placing ours.
      record.heldInvite = null;
      this.#log.info(`Taking call ${held.callId.slice(0, 8)} from the person we were about to call`);
      record.direction = 'incoming';
      record.kind = held.kind;
      record.video ||= held.kind === 'video';
      const session = this.#createSession(record, held.callId);
      session.handleSignal({ type: 'call.invite', payload: held });
      session.accept(stream);
      this.refreshDevices();
      return;
    }
    const callId = randomId();
    const session = this.#createSession(record, callId);
    record.inviteAckPending = true;
    session.start({ toUserId: record.peer.id, kind, localStream: stream, callId });
    this.refreshDevices();
  }

  #acceptWith(record: ActiveCall, session: BrowserCallSession, stream: MediaStream): void {
    record.localStream = stream;
    this.#watchLocalStream(record, stream);
    this.#applyMute(record);
    session.accept(stream);
    this.refreshDevices();
  }

  // ---- media ----

  #applyMute(record: ActiveCall): void {
    for (const track of tracksOf(record.localStream, 'audio')) track.enabled = !record.muted;
  }

  #watchLocalStream(record: ActiveCall, stream: MediaStream): void {
    for (const track of stream.getTracks()) this.#watchLocalTrack(record, track);
  }

  #watchLocalTrack(record: ActiveCall, track: MediaStreamTrack): void {
    // `ended` fires only when the browser ends the track (device unplugged, permission revoked), not on stop().
    record.cleanups.push(listen(track, 'ended', () => this.#onLocalTrackEnded(record, track)));
  }

  #onLocalTrackEnded(record: ActiveCall, track: MediaStreamTrack): void {
    const session = record.session;
    const stream = record.localStream;
    if (this.#active !== record || record.end || !session || !stream || !isLive(session)) return;
    this.#log.warn(`The local ${track.kind} track ended (device unplugged or access revoked)`);
    this.#dropLocalTrack(record, session, stream, track);
    if (stream.getTracks().length === 0) {
      record.endDetail = track.kind === 'audio' ? 'The microphone stopped working' : 'The camera stopped working';
      this.#reportQuality(record, true);
      session.hangup('media_failed');
      return;
    }
    record.notice = track.kind === 'audio' ? 'The microphone stopped working' : 'The camera stopped working';
    this.#publish();
  }

  #addLocalTrack(record: ActiveCall, session: BrowserCallSession, stream: MediaStream, track: MediaStreamTrack): void {
    if (track.kind === 'audio') track.enabled = !record.muted;
    stream.addTrack(track);
    this.#watchLocalTrack(record, track);
    session.addTrack(track, stream);
  }

  #dropLocalTrack(_record: ActiveCall, session: BrowserCallSession, stream: MediaStream, track: MediaStreamTrack): void {
    session.removeTrack(track);
    stream.removeTrack(track);
    track.stop();
  }

  /**
   * Moves the running microphone or camera to the chosen device. The engine swaps the track in the
   * same sender (replaceTrack): no renegotiation, no gap beyond the device's own start-up.
   */
  async #switchDevice(kind: 'audio' | 'video'): Promise<void> {
    const record = this.#active;
    const session = record?.session;
    const stream = record?.localStream;
    if (!record || !session || !stream || record.end || !isLive(session)) return;
    const old = tracksOf(stream, kind)[0];
    const wanted = kind === 'audio' ? this.#choice.microphoneId : this.#choice.cameraId;
    // A camera that is off takes the choice the next time it is turned on.
    if (!old || wanted === null || deviceIdOf(old) === wanted) return;
    record.notice = null;
    if (kind === 'video') {
      // Phones cannot open a second camera while one runs: let go of the old one first.
      old.stop();
      record.cameraBusy = true;
    }
    this.#publish();
    const result = await acquireTrack(this.#media, kind, this.#choice);
    record.cameraBusy = false;
    if (!result.ok) {
      record.notice = result.message;
      if (kind === 'video' && record.session === session && isLive(session)) this.#dropLocalTrack(record, session, stream, old);
    } else if (record.session !== session || record.end || !isLive(session)) {
      result.track.stop();
    } else {
      if (result.track.kind === 'audio') result.track.enabled = !record.muted;
      await session.replaceTrack(old, result.track, stream);
      stream.removeTrack(old);
      old.stop();
      stream.addTrack(result.track);
      this.#watchLocalTrack(record, result.track);
      this.#log.info(`Switched the ${kind === 'audio' ? 'microphone' : 'camera'}`);
    }
    this.#publish();
  }

  #queueMedia(operation: () => Promise<void>): Promise<void> {
    const run = this.#mediaChain.then(operation, operation);
    this.#mediaChain = run.catch((error: unknown) => this.#log.error('changing the camera or microphone failed', error));
    return this.#mediaChain;
  }

  #onRemoteTrack(record: ActiveCall, track: MediaStreamTrack, streams: readonly MediaStream[]): void {
    const update = () => {
      if (record.end) return;
      this.#updateRemoteVideo(record);
      this.#publish();
    };
    let display = record.remoteStream;
    if (!display) {
      display = streams[0] ?? this.#media.createStream([]);
      record.remoteStream = display;
      record.cleanups.push(listen(display, 'addtrack', update), listen(display, 'removetrack', update));
    }
    // A track of another stream (or of none) joins the one on screen.
    if (!display.getTracks().includes(track)) display.addTrack(track);
    record.cleanups.push(listen(track, 'mute', update), listen(track, 'unmute', update), listen(track, 'ended', update));
    update();
  }

  #updateRemoteVideo(record: ActiveCall): void {
    const video = tracksOf(record.remoteStream, 'video');
    if (video.length > 0) record.video = true;
    // Browsers report a remote track muted until its first frames arrive, and after the peer removed it.
    record.remoteVideo = video.some((t) => t.readyState !== 'ended' && !t.muted);
  }

  async #rtc(): Promise<RTCConfiguration> {
    try {
      this.#lastRtc = await this.#rtcConfiguration();
    } catch (error) {
      this.#log.warn('could not get the ICE servers; using the last ones known', error);
    }
    return this.#lastRtc;
  }

  // ---- the record and the snapshot ----

  #inCall(): boolean {
    return this.#active !== null && this.#active.end === null;
  }

  #newRecord(direction: ActiveCall['direction'], peer: CallPeer, kind: CallKind): ActiveCall {
    return {
      key: this.#nextKey++,
      direction,
      peer,
      kind,
      video: kind === 'video',
      session: null,
      callId: null,
      rtc: this.#lastRtc,
      pc: null,
      ice: 'new',
      connection: 'new',
      answered: false,
      localStream: null,
      pendingAudioOnly: null,
      heldInvite: null,
      inviteAckPending: false,
      answering: false,
      cameraBusy: false,
      muted: false,
      remoteStream: null,
      remoteVideo: false,
      mediaError: null,
      notice: null,
      meter: new QualityMeter(),
      statsRunning: false,
      statsTimer: null,
      reportedAt: null,
      endDetail: null,
      diagnosis: null,
      end: null,
      endTimer: null,
      cleanups: [],
    };
  }

  /** Puts a new call on screen, replacing an ended one still showing its reason. */
  #activate(record: ActiveCall): void {
    const previous = this.#active;
    if (previous?.endTimer) clearTimeout(previous.endTimer);
    this.#active = record;
    this.#publish();
  }

  /** The call ended: release its media, show why for a few seconds, then close. */
  #finish(record: ActiveCall, reason: EndReason, by: 'local' | 'remote'): void {
    if (record.end) return;
    this.#stopStats(record);
    for (const cleanup of record.cleanups.splice(0)) cleanup();
    // The engine stops the tracks it was given; these may include tracks it never saw.
    stopStream(record.localStream);
    stopStream(record.pendingAudioOnly);
    record.pendingAudioOnly = null;
    record.answering = false;
    record.cameraBusy = false;
    record.mediaError = null;
    const context = { direction: record.direction, peerName: record.peer.name, diagnosis: record.diagnosis };
    record.end = { reason, by, text: endText(reason, context), detail: record.endDetail };
    this.#log.info(`${record.end.text}${record.end.detail ? ` (${record.end.detail})` : ''}`);
    if (this.#active === record) {
      // Declining here needs no news on this device; the caller and my other devices are told.
      const declinedHere = reason === 'declined' && by === 'local' && record.direction === 'incoming';
      if (closesAtOnce(reason) || declinedHere) {
        this.#active = null;
      } else {
        record.endTimer = setTimeout(() => {
          if (this.#active === record) this.#close(record);
        }, this.#endDisplayMs);
      }
    }
    this.#publish();
    this.#releaseHeldInvite(record);
  }

  #close(record: ActiveCall): void {
    this.#stopStats(record);
    if (record.endTimer) clearTimeout(record.endTimer);
    record.endTimer = null;
    for (const cleanup of record.cleanups.splice(0)) cleanup();
    if (this.#active === record) this.#active = null;
    this.#publish();
  }

  /** A call that was held for glare and never merged: it may ring now. */
  #releaseHeldInvite(record: ActiveCall): void {
    const held = record.heldInvite;
    record.heldInvite = null;
    if (held) this.#onInvite(held);
  }

  #publish(): void {
    const record = this.#active;
    const call = record ? this.#view(record) : null;
    const localStream = record && !record.end ? record.localStream : null;
    this.#snapshot = {
      call,
      microphones: {
        options: this.#devices.microphones,
        selected: selectedDevice(this.#devices.microphones, this.#choice.microphoneId, deviceIdOf(tracksOf(localStream, 'audio')[0])),
      },
      cameras: {
        options: this.#devices.cameras,
        selected: selectedDevice(this.#devices.cameras, this.#choice.cameraId, deviceIdOf(tracksOf(localStream, 'video')[0])),
      },
    };
    this.#tones.play(call ? toneFor(call) : null);
    for (const listener of this.#listeners) listener();
  }

  #view(r: ActiveCall): CallView {
    const session = r.session;
    const phase: CallPhase = r.end ? 'ended' : !session || session.state === 'idle' ? 'preparing' : session.state;
    return {
      key: r.key,
      callId: r.callId,
      direction: r.direction,
      peer: r.peer,
      kind: r.kind,
      video: r.video,
      phase,
      answered: r.answered,
      remoteRinging: session?.remoteRinging ?? false,
      ice: r.ice,
      connection: r.connection,
      connectedAt: session?.connectedAt ?? null,
      localStream: r.localStream,
      cameraOn: tracksOf(r.localStream, 'video').some((t) => t.readyState !== 'ended'),
      cameraBusy: r.cameraBusy,
      remoteStream: r.remoteStream,
      remoteVideo: r.remoteVideo,
      muted: r.muted,
      answering: r.answering,
      mediaError: r.mediaError,
      notice: r.notice,
      details: r.end ? null : r.meter.details,
      qualityWarning: r.end || !r.meter.warning ? null : poorConnectionText(r.meter.warning),
      end: r.end,
    };
  }
}

function toneFor(call: CallView): Tone | null {
  if (call.direction === 'incoming' && call.phase === 'ringing' && !call.answering && !call.mediaError) return 'ringtone';
  if (call.direction === 'outgoing' && call.phase === 'outgoing' && call.remoteRinging) return 'ringback';
  return null;
}

/** The part of an RTCConfiguration the engine takes. */
function toPeerConfiguration(rtc: RTCConfiguration): PeerConfiguration {
  const configuration: PeerConfiguration = {};
  if (rtc.iceServers) {
    configuration.iceServers = rtc.iceServers.map((s) => ({
      urls: s.urls,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    }));
  }
  if (rtc.iceTransportPolicy) configuration.iceTransportPolicy = rtc.iceTransportPolicy;
  return configuration;
}

/** The peer connection's stats, where it has getStats() (browsers; not the unit tests' fake unless given one). */
async function statsOf(pc: unknown): Promise<StatsReportLike | null> {
  const withStats = pc as { getStats?: () => Promise<StatsReportLike> } | null;
  if (typeof withStats?.getStats !== 'function') return null;
  return withStats.getStats();
}

function isLive(session: BrowserCallSession): boolean {
  return session.state !== 'ended' && session.state !== 'idle';
}

/** A socket ack: `{ ok: true, …data }` or `{ ok: false, error }`; anything else counts as an internal failure. */
function readAck(res: unknown): AckResult {
  if (typeof res === 'object' && res !== null && (res as { ok?: unknown }).ok === true) {
    return { ok: true, merged: (res as { merged?: unknown }).merged };
  }
  const error = ApiError.safeParse(res);
  return { ok: false, code: error.success ? error.data.error.code : 'internal' };
}
