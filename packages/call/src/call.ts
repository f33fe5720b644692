import type {
  CallClientEventName,
  CallClientPayloads,
  CallKind,
  CallQuality,
  CancelReason,
  CallServerEventName,
  CallServerPayloads,
  EndReason,
  ErrorCode,
  HangupReason,
  RejectReason,
} from '@parley/protocol';
import { TypedEmitter } from './emitter.ts';
import { CallError, describeError } from './errors.ts';
import { PeerTransport, type LinkState, type LocalDescription } from './peer.ts';
import { transition, type CallState, type CallTrigger } from './states.ts';
import {
  prefixLogger,
  systemClock,
  type Clock,
  type Logger,
  type PeerConfiguration,
  type PeerConnectionFactory,
  type StreamLike,
  type TrackLike,
} from './webrtc.ts';

/** A message for the server: `socket.emit(signal.type, signal.payload, ack)`. */
export type OutgoingCallSignal = {
  [K in CallClientEventName]: { type: K; payload: CallClientPayloads[K] };
}[CallClientEventName];

/** A message from the server, already validated with CALL_SERVER_SCHEMAS[type]. */
export type IncomingCallSignal = {
  [K in CallServerEventName]: { type: K; payload: CallServerPayloads[K] };
}[CallServerEventName];

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/**
 * Why the media path did not come up, from what was gathered (set on `connection_failed` ends):
 * - `no_turn`: no direct path, and no relay (TURN) server is configured;
 * - `turn_unreachable`: a relay is configured but no relay candidate was gathered (blocked,
 *   wrong address, or bad credentials);
 * - `no_pair`: this side reached the relay, yet no candidate pair worked.
 */
export interface ConnectionDiagnosis {
  code: 'no_turn' | 'turn_unreachable' | 'no_pair';
  local: CandidateType[];
  remote: CandidateType[];
}

export interface CallEnd {
  reason: EndReason;
  /** `local`: this device ended the call; `remote`: the peer or the server did. */
  by: 'local' | 'remote';
  /** On a local `connection_failed`: what was gathered, and so what is wrong. */
  diagnosis?: ConnectionDiagnosis;
}

/** `typ` of an ICE candidate line. */
export function candidateType(candidate: string): CandidateType | undefined {
  const m = / typ (host|srflx|prflx|relay)(?: |$)/.exec(candidate);
  return m ? (m[1] as CandidateType) : undefined;
}

export interface CallSessionEvents<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** A message to carry to the server. The engine never sends anything itself. */
  signal: (signal: OutgoingCallSignal) => void;
  /** The state changed (matrix-js-sdk's `(state, oldState)`). */
  state: (state: CallState, oldState: CallState) => void;
  /** Caller: a callee device reports ringing (each ringing device reports once). */
  remoteRinging: (deviceId: string) => void;
  /** A remote track arrived, also mid-call (the peer turned its camera on). Once per track. */
  track: (track: Track, streams: readonly Stream[]) => void;
  /** A remote stream seen for the first time: attach it to the <video>/<audio> element. */
  remoteStream: (stream: Stream) => void;
  /** The call ended. Emitted once, right after `state` reports `ended`. */
  ended: (end: CallEnd) => void;
}

export const DEFAULT_CALL_TIMEOUTS = {
  /** Caller: no device answered → call.cancel(no_answer). */
  ringMs: 45_000,
  /** Callee: still ringing with no word from the caller or server → stop ringing (no_answer). */
  incomingRingMs: 60_000,
  /** From answer to the first connected media path → connection_failed (with a diagnosis): well inside 20 s. */
  connectMs: 18_000,
  /** ICE `disconnected` for this long → restart ICE (`failed` restarts at once). */
  restartAfterDisconnectedMs: 2_000,
  /** From losing the media path to giving up → connection_failed. */
  reconnectMs: 30_000,
};
export type CallTimeouts = typeof DEFAULT_CALL_TIMEOUTS;

