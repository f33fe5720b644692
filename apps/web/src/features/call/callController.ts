import {
  browserPeerConnectionFactory,
  CallAgent,
  isCallError,
  prefixLogger,
  systemClock,
  type AgentCall,
  type CallEnd,
  type CallTimeouts,
  type Clock,
  type Logger,
  type PeerConfiguration,
  type PeerConnectionFactory,
  type SignalChannel,
  type WatchdogOptions,
} from '@parley/call';
import type { CallKind } from '@parley/protocol';
import { browserCallLogger } from './callLog.ts';
import type { ActiveCall, CallPeer, CallSnapshot, CallView, DevicePicker } from './callView.ts';
import { listDevices, selectedDevice, type DeviceLists, type DeviceOption } from './devices.ts';
import { closesAtOnce, DIAGNOSIS_DETAIL, END_DISPLAY_MS, endText } from './endReasons.ts';
import { LocalMedia } from './localMedia.ts';
import { acquireCallMedia, audioConstraints, describeMediaError, deviceIdOf, listen, stopStream, tracksOf, type DeviceChoice, type MediaAccess } from './media.ts';
import { oneWayText, poorConnectionText } from './quality.ts';
import { getRtcConfiguration } from './rtcConfig.ts';
import { silentTones, type Tone, type TonePlayer } from './tones.ts';

export type { CallEndView, CallPeer, CallPhase, CallSnapshot, CallView, DevicePicker } from './callView.ts';

type Call = AgentCall<MediaStreamTrack, MediaStream>;

export interface CallControllerOptions {
  /** The app's socket as the agent's signal channel (callSocketOf). */
  socket: SignalChannel;
  /** This page load's device id (lib/realtime.ts DEVICE_ID). */
  deviceId: string;
  media: MediaAccess;
  /** The person or their display details for an incoming call, from what the app already knows. */
  resolvePeer?: (userId: string) => Omit<CallPeer, 'id'> | undefined;
  tones?: TonePlayer;
  peerConnectionFactory?: PeerConnectionFactory<MediaStreamTrack, MediaStream>;
  /** The ICE servers, fetched for every call and before every ICE restart. */
  rtcConfiguration?: () => Promise<PeerConfiguration>;
  /** Defaults to the console without debug lines (browserCallLogger); every line is prefixed `[Call]`. */
  logger?: Logger;
  clock?: Clock;
  timeouts?: Partial<CallTimeouts>;
  endDisplayMs?: number;
  /** How often a connected call reads getStats() (call details, warnings, the media watchdog). Default 1 s. */
  statsIntervalMs?: number;
  /** How often a connected call reports its quality summary for the history entry. Default 10 s. */
  qualityReportMs?: number;
  /** The media watchdog's thresholds (tests shorten them). */
  watchdog?: Partial<WatchdogOptions>;
  /** From the first remote frames to raising the camera to its full size (localMedia.ts FULL_VIDEO_AFTER_MS). */
  fullVideoAfterMs?: number;
  /**
   * Connect calls while they ring (decision 020; the server may still refuse it: CALL_PRECONNECT).
   * Default true: ICE and DTLS are up by the Answer click, and no media leaves before it.
   */
  preconnect?: boolean;
  /**
   * Show this device's camera while a video call rings (LocalMedia.preview()). Default: the
   * person's last choice on this device (localStorage `parley:ringPreview`), else on.
   */
  ringPreview?: boolean;
  /** The page is on screen: a preview starts only then. Default `document.visibilityState === 'visible'`. */
  pageVisible?: () => boolean;
}

const RING_PREVIEW_KEY = 'parley:ringPreview';

function storedRingPreview(): boolean {
  try {
    return globalThis.localStorage?.getItem(RING_PREVIEW_KEY) !== 'off';
  } catch {
    return true;
  }
}

