import type { CallClientEventName, CallQuality, EndReason, ErrorCode, HangupReason, RejectReason } from '@parley/protocol';
import type { ConnectionDiagnosis } from './diagnosis.ts';
import { CallSessionInfo } from './session-info.ts';
import { CallError, describeError } from './errors.ts';
import { MediaPath } from './media-path.ts';
import { Preconnections } from './preconnections.ts';
import type { LocalDescription } from './peer.ts';
import type { CallEnd, CallSessionEvents, CallSessionOptions, CallTimeouts, IncomingCallSignal, OutgoingCallSignal, StartCallParams } from './session-types.ts';
import { DEFAULT_CALL_TIMEOUTS } from './session-types.ts';
import { acceptedAction, allows, HANGUP, isAnswered, transition, type CallCommand, type CallTrigger, type SignalAction } from './states.ts';
import { StepQueue, Timers } from './steps.ts';
import {
  prefixLogger,
  systemClock,
  type Clock,
  type Logger,
  type PeerConfiguration,
  type PeerConnectionFactory,
  type StatsReportLike,
  type StreamLike,
  type TrackLike,
} from './webrtc.ts';

export { DEFAULT_CALL_TIMEOUTS } from './session-types.ts';
export type { CallEnd, CallSessionEvents, CallSessionOptions, CallTimeouts, IncomingCallSignal, OutgoingCallSignal, StartCallParams } from './session-types.ts';
export { candidateType } from './diagnosis.ts';
export type { CandidateType, ConnectionDiagnosis } from './diagnosis.ts';

/** The session as the web app holds it. */
export type BrowserCallSession = CallSession<MediaStreamTrack, MediaStream>;

type TimerName = 'ring';
type Closing = { type: 'call.cancel' | 'call.reject' | 'call.hangup'; reason: EndReason };

/**
 * One call, from invite to end, on one device. Drive it with start()/accept()/reject()/hangup()
 * and handleSignal(); carry its `signal` events to the server; render its `state`, `track` and
 * `ended` events. Every state change goes through TRANSITIONS; what each state accepts is ACCEPTS
 * (server signals) and COMMANDS (local calls).
 */
export class CallSession<
  Track extends TrackLike = TrackLike,
  Stream extends StreamLike<Track> = StreamLike<Track>,