export interface CallSessionOptions<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** This device's id; sent in every signal. */
  deviceId: string;
  /** Creates the RTCPeerConnection: browserPeerConnectionFactory in the web app, werift in Node. */
  peerConnectionFactory: PeerConnectionFactory<Track, Stream>;
  /** ICE servers (STUN, and TURN with the short-lived credentials the server minted). */
  rtcConfiguration?: PeerConfiguration;
  /**
   * Fetches fresh ICE servers (new TURN credentials); called before every ICE restart, so a
   * restart never runs on credentials that have expired. Optional.
   */
  refreshConfiguration?: () => Promise<PeerConfiguration>;
  /** Defaults to `console`, each line prefixed with `[call <id>]`. */
  logger?: Logger;
  clock?: Clock;
  timeouts?: Partial<CallTimeouts>;
  /** Stop the local tracks this session was given when the call ends. Default true. */
  stopLocalTracksOnEnd?: boolean;
}

export interface StartCallParams<Stream> {
  toUserId: string;
  kind: CallKind;
  /** The caller's media; it must hold at least one track (the caller makes the first offer). */
  localStream: Stream;
  /** Defaults to a fresh UUID. */
  callId?: string;
}

/** The session as the web app holds it (`useState<BrowserCallSession | null>`). */
export type BrowserCallSession = CallSession<MediaStreamTrack, MediaStream>;

type TimerName = 'ring' | 'connect' | 'restart' | 'reconnect';

const IN_CALL: readonly CallState[] = ['connecting', 'connected', 'reconnecting'];

/**
 * One call, from invite to end, on one device. Drive it with start()/accept()/reject()/hangup()
 * and handleSignal(); carry its `signal` events to the server; render its `state`, `track` and
 * `ended` events. Every state change goes through the TRANSITIONS table.
 */
export class CallSession<
  Track extends TrackLike = TrackLike,
  Stream extends StreamLike<Track> = StreamLike<Track>,