/**
 * The web app's calls. The call agent (@parley/call) decides everything about them — invites,
 * busy, glare, resume, ICE servers, quality, the media watchdog; this adapter gives it the app's
 * socket and a peer-connection factory, gets camera and microphone, plays tones, and keeps a
 * snapshot for React (subscribe/getSnapshot, for useSyncExternalStore). Nothing here imports React.
 */
export class CallController {
  readonly #agent: CallAgent<MediaStreamTrack, MediaStream>;
  readonly #media: MediaAccess;
  readonly #local: LocalMedia;
  readonly #resolvePeer: NonNullable<CallControllerOptions['resolvePeer']>;
  readonly #tones: TonePlayer;
  readonly #log: Logger;
  readonly #endDisplayMs: number;
  #ringPreview: boolean;
  readonly #pageVisible: () => boolean;
  readonly #listeners = new Set<() => void>();
  readonly #choice: DeviceChoice = { microphoneId: null, cameraId: null };
  #offs: (() => void)[] = [];
  #active: ActiveCall | null = null;
  #nextKey = 1;
  #devices: DeviceLists = { microphones: [], cameras: [] };
  #snapshot: CallSnapshot = { call: null, microphones: { options: [], selected: null }, cameras: { options: [], selected: null }, ringPreview: true };