> extends CallSessionInfo<Track, Stream> {
  readonly deviceId: string;
  readonly #factory: PeerConnectionFactory<Track, Stream>;
  readonly #refreshConfiguration: (() => Promise<PeerConfiguration>) | undefined;
  readonly #baseLogger: Logger;
  #log: Logger;
  readonly #clock: Clock;
  readonly #timeouts: CallTimeouts;
  readonly #stopLocalTracksOnEnd: boolean;
  readonly #steps = new StepQueue();
  readonly #timers: Timers<TimerName>;

  #local: { track: Track; streams: Stream[] }[] = [];
  /** Offer and candidates from the caller device that arrived while still ringing (see accept()). */
  #early: IncomingCallSignal[] = [];
  readonly #preconnect: boolean;
  /** The connections made while it rings and what they learnt of remote media (decision 020). */
  readonly #pre = new Preconnections<Track, Stream>();

  constructor(options: CallSessionOptions<Track, Stream>) {
    super();
    const baseLogger = options.logger ?? console;
    this.deviceId = options.deviceId;
    this.#factory = options.peerConnectionFactory;
    this.rtcConfiguration = options.rtcConfiguration ?? {};
    this.#refreshConfiguration = options.refreshConfiguration;
    this.#baseLogger = baseLogger;
    this.#log = prefixLogger(baseLogger, '[call]');
    this.#clock = options.clock ?? systemClock;
    this.#timeouts = { ...DEFAULT_CALL_TIMEOUTS, ...options.timeouts };
    this.#stopLocalTracksOnEnd = options.stopLocalTracksOnEnd ?? true;
    this.#preconnect = options.preconnect ?? false;
    this.#timers = new Timers(this.#clock, () => this.#log, (callback) => this.#steps.run(callback));
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.#log.error(`listener for "${event}" threw: ${describeError(error)}`, error);
  }

  /** Caller: send the invite. Throws CallError('invalid_state') unless idle. */
  start(params: StartCallParams<Stream>): void {
    this.#steps.run(() => {
      this.#assert('start');
      this.facts.callId = params.callId ?? globalThis.crypto.randomUUID();
      this.#log = prefixLogger(this.#baseLogger, `[call ${this.facts.callId.slice(0, 8)}]`);
      this.facts.kind = params.kind;
      this.facts.direction = 'outgoing';
      this.facts.peerUserId = params.toUserId;
      if (params.configuration) this.rtcConfiguration = params.configuration;
      this.#local = params.localStream.getTracks().map((track) => ({ track, streams: [params.localStream] }));
      if (this.#local.length === 0) this.#log.warn('start() without local tracks: there will be nothing to offer');
      this.#move('dial');
      this.#send({
        type: 'call.invite',
        payload: { callId: this.facts.callId, deviceId: this.deviceId, toUserId: params.toUserId, kind: params.kind },
      });
      this.#timers.arm('ring', this.#timeouts.ringMs, () => {
        this.#log.info('Nobody answered');
        this.#finish('no_answer', 'local', { type: 'call.cancel', reason: 'no_answer' });
      });
    });
  }

  /**
   * Callee: answer with `localStream` (acquire it first; if that fails, reject('media_failed')),
   * on `configuration`: the ICE servers fetched for this answer. Throws CallError('invalid_state')
   * unless ringing; the stream is then not taken over.
   */
  accept(localStream: Stream, configuration?: PeerConfiguration): void {
    this.#steps.run(() => {
      this.#assert('accept');
      this.#timers.disarm('ring');
      this.#local = localStream.getTracks().map((track) => ({ track, streams: [localStream] }));
      // A connection made while ringing has its ICE servers; its senders take the tracks now.
      const made = this.live();
      if (made) {
        for (const { track, streams } of this.#local) made.sendTrack(track, ...streams);
      } else {
        if (configuration) this.rtcConfiguration = configuration;
        // The transport exists before call.accept leaves, so the caller's offer always finds it.
        if (!this.#openPath(true)) {
          this.#finish('internal_error', 'local', { type: 'call.reject', reason: 'internal_error' });
          return;
        }
      }
      this.#move('accept');
      this.facts.answeredAt = this.#clock.now();
      this.#send({ type: 'call.accept', payload: this.#ids() });
      if (made) this.#adopt(made);
      const early = this.#early;
      this.#early = [];
      for (const signal of early) this.#handleSignal(signal);
    });
  }

  /**
   * Callee, while ringing (decision 020): make the connection now, on `configuration`, so ICE
   * and DTLS come up before the click. Its answer reserves a sender per m-section and sends
   * nothing; accept() puts the tracks on them. Does nothing unless this session pre-connects and
   * rings with no connection yet.
   */
  preconnect(configuration: PeerConfiguration): void {
    this.#steps.run(() => {
      if (!this.#preconnect || !allows(this.facts.state, 'preconnect') || this.live()) return;
      this.rtcConfiguration = configuration;
      const path = this.#makePath(true, true);
      if (!path) return;
      this.path = path;
      const early = this.#early;
      this.#early = [];
      for (const signal of early) this.#handleSignal(signal);
    });
  }

  /** Callee: decline. Throws CallError('invalid_state') unless ringing. */
  reject(reason: RejectReason = 'declined'): void {
    this.#steps.run(() => {
      this.#assert('reject');
      this.#finish(reason, 'local', { type: 'call.reject', reason });
    });
  }

  /**
   * End the call from this side, whatever its state (HANGUP says how: cancel an outgoing call,
   * decline a ringing one, hang up an answered one). Does nothing once ended.
   */
  hangup(reason: HangupReason = 'user_hangup'): void {
    this.#steps.run(() => {
      const how = HANGUP[this.facts.state];
      if (!how) return;
      const end = how.reason === 'given' ? reason : how.reason;
      this.#finish(end, 'local', how.signal ? { type: how.signal, reason: end } : null);
    });
  }

  /**
   * End without a word to the server, leaving the local tracks running. For an outgoing call the
   * server merged into the peer's call (invite ack with `merged`).
   */
  discard(): void {
    this.#steps.run(() => {
      if (this.facts.state === 'ended') return;
      this.#local = [];
      this.#finish('cancelled', 'local', null);
    });
  }

  /**
   * Send one more local track, e.g. the camera on an audio call. Renegotiation follows by itself
   * (perfect negotiation, either side may offer). Before the answer the track joins the initial media.
   */
  addTrack(track: Track, stream: Stream): void {
    this.#steps.run(() => {
      this.#assert('changeTracks');
      if (this.#local.some((l) => l.track === track)) return;
      this.#local.push({ track, streams: [stream] });
      // A sender reserved for it while ringing takes it without renegotiation (decision 020).
      this.#sending()?.sendTrack(track, stream);
    });
  }

  /**
   * Send `next` instead of `current` (another microphone or camera) without renegotiation where the
   * implementation allows; otherwise by removing one and adding the other. `current` is not stopped.
   */
  async replaceTrack(current: Track, next: Track, stream: Stream): Promise<void> {
    this.#assert('changeTracks');
    const entry = this.#local.find((l) => l.track === current);
    if (!entry) throw new CallError('invalid_state', 'replaceTrack(): that track is not being sent');
    entry.track = next;
    entry.streams = [stream];
    const path = this.#sending();
    if (!path) return;
    if (await path.replaceTrack(current, next)) {
      this.#log.info(`Replaced the local ${next.kind} track`);
      return;
    }
    this.#steps.run(() => {
      if (path.closed) return;
      path.removeTrack(current);
      path.addTrack(next, stream);
    });
  }

  /** Stop sending `track` (it is not stopped; the caller owns it again). */
  removeTrack(track: Track): void {
    this.#steps.run(() => {
      this.#assert('changeTracks');
      this.#local = this.#local.filter((l) => l.track !== track);
      this.#sending()?.removeTrack(track);
    });
  }

  /**
   * After the app's connection to the server came back: tell the server this device is still in
   * the call (call.resume), so a server that restarted can rebuild it. Does nothing outside a call.
   */
  resume(): void {
    this.#steps.run(() => {
      if (!allows(this.facts.state, 'resume') || this.facts.callId === null || !this.facts.peerUserId || !this.facts.peerDeviceId || !this.facts.kind) return;
      this.#send({
        type: 'call.resume',
        payload: {
          ...this.#ids(),
          role: this.facts.direction === 'outgoing' ? 'caller' : 'callee',
          peerUserId: this.facts.peerUserId,
          peerDeviceId: this.facts.peerDeviceId,
          kind: this.facts.kind,
          answeredAt: Math.round(this.facts.answeredAt ?? this.#clock.now()),
        },
      });
    });
  }

  /** Reports how the media travels (measured with getStats); kept for the history entry. */
  reportQuality(quality: CallQuality): void {
    this.#steps.run(() => {
      if (!allows(this.facts.state, 'reportQuality') || this.facts.callId === null) return;
      this.#send({ type: 'call.stats', payload: { ...this.#ids(), quality } });
    });
  }

  /** Restart ICE now, on fresh ICE servers (the engine also does it by itself on failure). */
  restartIce(): void {
    this.#steps.run(() => {
      this.#assert('restartIce');
      this.live()?.restartIce();
    });
  }

  /** The peer connection's stats report; null before there is one, after the end, or where it has no getStats(). */
  async getStats(): Promise<StatsReportLike | null> {
    return (await this.live()?.getStats()) ?? null;
  }

  /**
   * Feed a message from the server. Never throws: messages that do not fit (another call, another
   * device, a state that has moved on — normal races in a distributed system) are logged and dropped.
   */
  handleSignal(signal: IncomingCallSignal): void {
    try {
      this.#steps.run(() => this.#handleSignal(signal));
    } catch (error) {
      this.#log.error(`handling ${signal.type} failed: ${describeError(error)}`, error);
    }
  }

  /**
   * The server refused a signal this session sent (a failed ack). Ends the call when the refusal
   * means it cannot go on; no signal is sent, since the server already knows.
   */
  handleSignalError(type: CallClientEventName, code: ErrorCode): void {
    this.#steps.run(() => {
      if (this.facts.state === 'ended') return;
      this.#log.warn(`server refused ${type}: ${code}`);
      if (type === 'call.invite') {
        const unreachable = code === 'not_found' || code === 'recipient_inactive';
        this.#finish(unreachable ? 'unavailable' : 'internal_error', 'remote', null, undefined, code);
      } else if (type === 'call.accept') {
        const reason = code === 'conflict' ? 'answered_elsewhere' : code === 'not_found' ? 'cancelled' : 'internal_error';
        this.#finish(reason, 'remote', null, undefined, code);
      } else if (type === 'call.resume' && code === 'not_found' && isAnswered(this.facts.state)) {
        // The server says the call is over (it ended while this device was away).
        this.#finish('peer_disconnected', 'remote', null, undefined, code);
      }
      // Anything else refused (an ICE candidate or a measurement racing a server restart, before
      // call.resume has rebuilt the call) is not the end of the call: media does not pass through
      // the server, and the server ends calls itself with call.ended when they are really over.
    });
  }

  /** The one dispatcher: ACCEPTS[state][signal] says what happens; a refused signal is logged and dropped. */
  #handleSignal(signal: IncomingCallSignal): void {
    if (this.facts.callId !== null && signal.payload.callId !== this.facts.callId) {
      this.#log.warn(`${signal.type} for another call (${signal.payload.callId}): ignored`);
      return;
    }
    const action = acceptedAction(this.facts.state, signal.type);
    if (!action) {
      this.#log.debug(`${signal.type} while ${this.facts.state}: ignored`);
      return;
    }
    if (!this.#fromPeer(action, signal)) return;
    this.#perform(action, signal);
  }

  /** Descriptions, candidates and hang-ups count only from the peer device. */
  #fromPeer(action: SignalAction, signal: IncomingCallSignal): boolean {
    if (action !== 'apply' && action !== 'early' && action !== 'peer_hangup') return true;
    const from = 'fromDeviceId' in signal.payload ? signal.payload.fromDeviceId : undefined;
    if (from === this.facts.peerDeviceId) return true;
    this.#log.warn(`${signal.type} from device ${from}, not the peer device: ignored`);
    return false;
  }

  #perform(action: SignalAction, signal: IncomingCallSignal): void {
    switch (action) {
      case 'ring':
        if (signal.type === 'call.invite') this.#ring(signal.payload);
        return;
      case 'remote_ringing':
        if (signal.type !== 'call.ringing') return;
        this.facts.remoteRinging = true;
        if (signal.payload.preconnect === true && signal.payload.fromUserId === this.facts.peerUserId) this.#preconnectTo(signal.payload.fromDeviceId);
        this.#emit('remoteRinging', signal.payload.fromDeviceId);
        return;
      case 'remote_accept':
        if (signal.type === 'call.accept') this.#onRemoteAccept(signal.payload.fromUserId, signal.payload.fromDeviceId);
        return;
      case 'end':
        this.#finish(signal.type === 'call.busy' ? 'busy' : (signal.payload as { reason: EndReason }).reason, 'remote', null);
        return;
      case 'declined_elsewhere':
        this.#finish('declined', 'remote', null);
        return;
      case 'answered_elsewhere':
        this.#finish('answered_elsewhere', 'remote', null);
        return;
      case 'early':
        // A connection made while ringing takes it now. Without one (not made yet, or this device
        // does not pre-connect; a server that answers on this device's behalf in invite glare lets
        // the caller's offer race our accept()) it is applied right after preconnect() or accept().
        if (this.live()) this.#apply(signal);
        else if (this.#early.length < 200) this.#early.push(signal);
        return;
      case 'preconnect': {
        if (signal.type !== 'call.offer' && signal.type !== 'call.answer' && signal.type !== 'call.ice') return;
        const path = this.#pre.get(signal.payload.fromDeviceId);
        if (path && signal.payload.fromUserId === this.facts.peerUserId) this.#applyTo(path, signal);
        return;
      }
      case 'apply':
        this.#apply(signal);
        return;
      case 'peer_hangup': {
        if (signal.type !== 'call.hangup') return;
        // The peer gave up first on a path that never came up: this side can say why just as well.
        const failed = signal.payload.reason === 'connection_failed' && this.facts.state === 'connecting';
        this.#finish(signal.payload.reason, 'remote', null, failed ? this.path?.diagnose() : undefined);
        return;
      }
    }
  }

  #ring(e: Extract<IncomingCallSignal, { type: 'call.invite' }>['payload']): void {
    this.facts.callId = e.callId;
    this.#log = prefixLogger(this.#baseLogger, `[call ${e.callId.slice(0, 8)}]`);
    this.facts.kind = e.kind;
    this.facts.direction = 'incoming';
    this.facts.peerUserId = e.fromUserId;
    this.facts.peerDeviceId = e.fromDeviceId;
    this.facts.peerName = e.fromName;
    this.#move('invited');
    this.#send({ type: 'call.ringing', payload: { ...this.#ids(), ...(this.#preconnect ? { preconnect: true } : {}) } });
    this.#timers.arm('ring', this.#timeouts.incomingRingMs, () => this.#finish('no_answer', 'local', null));
  }

  #onRemoteAccept(fromUserId: string, fromDeviceId: string): void {
    if (fromUserId !== this.facts.peerUserId) {
      this.#log.warn(`call.accept from user ${fromUserId}, not the callee: ignored`);
      return;
    }
    this.#timers.disarm('ring');
    this.facts.peerDeviceId = fromDeviceId;
    // The connection made while it rang to the device that answered carries on; the others close.
    const made = this.#pre.keepOnly(fromDeviceId);
    if (made) {
      this.path = made;
      for (const { track, streams } of this.#local) made.sendTrack(track, ...streams);
    } else if (!this.#openPath(false)) {
      this.#finish('internal_error', 'local', { type: 'call.hangup', reason: 'internal_error' });
      return;
    }
    this.#move('remote_accept');
    this.facts.answeredAt = this.#clock.now();
    if (made) this.#adopt(made);
  }

  /** Caller, while ringing: a connection to the ringing device `deviceId`, with no track on it yet. */
  #preconnectTo(deviceId: string): void {
    if (!this.#preconnect || !this.#pre.canAdd(deviceId)) return;
    const path = this.#makePath(false, true, deviceId);
    if (!path) return;
    const kinds = [...new Set(this.#local.map((l) => l.track.kind))].filter((k): k is 'audio' | 'video' => k === 'audio' || k === 'video');
    const streams = [...new Set(this.#local.flatMap((l) => l.streams))];
    if (!path.reserve(kinds, streams)) {
      path.close();
      return;
    }
    this.#pre.add(deviceId, path);
    this.#log.info(`Pre-connecting to ringing device ${deviceId}`);
    path.offer();
  }

  /** A path made while ringing is now the call's: the remote media it told of reaches the app, and the connect timeout runs. */
  #adopt(path: MediaPath<Track, Stream>): void {
    this.#pre.release(path);
    path.answered();
    if (path.link === 'connected') this.#onUp();
  }

  /** A path made while ringing that failed before its device answered: gone, and the answer makes a fresh one. */
  #dropPrePath(path: MediaPath<Track, Stream>, why: string): void {
    this.#log.info(`The connection made while ringing ${why}; the answer will make a new one`);
    if (this.path === path) this.path = null;
    this.#pre.drop(path);
  }

  /** The track commands reach the peer connection only once answered: nothing is sent while ringing. */
  #sending(): MediaPath<Track, Stream> | null {
    return isAnswered(this.facts.state) ? this.live() : null;
  }

  /** This path is the answered call's. */
  #current(path: MediaPath<Track, Stream>): boolean {
    return path === this.path && isAnswered(this.facts.state);
  }

  /**
   * Where a local description or candidate of `path` goes: the answered call's path to its peer;
   * while ringing, the caller's path to one ringing device (named) or the callee's to the caller.
   * Null: nowhere (a path that is not, or no longer, this call's).
   */
  #route(path: MediaPath<Track, Stream>): { toDeviceId?: string } | null {
    if (path.closed) return null;
    if (this.#current(path)) return {};
    if (this.facts.state === 'ringing' && path === this.path) return {};
    const deviceId = this.facts.state === 'outgoing' ? this.#pre.deviceOf(path) : undefined;
    return deviceId === undefined ? null : { toDeviceId: deviceId };
  }

  /** Remote media of a path made while ringing waits until that path is the answered call's. */
  #tell(path: MediaPath<Track, Stream>, tell: () => void): void {
    if (this.#current(path)) tell();
    else this.#pre.hold(path, tell);
  }

  #apply(signal: IncomingCallSignal): void {
    const path = this.live();
    if (path) this.#applyTo(path, signal);
  }

  #applyTo(path: MediaPath<Track, Stream>, signal: IncomingCallSignal): void {
    if (signal.type === 'call.offer' || signal.type === 'call.answer') {
      path.applyDescription({ type: signal.type === 'call.offer' ? 'offer' : 'answer', sdp: signal.payload.sdp });
    } else if (signal.type === 'call.ice') {
      path.addRemoteCandidate(signal.payload.candidate);
    }
  }

  /** The answered call's path, made now with the local tracks on it. */
  #openPath(polite: boolean): boolean {
    const path = this.#makePath(polite, false);
    if (!path) return false;
    this.path = path;
    for (const { track, streams } of this.#local) path.addTrack(track, ...streams);
    // The caller's first offer is made in this step, not on the negotiationneeded task behind it.
    if (!polite) path.offer();
    return true;
  }

  /**
   * A media path wired to this session. One made while ringing (`preconnect`) speaks only through
   * #route() and keeps what it learns of remote media until it is the answered call's (#tell());
   * if it fails before that, it is dropped, not the call.
   */
  #makePath(polite: boolean, preconnect: boolean, toDeviceId?: string): MediaPath<Track, Stream> | null {
    let path: MediaPath<Track, Stream>;
    try {
      path = new MediaPath<Track, Stream>({
        factory: this.#factory,
        configuration: this.rtcConfiguration,
        refreshConfiguration: this.#refreshConfiguration,
        polite,
        preconnect,
        logger: toDeviceId ? prefixLogger(this.#log, `[to ${toDeviceId.slice(0, 8)}]`) : this.#log,
        clock: this.#clock,
        timeouts: this.#timeouts,
      });
    } catch (error) {
      this.#log.error(describeError(error), error);
      return null;
    }
    const step = (fn: () => void) => this.#steps.run(fn);
    path.on('description', (description) => step(() => this.#onLocalDescription(path, description)));
    path.on('candidate', (candidate) =>
      step(() => {
        const route = this.#route(path);
        if (route) this.#send({ type: 'call.ice', payload: { ...this.#ids(), ...route, candidate } });
      }),
    );
    path.on('track', (track, streams) => this.#tell(path, () => this.#emit('track', track, streams)));
    path.on('remoteStream', (stream) => this.#tell(path, () => this.#emit('remoteStream', stream)));
    path.on('transport', (ice, connection) => this.#current(path) && this.#emit('transport', ice, connection));
    path.on('up', () => step(() => this.#current(path) && this.#onUp()));
    path.on('down', () => step(() => this.#current(path) && this.facts.state === 'connected' && this.#move('media_down')));
    path.on('giveUp', (diagnosis) =>
      step(() => {
        if (this.#current(path)) this.#finish('connection_failed', 'local', { type: 'call.hangup', reason: 'connection_failed' }, diagnosis);
        else this.#dropPrePath(path, 'gave up');
      }),
    );
    path.on('negotiationFailed', (error, fatal) =>
      step(() => {
        if (!this.#current(path)) this.#dropPrePath(path, `could not negotiate (${error.message})`);
        // Before the media path is up nothing works without this negotiation; later, the old one still does.
        else if (fatal) this.#finish('negotiation_failed', 'local', { type: 'call.hangup', reason: 'negotiation_failed' });
        else this.#log.warn(`renegotiation failed; keeping the current media: ${error.message}`);
      }),
    );
    return path;
  }

  #onLocalDescription(path: MediaPath<Track, Stream>, description: LocalDescription): void {
    const route = this.#route(path);
    if (!route) return;
    const type = description.type === 'offer' ? 'call.offer' : 'call.answer';
    this.#send({ type, payload: { ...this.#ids(), ...route, sdp: description.sdp } });
  }

  #onUp(): void {
    if (this.facts.state === 'connecting') this.facts.connectedAt = this.#clock.now();
    if (this.facts.state === 'connecting' || this.facts.state === 'reconnecting') this.#move('media_up');
  }

  /**
   * The one way a call ends: send the closing signal (if any), release everything, move to
   * `ended`, tell listeners. Idempotent.
   */
  #finish(reason: EndReason, by: CallEnd['by'], closing: Closing | null, diagnosis?: ConnectionDiagnosis, refusal?: ErrorCode): void {
    if (this.facts.state === 'ended') return;
    // The closing signal leaves first: a listener that tears the UI down on `ended` must not lose it.
    if (closing && this.facts.callId !== null) {
      this.#send({ type: closing.type, payload: { ...this.#ids(), reason: closing.reason } } as OutgoingCallSignal);
    }
    this.#timers.clear();
    this.path?.close();
    this.#pre.clear();
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
    this.facts.end = { reason, by, ...(diagnosis ? { diagnosis } : {}), ...(refusal ? { refusal } : {}) };
    this.#log.info(`Call ended: ${reason} (${by})`);
    this.#move('end');
    this.#emit('ended', this.facts.end);
  }

  #emit<K extends keyof CallSessionEvents<Track, Stream>>(event: K, ...args: Parameters<CallSessionEvents<Track, Stream>[K]>): void {
    this.#steps.later(() => this.safeEmit(event, ...args));
  }

  #move(trigger: CallTrigger): void {
    const old = this.facts.state;
    const next = transition(old, trigger);
    if (next === old) return;
    this.facts.state = next;
    this.#log.debug(`${old} → ${next} (${trigger})`);
    this.#emit('state', next, old);
  }

  #send(signal: OutgoingCallSignal): void {
    this.#log.debug(`→ ${signal.type}`);
    this.#emit('signal', signal);
  }

  #ids(): { callId: string; deviceId: string } {
    if (this.facts.callId === null) throw new CallError('invalid_state', 'no call id yet');
    return { callId: this.facts.callId, deviceId: this.deviceId };
  }

  #assert(command: CallCommand): void {
    if (!allows(this.facts.state, command)) {
      throw new CallError('invalid_state', `${command}() is not allowed while the call is ${this.facts.state}`);
    }
  }
}