> extends TypedEmitter<CallSessionEvents<Track, Stream>> {
  readonly deviceId: string;
  readonly #factory: PeerConnectionFactory<Track, Stream>;
  #rtcConfiguration: PeerConfiguration;
  readonly #refreshConfiguration: (() => Promise<PeerConfiguration>) | undefined;
  readonly #baseLogger: Logger;
  #log: Logger;
  readonly #clock: Clock;
  readonly #timeouts: CallTimeouts;
  readonly #stopLocalTracksOnEnd: boolean;
  readonly #timers = new Map<TimerName, unknown>();

  #state: CallState = 'idle';
  #callId: string | null = null;
  #kind: CallKind | null = null;
  #direction: 'outgoing' | 'incoming' | null = null;
  #peerUserId: string | null = null;
  #peerDeviceId: string | null = null;
  #peerName: string | null = null;
  #remoteRinging = false;
  /** Candidate types gathered here and received from the peer, for the diagnosis and call details. */
  readonly #gathered = { local: new Set<CandidateType>(), remote: new Set<CandidateType>() };
  #restarting = false;
  #end: CallEnd | null = null;
  #connectedAt: number | null = null;
  #answeredAt: number | null = null;
  #transport: PeerTransport<Track, Stream> | null = null;
  #local: { track: Track; streams: Stream[] }[] = [];
  readonly #remoteStreams = new Set<Stream>();
  readonly #remoteTracks = new WeakSet<Track>();
  /** Offer and candidates from the caller device that arrived while still ringing (see accept()). */
  #early: IncomingCallSignal[] = [];
  /** Events wait here until the step that caused them is complete (see #run). */
  #outbox: (() => void)[] = [];
  #depth = 0;
  #flushing = false;

  constructor(options: CallSessionOptions<Track, Stream>) {
    super();
    const baseLogger = options.logger ?? console;
    this.deviceId = options.deviceId;
    this.#factory = options.peerConnectionFactory;
    this.#rtcConfiguration = options.rtcConfiguration ?? {};
    this.#refreshConfiguration = options.refreshConfiguration;
    this.#baseLogger = baseLogger;
    this.#log = prefixLogger(baseLogger, '[call]');
    this.#clock = options.clock ?? systemClock;
    this.#timeouts = { ...DEFAULT_CALL_TIMEOUTS, ...options.timeouts };
    this.#stopLocalTracksOnEnd = options.stopLocalTracksOnEnd ?? true;
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.#log.error(`listener for "${event}" threw: ${describeError(error)}`, error);
  }

  get state(): CallState {
    return this.#state;
  }
  get callId(): string | null {
    return this.#callId;
  }
  get kind(): CallKind | null {
    return this.#kind;
  }
  get direction(): 'outgoing' | 'incoming' | null {
    return this.#direction;
  }
  /** The other party: the callee for an outgoing call, the caller for an incoming one. */
  get peerUserId(): string | null {
    return this.#peerUserId;
  }
  /** The caller's name as the server gave it (incoming calls). */
  get peerName(): string | null {
    return this.#peerName;
  }
  /** The other device, once the call is answered (for the callee: the caller's device from the invite). */
  get peerDeviceId(): string | null {
    return this.#peerDeviceId;
  }
  /** Caller: at least one callee device reported ringing. */
  get remoteRinging(): boolean {
    return this.#remoteRinging;
  }
  /** Clock time of the first `connected`, for a call timer. */
  get connectedAt(): number | null {
    return this.#connectedAt;
  }
  /** Set once the call has ended. */
  get end(): CallEnd | null {
    return this.#end;
  }
  /** Candidate types seen so far: gathered here (`local`) and received from the peer (`remote`). */
  get candidateTypes(): { local: CandidateType[]; remote: CandidateType[] } {
    return { local: [...this.#gathered.local], remote: [...this.#gathered.remote] };
  }

  /** Perfect-negotiation role: the callee is polite. Null before answer. */
  get polite(): boolean | null {
    return this.#transport?.polite ?? null;
  }

  /** Caller: send the invite. Throws CallError('invalid_state') unless idle. */
  start(params: StartCallParams<Stream>): void {
    this.#run(() => {
      this.#assertState('start', ['idle']);
      this.#callId = params.callId ?? globalThis.crypto.randomUUID();
      this.#log = prefixLogger(this.#baseLogger, `[call ${this.#callId.slice(0, 8)}]`);
      this.#kind = params.kind;
      this.#direction = 'outgoing';
      this.#peerUserId = params.toUserId;
      this.#local = params.localStream.getTracks().map((track) => ({ track, streams: [params.localStream] }));
      if (this.#local.length === 0) this.#log.warn('start() without local tracks: there will be nothing to offer');
      this.#move('dial');
      this.#send({
        type: 'call.invite',
        payload: { callId: this.#callId, deviceId: this.deviceId, toUserId: params.toUserId, kind: params.kind },
      });
      this.#arm('ring', this.#timeouts.ringMs, () => {
        this.#log.info('Nobody answered');
        this.#finish('no_answer', 'local', { type: 'call.cancel', reason: 'no_answer' });
      });
    });
  }

  /**
   * Callee: answer with `localStream` (acquire it first; if that fails, reject('media_failed')).
   * Throws CallError('invalid_state') unless ringing; the stream is then not taken over.
   */
  accept(localStream: Stream): void {
    this.#run(() => {
      this.#assertState('accept', ['ringing']);
      this.#disarm('ring');
      this.#local = localStream.getTracks().map((track) => ({ track, streams: [localStream] }));
      // The transport exists before call.accept leaves, so the caller's offer always finds it.
      if (!this.#openTransport(true)) {
        this.#finish('internal_error', 'local', { type: 'call.reject', reason: 'internal_error' });
        return;
      }
      this.#move('accept');
      this.#answeredAt = this.#clock.now();
      this.#send({ type: 'call.accept', payload: this.#ids() });
      this.#armConnectTimer();
      const early = this.#early;
      this.#early = [];
      for (const signal of early) this.#handleSignal(signal);
    });
  }

  /** Callee: decline. Throws CallError('invalid_state') unless ringing. */
  reject(reason: RejectReason = 'declined'): void {
    this.#run(() => {
      this.#assertState('reject', ['ringing']);
      this.#finish(reason, 'local', { type: 'call.reject', reason });
    });
  }

  /**
   * End the call from this side, whatever its state: cancels an outgoing call, declines a ringing
   * one, hangs up an answered one. Does nothing once ended.
   */
  hangup(reason: HangupReason = 'user_hangup'): void {
    this.#run(() => {
      switch (this.#state) {
        case 'ended':
          return;
        case 'idle':
          this.#finish('cancelled', 'local', null);
          return;
        case 'outgoing':
          this.#finish('cancelled', 'local', { type: 'call.cancel', reason: 'cancelled' });
          return;
        case 'ringing':
          this.#finish('declined', 'local', { type: 'call.reject', reason: 'declined' });
          return;
        case 'connecting':
        case 'connected':
        case 'reconnecting':
          this.#finish(reason, 'local', { type: 'call.hangup', reason });
          return;
      }
    });
  }

  /**
   * End without a word to the server, leaving the local tracks running. For an outgoing call the
   * server merged into the peer's call (invite ack with `merged`): carry on with a session for
   * `merged` and accept() it with the same stream.
   */
  discard(): void {
    this.#run(() => {
      if (this.#state === 'ended') return;
      this.#local = [];
      this.#finish('cancelled', 'local', null);
    });
  }

  /**
   * Send one more local track, e.g. the camera on an audio call. Renegotiation follows by itself
   * (perfect negotiation, either side may offer). Before the answer the track joins the initial media.
   */
  addTrack(track: Track, stream: Stream): void {
    this.#run(() => {
      this.#assertState('addTrack', ['idle', 'outgoing', 'ringing', 'connecting', 'connected', 'reconnecting']);
      if (this.#local.some((l) => l.track === track)) return;
      this.#local.push({ track, streams: [stream] });
      this.#transport?.addTrack(track, stream);
    });
  }

  /**
   * Send `next` instead of `current` (another microphone or camera) without renegotiation where the
   * implementation allows; otherwise by removing one and adding the other. `current` is not stopped.
   */
  async replaceTrack(current: Track, next: Track, stream: Stream): Promise<void> {
    this.#assertState('replaceTrack', ['idle', 'outgoing', 'ringing', 'connecting', 'connected', 'reconnecting']);
    const entry = this.#local.find((l) => l.track === current);
    if (!entry) throw new CallError('invalid_state', 'replaceTrack(): that track is not being sent');
    entry.track = next;
    entry.streams = [stream];
    const transport = this.#transport;
    if (!transport) return;
    if (await transport.replaceTrack(current, next)) {
      this.#log.info(`Replaced the local ${next.kind} track`);
      return;
    }
    this.#run(() => {
      if (this.#transport !== transport) return;
      transport.removeTrack(current);
      transport.addTrack(next, stream);
    });
  }

  /** Stop sending `track` (it is not stopped; the caller owns it again). */
  removeTrack(track: Track): void {
    this.#run(() => {
      this.#assertState('removeTrack', ['idle', 'outgoing', 'ringing', 'connecting', 'connected', 'reconnecting']);
      this.#local = this.#local.filter((l) => l.track !== track);
      this.#transport?.removeTrack(track);
    });
  }

  /**
   * After the app's connection to the server came back: tell the server this device is still in
   * the call (call.resume), so a server that restarted can rebuild it. Does nothing outside a call.
   */
  resume(): void {
    this.#run(() => {
      if (!IN_CALL.includes(this.#state) || this.#callId === null || !this.#peerUserId || !this.#peerDeviceId || !this.#kind) return;
      this.#send({
        type: 'call.resume',
        payload: {
          ...this.#ids(),
          role: this.#direction === 'outgoing' ? 'caller' : 'callee',
          peerUserId: this.#peerUserId,
          peerDeviceId: this.#peerDeviceId,
          kind: this.#kind,
          answeredAt: Math.round(this.#answeredAt ?? this.#clock.now()),
        },
      });
    });
  }

  /** Reports how the media travels (the app measures it with getStats); kept for the history entry. */
  reportQuality(quality: CallQuality): void {
    this.#run(() => {
      if (!IN_CALL.includes(this.#state) || this.#callId === null) return;
      this.#send({ type: 'call.stats', payload: { ...this.#ids(), quality } });
    });
  }

  /** Restart ICE now (the engine also does it by itself on failure). */
  restartIce(): void {
    this.#run(() => {
      this.#assertState('restartIce', IN_CALL);
      this.#restartIce();
    });
  }

  /**
   * Feed a message from the server. Never throws: messages that do not fit (another call, another
   * device, a state that has moved on — normal races in a distributed system) are logged and dropped.
   */
  handleSignal(signal: IncomingCallSignal): void {
    try {
      this.#run(() => this.#handleSignal(signal));
    } catch (error) {
      this.#log.error(`handling ${signal.type} failed: ${describeError(error)}`, error);
    }
  }

  /**
   * The server refused a signal this session sent (a failed ack). Ends the call when the refusal
   * means it cannot go on; no signal is sent, since the server already knows.
   */
  handleSignalError(type: CallClientEventName, code: ErrorCode): void {
    this.#run(() => {
      if (this.#state === 'ended') return;
      this.#log.warn(`server refused ${type}: ${code}`);
      if (type === 'call.invite') {
        const unreachable = code === 'not_found' || code === 'recipient_inactive';
        this.#finish(unreachable ? 'unavailable' : 'internal_error', 'remote', null);
      } else if (type === 'call.accept') {
        const reason = code === 'conflict' ? 'answered_elsewhere' : code === 'not_found' ? 'cancelled' : 'internal_error';
        this.#finish(reason, 'remote', null);
      } else if (type === 'call.resume' && code === 'not_found' && IN_CALL.includes(this.#state)) {
        // The server says the call is over (it ended while this device was away).
        this.#finish('peer_disconnected', 'remote', null);
      }
      // Anything else refused (an ICE candidate or a measurement racing a server restart, before
      // call.resume has rebuilt the call) is not the end of the call: media does not pass through
      // the server, and the server ends calls itself with call.ended when they are really over.
    });
  }

  #handleSignal(signal: IncomingCallSignal): void {
    if (this.#state === 'ended') {
      this.#log.debug(`${signal.type} after the end: ignored`);
      return;
    }
    if (this.#callId !== null && signal.payload.callId !== this.#callId) {
      this.#log.warn(`${signal.type} for another call (${signal.payload.callId}): ignored`);
      return;
    }
    if (this.#isEarly(signal)) {
      // A server that answers on this device's behalf (invite glare) lets the caller's offer race
      // our accept(); it is applied right after accept().
      if (this.#early.length < 200) this.#early.push(signal);
      return;
    }
    switch (signal.type) {
      case 'call.invite': {
        if (!this.#expect(signal.type, ['idle'])) return;
        const e = signal.payload;
        this.#callId = e.callId;
        this.#log = prefixLogger(this.#baseLogger, `[call ${e.callId.slice(0, 8)}]`);
        this.#kind = e.kind;
        this.#direction = 'incoming';
        this.#peerUserId = e.fromUserId;
        this.#peerDeviceId = e.fromDeviceId;
        this.#peerName = e.fromName;
        this.#move('invited');
        this.#send({ type: 'call.ringing', payload: this.#ids() });
        this.#arm('ring', this.#timeouts.incomingRingMs, () => this.#finish('no_answer', 'local', null));
        return;
      }
      case 'call.ringing': {
        if (!this.#expect(signal.type, ['outgoing'])) return;
        this.#remoteRinging = true;
        this.#emit('remoteRinging', signal.payload.fromDeviceId);
        return;
      }
      case 'call.accept': {
        if (!this.#expect(signal.type, ['outgoing'])) return;
        if (signal.payload.fromUserId !== this.#peerUserId) {
          this.#log.warn(`call.accept from user ${signal.payload.fromUserId}, not the callee: ignored`);
          return;
        }
        this.#disarm('ring');
        this.#peerDeviceId = signal.payload.fromDeviceId;
        if (!this.#openTransport(false)) {
          this.#finish('internal_error', 'local', { type: 'call.hangup', reason: 'internal_error' });
          return;
        }
        this.#move('remote_accept');
        this.#answeredAt = this.#clock.now();
        this.#armConnectTimer();
        return;
      }
      case 'call.answered_elsewhere':
        if (!this.#expect(signal.type, ['ringing'])) return;
        this.#finish('answered_elsewhere', 'remote', null);
        return;
      case 'call.reject':
        // The caller hears the decline; the callee's other devices stop ringing with it.
        if (!this.#expect(signal.type, ['outgoing', 'ringing'])) return;
        this.#finish(this.#state === 'ringing' ? 'declined' : signal.payload.reason, 'remote', null);
        return;
      case 'call.cancel':
        // `connecting`: our accept crossed the caller's cancel.
        if (!this.#expect(signal.type, this.#direction === 'incoming' ? ['ringing', 'connecting'] : [])) return;
        this.#finish(signal.payload.reason, 'remote', null);
        return;
      case 'call.busy':
        if (!this.#expect(signal.type, ['outgoing'])) return;
        this.#finish('busy', 'remote', null);
        return;
      case 'call.ended':
        if (!this.#expect(signal.type, ['outgoing', 'ringing', 'connecting', 'connected', 'reconnecting'])) return;
        this.#finish(signal.payload.reason, 'remote', null);
        return;
      case 'call.offer':
      case 'call.answer': {
        if (!this.#expectPeer(signal.type, signal.payload.fromDeviceId)) return;
        const type = signal.type === 'call.offer' ? 'offer' : 'answer';
        void this.#transport?.handleDescription({ type, sdp: signal.payload.sdp }).catch((error: unknown) => {
          this.#log.error(`applying the remote ${type} failed`, error);
        });
        return;
      }
      case 'call.ice':
        if (!this.#expectPeer(signal.type, signal.payload.fromDeviceId)) return;
        this.#noteCandidate('remote', signal.payload.candidate?.candidate);
        void this.#transport?.addRemoteCandidate(signal.payload.candidate).catch((error: unknown) => {
          this.#log.error('adding a remote candidate failed', error);
        });
        return;
      case 'call.hangup': {
        if (!this.#expectPeer(signal.type, signal.payload.fromDeviceId)) return;
        // The peer gave up first on a path that never came up: this side can say why just as well.
        const failed = signal.payload.reason === 'connection_failed' && this.#state === 'connecting';
        this.#finish(signal.payload.reason, 'remote', null, failed ? this.#diagnose() : undefined);
        return;
      }
    }
  }

  #isEarly(signal: IncomingCallSignal): boolean {
    if (this.#state !== 'ringing') return false;
    if (signal.type !== 'call.offer' && signal.type !== 'call.ice') return false;
    return signal.payload.fromDeviceId === this.#peerDeviceId;
  }

  #openTransport(polite: boolean): boolean {
    let transport: PeerTransport<Track, Stream>;
    try {
      transport = new PeerTransport<Track, Stream>({
        factory: this.#factory,
        configuration: this.#rtcConfiguration,
        polite,
        waitForRemoteOffer: polite,
        logger: this.#log,
      });
    } catch (error) {
      this.#log.error(describeError(error), error);
      return false;
    }
    this.#transport = transport;
    transport.on('description', (description) => this.#run(() => this.#onLocalDescription(description)));
    transport.on('candidate', (candidate) =>
      this.#run(() => {
        this.#noteCandidate('local', candidate?.candidate);
        this.#send({ type: 'call.ice', payload: { ...this.#ids(), candidate } });
      }),
    );
    transport.on('track', (track, streams) => this.#run(() => this.#onRemoteTrack(track, streams)));
    transport.on('link', (link) => this.#run(() => this.#onLink(link)));
    transport.on('failure', (error) => this.#run(() => this.#onNegotiationFailure(error)));
    for (const { track, streams } of this.#local) transport.addTrack(track, ...streams);
    return true;
  }

  #onLocalDescription(description: LocalDescription): void {
    if (!IN_CALL.includes(this.#state)) return;
    const type = description.type === 'offer' ? 'call.offer' : 'call.answer';
    this.#send({ type, payload: { ...this.#ids(), sdp: description.sdp } });
  }

  #onRemoteTrack(track: Track, streams: readonly Stream[]): void {
    // werift fires ontrack again for known tracks on every renegotiation.
    if (this.#remoteTracks.has(track)) return;
    this.#remoteTracks.add(track);
    this.#log.info(`Remote ${track.kind} track arrived`);
    this.#emit('track', track, streams);
    for (const stream of streams) {
      if (this.#remoteStreams.has(stream)) continue;
      this.#remoteStreams.add(stream);
      this.#emit('remoteStream', stream);
    }
  }

  /** ICE restart policy: `failed` restarts at once, `disconnected` after a grace period, and the reconnect window bounds it all. */
  #onLink(link: LinkState): void {
    const state = this.#state;
    if (!IN_CALL.includes(state)) return;
    if (link === 'connected') {
      this.#disarm('restart');
      this.#disarm('reconnect');
      if (state === 'connecting') {
        this.#disarm('connect');
        this.#connectedAt = this.#clock.now();
      }
      this.#move('media_up');
      return;
    }
    if (link !== 'disconnected' && link !== 'failed') return;
    if (state === 'connected') {
      this.#move('media_down');
      this.#arm('reconnect', this.#timeouts.reconnectMs, () => {
        this.#log.warn(`No media path for ${this.#timeouts.reconnectMs} ms; giving up`);
        this.#finish('connection_failed', 'local', { type: 'call.hangup', reason: 'connection_failed' }, this.#diagnose());
      });
    }
    if (link === 'failed') {
      this.#disarm('restart');
      this.#restartIce();
    } else if (!this.#timers.has('restart')) {
      this.#arm('restart', this.#timeouts.restartAfterDisconnectedMs, () => {
        const current = this.#transport?.link;
        if (current === 'disconnected' || current === 'failed') this.#restartIce();
      });
    }
  }

  /** ICE restart, on fresh ICE servers when the app can fetch them (TURN credentials expire). */
  #restartIce(): void {
    const transport = this.#transport;
    if (!transport) return;
    if (!this.#refreshConfiguration) {
      transport.restartIce();
      return;
    }
    if (this.#restarting) return;
    this.#restarting = true;
    const refresh = this.#refreshConfiguration;
    void refresh()
      .then(
        (configuration) => {
          this.#rtcConfiguration = configuration;
          if (this.#transport === transport) transport.setConfiguration(configuration);
        },
        (error: unknown) => this.#log.warn(`Could not refresh the ICE servers; restarting with the old ones: ${describeError(error)}`),
      )
      .finally(() => {
        this.#restarting = false;
        this.#run(() => {
          if (this.#transport === transport && IN_CALL.includes(this.#state)) transport.restartIce();
        });
      });
  }

  #noteCandidate(side: 'local' | 'remote', line: string | undefined): void {
    const type = line ? candidateType(line) : undefined;
    if (type) this.#gathered[side].add(type);
  }

  #diagnose(): ConnectionDiagnosis {
    const urls = (this.#rtcConfiguration.iceServers ?? []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
    const hasTurn = urls.some((u) => /^turns?:/.test(u));
    const local = [...this.#gathered.local];
    const remote = [...this.#gathered.remote];
    const code = !hasTurn ? 'no_turn' : !this.#gathered.local.has('relay') ? 'turn_unreachable' : 'no_pair';
    return { code, local, remote };
  }

  #onNegotiationFailure(error: CallError): void {
    // Before the media path is up nothing works without this negotiation; later, the old one still does.
    if (this.#state === 'connecting') {
      this.#finish('negotiation_failed', 'local', { type: 'call.hangup', reason: 'negotiation_failed' });
    } else {
      this.#log.warn(`renegotiation failed; keeping the current media: ${error.message}`);
    }
  }

  #armConnectTimer(): void {
    this.#arm('connect', this.#timeouts.connectMs, () => {
      const diagnosis = this.#diagnose();
      this.#log.warn(
        `Not connected after ${this.#timeouts.connectMs} ms; giving up (${diagnosis.code}; local: ${diagnosis.local.join(',') || 'none'}; remote: ${diagnosis.remote.join(',') || 'none'})`,
      );
      this.#finish('connection_failed', 'local', { type: 'call.hangup', reason: 'connection_failed' }, diagnosis);
    });
  }

  /**
   * The one way a call ends: send the closing signal (if any), release everything, move to
   * `ended`, tell listeners. Idempotent.
   */
  #finish(
    reason: EndReason,
    by: CallEnd['by'],
    closing: Closing | null,
    diagnosis?: ConnectionDiagnosis,
  ): void {
    if (this.#state === 'ended') return;
    // The closing signal leaves first: a listener that tears the UI down on `ended` must not lose it.
    if (closing && this.#callId !== null) this.#send(closingSignal(closing, this.#ids()));
    for (const name of [...this.#timers.keys()]) this.#disarm(name);
    this.#transport?.close();
    this.#transport = null;
    if (this.#stopLocalTracksOnEnd) {
      for (const { track } of this.#local) {
        try {
          track.stop();
        } catch (error) {
          this.#log.debug('stopping a local track failed', error);
        }
      }
    }
    this.#local = [];
    this.#end = diagnosis ? { reason, by, diagnosis } : { reason, by };
    this.#log.info(`Call ended: ${reason} (${by})`);
    this.#move('end');
    this.#emit('ended', this.#end);
  }

  /**
   * Runs one step of the engine and only then delivers the events it produced. A listener that
   * calls back into the session (accept() from a `state` listener, hangup() from a `signal`
   * listener) therefore always sees a finished step, and signals leave in causal order.
   */
  #run(step: () => void): void {
    this.#depth++;
    try {
      step();
    } finally {
      this.#depth--;
      if (this.#depth === 0 && !this.#flushing) this.#flush();
    }
  }

  #flush(): void {
    this.#flushing = true;
    try {
      for (let next = this.#outbox.shift(); next; next = this.#outbox.shift()) next();
    } finally {
      this.#flushing = false;
    }
  }

  #emit<K extends keyof CallSessionEvents<Track, Stream>>(
    event: K,
    ...args: Parameters<CallSessionEvents<Track, Stream>[K]>
  ): void {
    this.#outbox.push(() => this.safeEmit(event, ...args));
    if (this.#depth === 0 && !this.#flushing) this.#flush();
  }

  #move(trigger: CallTrigger): void {
    const old = this.#state;
    const next = transition(old, trigger);
    if (next === old) return;
    this.#state = next;
    this.#log.debug(`${old} → ${next} (${trigger})`);
    this.#emit('state', next, old);
  }

  #send(signal: OutgoingCallSignal): void {
    this.#log.debug(`→ ${signal.type}`);
    this.#emit('signal', signal);
  }

  #ids(): { callId: string; deviceId: string } {
    if (this.#callId === null) throw new CallError('invalid_state', 'no call id yet');
    return { callId: this.#callId, deviceId: this.deviceId };
  }

  #expect(type: string, states: readonly CallState[]): boolean {
    if (states.includes(this.#state)) return true;
    this.#log.debug(`${type} while ${this.#state}: ignored`);
    return false;
  }

  #expectPeer(type: string, fromDeviceId: string): boolean {
    if (!this.#expect(type, IN_CALL)) return false;
    if (fromDeviceId === this.#peerDeviceId) return true;
    this.#log.warn(`${type} from device ${fromDeviceId}, not the peer device: ignored`);
    return false;
  }

  #assertState(method: string, allowed: readonly CallState[]): void {
    if (!allowed.includes(this.#state)) {
      throw new CallError('invalid_state', `${method}() is not allowed while the call is ${this.#state}`);
    }
  }

  #arm(name: TimerName, ms: number, callback: () => void): void {
    this.#disarm(name);
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(name);
      try {
        this.#run(callback);
      } catch (error) {
        this.#log.error(`${name} timer failed: ${describeError(error)}`, error);
      }
    }, ms);
    this.#timers.set(name, handle);
  }

  #disarm(name: TimerName): void {
    if (!this.#timers.has(name)) return;
    this.#clock.clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
  }
}

type Closing =
  | { type: 'call.cancel'; reason: CancelReason }
  | { type: 'call.reject'; reason: RejectReason }
  | { type: 'call.hangup'; reason: HangupReason };

function closingSignal(closing: Closing, ids: { callId: string; deviceId: string }): OutgoingCallSignal {
  switch (closing.type) {
    case 'call.cancel':
      return { type: closing.type, payload: { ...ids, reason: closing.reason } };
    case 'call.reject':
      return { type: closing.type, payload: { ...ids, reason: closing.reason } };
    case 'call.hangup':
      return { type: closing.type, payload: { ...ids, reason: closing.reason } };
  }
}