  constructor(options: CallControllerOptions) {
    this.#media = options.media;
    this.#resolvePeer = options.resolvePeer ?? (() => undefined);
    this.#tones = options.tones ?? silentTones;
    this.#log = prefixLogger(options.logger ?? browserCallLogger(), '[Call]');
    this.#endDisplayMs = options.endDisplayMs ?? END_DISPLAY_MS;
    this.#ringPreview = options.ringPreview ?? storedRingPreview();
    this.#pageVisible = options.pageVisible ?? (() => typeof document === 'undefined' || document.visibilityState === 'visible');
    this.#agent = new CallAgent<MediaStreamTrack, MediaStream>({
      deviceId: options.deviceId,
      channel: options.socket,
      peerConnectionFactory: options.peerConnectionFactory ?? browserPeerConnectionFactory,
      iceServers: options.rtcConfiguration ?? getRtcConfiguration,
      logger: this.#log,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      ...(options.statsIntervalMs !== undefined ? { statsIntervalMs: options.statsIntervalMs } : {}),
      ...(options.qualityReportMs !== undefined ? { qualityReportMs: options.qualityReportMs } : {}),
      ...(options.watchdog ? { watchdog: options.watchdog } : {}),
      preconnect: options.preconnect ?? true,
    });
    this.#local = new LocalMedia({
      media: this.#media,
      choice: this.#choice,
      log: this.#log,
      active: () => this.#active,
      publish: () => this.#publish(),
      refreshDevices: () => this.refreshDevices(),
      clock: options.clock ?? systemClock,
      ...(options.fullVideoAfterMs !== undefined ? { fullVideoAfterMs: options.fullVideoAfterMs } : {}),
    });
  }

  // ---- for React ----

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getSnapshot = (): CallSnapshot => this.#snapshot;

  // ---- lifecycle ----

  /** Listens for calls. Safe to call again after stop() (React runs effects twice in development). */
  start(): void {
    if (this.#agent.running) return;
    this.#agent.start();
    this.#offs.push(this.#agent.on('incoming', (call) => this.#onIncoming(call)));
    this.#offs.push(this.#media.onDeviceChange(() => this.refreshDevices()));
    this.refreshDevices();
  }

  /** Stops listening and ends whatever call is going on (sign-out, page teardown). */
  stop(): void {
    if (!this.#agent.running) return;
    for (const off of this.#offs.splice(0)) off();
    if (this.#active && !this.#active.end) this.hangup();
    this.#agent.stop();
    if (this.#active?.endTimer) clearTimeout(this.#active.endTimer);
    this.#active = null;
    this.#tones.play(null);
    this.#publish();
  }

  // ---- what the UI asks for ----

  /** Calls `peer`. Gets camera and microphone first; without them no call is placed. */
  async startCall(peer: CallPeer, kind: CallKind): Promise<void> {
    if (!this.#agent.running || this.#agent.busy) return;
    const record = this.#track(this.#agent.dial(peer.id, kind), peer);
    const media = await acquireCallMedia(this.#media, kind, this.#choice);
    if (this.#active !== record || record.end) {
      // Hung up while the browser was asking for permission.
      stopStream(media.ok ? media.stream : media.audioOnly);
      return;
    }
    if (media.ok) {
      await this.#place(record, media.stream, kind);
    } else if (media.audioOnly) {
      this.#offerAudioOnly(record, media.audioOnly, media.message);
    } else {
      this.#log.warn(`No media for the call: ${media.message}; not calling`);
      record.endDetail = media.message;
      record.call.hangup('media_failed');
    }
  }

  /** Callee: answer the ringing call (the one with `callId`, when given) with camera (video calls) and microphone. */
  async answer(callId?: string): Promise<void> {
    const record = this.#active;
    if (!record || record.call.phase !== 'ringing' || record.answering) return;
    if (callId !== undefined && record.call.callId !== callId) return;
    record.answering = true;
    record.mediaError = null;
    stopStream(record.pendingAudioOnly);
    record.pendingAudioOnly = null;
    this.#publish();
    const preview = record.preview;
    record.preview = null;
    const camera = tracksOf(preview, 'video').find((t) => t.readyState === 'live');
    if (camera) {
      await this.#answerWithCamera(record, camera);
      return;
    }
    stopStream(preview);
    const media = await acquireCallMedia(this.#media, record.call.kind, this.#choice);
    record.answering = false;
    if (record.call.phase !== 'ringing') {
      // The caller gave up (or another device answered) while the browser was asking.
      stopStream(media.ok ? media.stream : media.audioOnly);
      this.#publish();
      return;
    }
    if (media.ok) {
      await this.#acceptWith(record, media.stream);
    } else if (media.audioOnly) {
      this.#offerAudioOnly(record, media.audioOnly, media.message);
    } else {
      this.#log.warn(`No media to answer with: ${media.message}`);
      record.endDetail = media.message;
      record.call.reject('media_failed');
    }
  }

  /** A video call whose camera failed goes on with the microphone alone. */
  async continueAudioOnly(): Promise<void> {
    const record = this.#active;
    const stream = record?.pendingAudioOnly;
    if (!record || !stream) return;
    record.pendingAudioOnly = null;
    record.mediaError = null;
    if (record.call.phase === 'preparing') await this.#place(record, stream, 'audio');
    else if (record.call.phase === 'ringing') await this.#acceptWith(record, stream);
    else {
      stopStream(stream);
      this.#publish();
    }
  }

  /** Callee: decline the ringing call (on every device of mine). */
  decline(): void {
    this.#active?.call.reject('declined');
  }

  /** Ends the call from this side, whatever its phase: cancel, decline or hang up. */
  hangup(): void {
    const record = this.#active;
    if (!record || record.end) return;
    const preparing = record.call.phase === 'preparing';
    record.call.hangup();
    // Still preparing: nothing was sent, so nothing to tell anyone, not even this person.
    if (preparing) this.#close(record);
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
    this.#local.applyMute(record);
    this.#log.info(record.muted ? 'Microphone muted' : 'Microphone unmuted');
    this.#publish();
  }

  /** Turns the camera off (the track is stopped: the camera light goes out) or on (an audio call becomes a video call). */
  toggleCamera(): Promise<void> {
    return this.#local.toggleCamera();
  }

  selectMicrophone(deviceId: string): Promise<void> {
    this.#choice.microphoneId = deviceId || null;
    this.#publish();
    return this.#local.switchDevice('audio');
  }

  selectCamera(deviceId: string): Promise<void> {
    this.#choice.cameraId = deviceId || null;
    this.#publish();
    const record = this.#active;
    if (record?.preview) return this.#local.movePreview(record);
    return this.#local.switchDevice('video');
  }

  /** Whether this device shows its camera while a video call rings; remembered on this device. */
  get ringPreview(): boolean {
    return this.#ringPreview;
  }

  /** Turns the camera preview of ringing video calls on or off, for the call ringing now too. */
  setRingPreview(on: boolean): void {
    this.#ringPreview = on;
    try {
      globalThis.localStorage?.setItem(RING_PREVIEW_KEY, on ? 'on' : 'off');
    } catch {
      // Private mode without storage: the choice lasts for this page.
    }
    const record = this.#active;
    if (record && !on) this.#local.stopPreview(record);
    if (record && on) void this.#local.preview(record);
    this.#publish();
  }

  /** Lists microphones and cameras again (labels appear once a permission was granted). */
  refreshDevices(): void {
    this.#media.enumerateDevices().then(
      (infos) => {
        const next = listDevices(infos);
        // Asked again at every call step: an unchanged list is no news to the screen.
        if (sameOptions(next.microphones, this.#devices.microphones) && sameOptions(next.cameras, this.#devices.cameras)) return;
        this.#devices = next;
        this.#publish();
      },
      (error: unknown) => this.#log.warn('enumerateDevices failed', error),
    );
  }

  // ---- the agent's calls on screen ----

  #onIncoming(call: Call): void {
    const known = this.#resolvePeer(call.peerUserId);
    const peer: CallPeer = { id: call.peerUserId, name: call.peerName || known?.name || 'Someone', seed: known?.seed ?? call.peerUserId };
    const record = this.#track(call, peer);
    if (this.#ringPreview && this.#pageVisible()) void this.#local.preview(record);
    this.refreshDevices();
  }

  /** Puts a call on screen (replacing an ended one still showing its reason) and follows it. */
  #track(call: Call, peer: CallPeer): ActiveCall {
    const record: ActiveCall = {
      key: this.#nextKey++,
      call,
      peer,
      video: call.kind === 'video',
      localStream: null,
      preview: null,
      pendingAudioOnly: null,
      answering: false,
      cameraBusy: false,
      muted: false,
      remoteStream: null,
      remoteVideo: false,
      mediaError: null,
      notice: null,
      endDetail: null,
      end: null,
      endTimer: null,
      fullSize: 'waiting',
      cleanups: [],
    };
    const previous = this.#active;
    if (previous?.endTimer) clearTimeout(previous.endTimer);
    this.#active = record;
    call.on('update', () => {
      // A glare merge makes the call incoming: their name and kind now.
      if (call.direction === 'incoming' && call.peerName && call.peerName !== record.peer.name) record.peer = { ...record.peer, name: call.peerName };
      if (call.kind === 'video') record.video = true;
      this.#local.raiseWhenFlowing(record);
      if (this.#active === record) this.#publish();
    });
    call.on('track', (track, streams) => this.#onRemoteTrack(record, track, streams));
    call.on('ended', (end) => this.#finish(record, end));
    this.#publish();
    return record;
  }

  /** Caller: media in hand; the agent sends the invite (or takes a call the same person placed meanwhile). */
  async #place(record: ActiveCall, stream: MediaStream, kind: CallKind): Promise<void> {
    record.localStream = stream;
    record.video = kind === 'video';
    record.mediaError = null;
    this.#local.watchStream(record, stream);
    this.#local.applyMute(record);
    this.refreshDevices();
    try {
      await record.call.place(stream, kind);
    } catch (error) {
      if (!isCallError(error, 'invalid_state')) throw error;
    }
  }

  async #acceptWith(record: ActiveCall, stream: MediaStream): Promise<void> {
    record.localStream = stream;
    this.#local.watchStream(record, stream);
    this.#local.applyMute(record);
    this.refreshDevices();
    this.#publish();
    if (!(await record.call.accept(stream))) {
      stopStream(stream);
      this.#publish();
    }
  }

  /**
   * The camera of the preview runs already (LocalMedia.preview): answer with it at once, and the
   * microphone joins when the browser hands it over (both were allowed before, so that is only its
   * start-up; the caller's media is on its way meanwhile). A microphone that fails then ends the
   * call as `media_failed`, as an answer without one would have.
   */
  async #answerWithCamera(record: ActiveCall, camera: MediaStreamTrack): Promise<void> {
    const stream = this.#media.createStream([camera]);
    const microphone = this.#media.getUserMedia({ audio: audioConstraints(this.#choice) });
    record.answering = false;
    await this.#acceptWith(record, stream);
    let audio: MediaStream;
    try {
      audio = await microphone;
    } catch (error) {
      if (record.end || record.call.phase === 'ended') return;
      record.endDetail = describeMediaError(error, 'microphone');
      this.#log.warn(`No microphone for the answered call: ${record.endDetail}`);
      record.call.hangup('media_failed');
      return;
    }
    if (record.end || record.call.phase === 'ended' || record.localStream !== stream) {
      stopStream(audio);
      return;
    }
    for (const track of audio.getTracks()) {
      stream.addTrack(track);
      record.call.addTrack(track, stream);
    }
    this.#local.watchStream(record, audio);
    this.#local.applyMute(record);
    this.refreshDevices();
    this.#publish();
  }

  /** The camera failed but the microphone works: keep the audio and let the person choose. */
  #offerAudioOnly(record: ActiveCall, audioOnly: MediaStream, message: string): void {
    this.#log.warn(`Camera unavailable (${message}); offering audio only`);
    record.pendingAudioOnly = audioOnly;
    record.mediaError = { message, canContinueAudioOnly: true };
    this.#publish();
    this.refreshDevices();
  }

  #onRemoteTrack(record: ActiveCall, track: MediaStreamTrack, streams: readonly MediaStream[]): void {
    const update = () => {
      if (record.end) return;
      const video = tracksOf(record.remoteStream, 'video');
      if (video.length > 0) record.video = true;
      // Browsers report a remote track muted until its first frames arrive, and after the peer removed it.
      record.remoteVideo = video.some((t) => t.readyState !== 'ended' && !t.muted);
      this.#local.raiseWhenFlowing(record);
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

  /** The call ended: release its media, show why for a few seconds, then close. */
  #finish(record: ActiveCall, end: CallEnd): void {
    if (record.end) return;
    for (const cleanup of record.cleanups.splice(0)) cleanup();
    // The engine stops the tracks it was given; these may include tracks it never saw.
    stopStream(record.localStream);
    stopStream(record.pendingAudioOnly);
    record.pendingAudioOnly = null;
    record.answering = false;
    record.cameraBusy = false;
    record.mediaError = null;
    const diagnosis = end.diagnosis?.code ?? null;
    if (diagnosis) record.endDetail ??= DIAGNOSIS_DETAIL[diagnosis];
    if (end.refusal === 'conflict' && record.call.direction === 'outgoing') record.endDetail ??= 'You are already in a call on another device.';
    const context = { direction: record.call.direction, peerName: record.peer.name, diagnosis };
    record.end = { reason: end.reason, by: end.by, text: endText(end.reason, context), detail: record.endDetail };
    this.#log.info(`${record.end.text}${record.end.detail ? ` (${record.end.detail})` : ''}`);
    if (this.#active === record) {
      // Declining here needs no news on this device; the caller and my other devices are told.
      const declinedHere = end.reason === 'declined' && end.by === 'local' && record.call.direction === 'incoming';
      if (closesAtOnce(end.reason) || declinedHere) this.#active = null;
      else record.endTimer = setTimeout(() => this.#active === record && this.#close(record), this.#endDisplayMs);
    }
    this.#publish();
  }

  #close(record: ActiveCall): void {
    if (record.endTimer) clearTimeout(record.endTimer);
    record.endTimer = null;
    for (const cleanup of record.cleanups.splice(0)) cleanup();
    stopStream(record.pendingAudioOnly);
    record.pendingAudioOnly = null;
    if (this.#active === record) this.#active = null;
    this.#publish();
  }

  /**
   * A new snapshot for React, when something on screen changed. The engine reports every state and
   * transport change; parts that did not change keep their objects, so an update that changes
   * nothing visible renders nothing, and one that does re-renders only the parts it touched.
   */
  #publish(): void {
    const record = this.#active;
    const previous = this.#snapshot;
    const next = record ? this.#view(record) : null;
    const call = next && previous.call && shallowEqual(next, previous.call) ? previous.call : next;
    const localStream = record && !record.end ? record.localStream : null;
    const microphones = picker(
      previous.microphones,
      this.#devices.microphones,
      selectedDevice(this.#devices.microphones, this.#choice.microphoneId, deviceIdOf(tracksOf(localStream, 'audio')[0])),
    );
    const cameras = picker(
      previous.cameras,
      this.#devices.cameras,
      selectedDevice(this.#devices.cameras, this.#choice.cameraId, deviceIdOf(tracksOf(localStream ?? record?.preview ?? null, 'video')[0])),
    );
    this.#tones.play(call ? toneFor(call) : null);
    if (call === previous.call && microphones === previous.microphones && cameras === previous.cameras && previous.ringPreview === this.#ringPreview) return;
    this.#snapshot = { call, microphones, cameras, ringPreview: this.#ringPreview };
    for (const listener of this.#listeners) listener();
  }

  #view(r: ActiveCall): CallView {
    const c = r.call;
    const warning = r.end ? null : c.warning;
    const oneWay = r.end ? null : c.oneWay;
    return {
      key: r.key,
      callId: c.callId,
      direction: c.direction,
      peer: r.peer,
      kind: c.kind,
      video: r.video,
      phase: r.end ? 'ended' : c.phase,
      answered: c.answered,
      remoteRinging: c.remoteRinging,
      ice: c.iceConnectionState,
      connection: c.connectionState,
      connectedAt: c.connectedAt,
      localStream: r.localStream,
      preview: r.preview,
      cameraOn: tracksOf(r.localStream, 'video').some((t) => t.readyState !== 'ended'),
      cameraBusy: r.cameraBusy,
      remoteStream: r.remoteStream,
      remoteVideo: r.remoteVideo,
      muted: r.muted,
      answering: r.answering,
      mediaError: r.mediaError,
      notice: r.notice,
      details: r.end ? null : c.details,
      qualityWarning: warning ? poorConnectionText(warning) : null,
      oneWay: oneWay ? oneWayText(oneWay, r.peer.name, r.video) : null,
      end: r.end,
    };
  }
}

function toneFor(call: CallView): Tone | null {
  if (call.direction === 'incoming' && call.phase === 'ringing' && !call.answering && !call.mediaError) return 'ringtone';
  if (call.direction === 'outgoing' && call.phase === 'outgoing' && call.remoteRinging) return 'ringback';
  return null;
}

/** The previous picker when its options and selection are the same (its object then stays the same). */
function picker(previous: DevicePicker, options: readonly DeviceOption[], selected: string | null): DevicePicker {
  return previous.options === options && previous.selected === selected ? previous : { options, selected };
}

function sameOptions(a: readonly DeviceOption[], b: readonly DeviceOption[]): boolean {
  return a.length === b.length && a.every((o, i) => o.id === b[i]!.id && o.label === b[i]!.label);
}

/** Same keys with identical values (the view's nested objects are the engine's or this file's, replaced when they change). */
function shallowEqual<T extends object>(a: T, b: T): boolean {
  const keys = Object.keys(a) as (keyof T)[];
  return keys.length === Object.keys(b).length && keys.every((k) => Object.is(a[k], b[k]));
}
