import { TypedEmitter } from './emitter.ts';
import { CallError, describeError } from './errors.ts';
import { toCandidateInit, ufragsOf } from './ice-wire.ts';
import { foldLinkState, type LinkState } from './link-state.ts';
import type {
  IceCandidateInit,
  IceCandidateLike,
  Logger,
  PeerConfiguration,
  PeerConnectionFactory,
  PeerConnectionLike,
  RemoteDescription,
  SenderLike,
  StatsReportLike,
  StreamLike,
  TrackLike,
} from './webrtc.ts';

export interface LocalDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

export interface PeerTransportEvents<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** A local offer or answer to send to the peer (call.offer / call.answer). */
  description: (description: LocalDescription) => void;
  /** A local ICE candidate to send (call.ice); `null` once gathering is complete. */
  candidate: (candidate: IceCandidateInit | null) => void;
  /** A remote track arrived. */
  track: (track: Track, streams: readonly Stream[]) => void;
  /** The folded ICE/DTLS state changed. */
  link: (state: LinkState, oldState: LinkState) => void;
  /** An offer or answer could not be created or applied. The call decides whether that is fatal. */
  failure: (error: CallError) => void;
  /** iceConnectionState or connectionState changed (the raw states, for a status line). */
  states: (ice: string, connection: string) => void;
}

export interface PeerTransportOptions<Track extends TrackLike, Stream extends StreamLike<Track>> {
  factory: PeerConnectionFactory<Track, Stream>;
  configuration?: PeerConfiguration;
  /** Perfect negotiation role: on an offer collision the polite side yields, the impolite side ignores the remote offer. */
  polite: boolean;
  /**
   * Hold local tracks until the first remote offer is applied, then attach them to the answer.
   * The callee sets it: the caller makes the first offer, and an early track would make the
   * callee offer too (needless glare on every call).
   */
  waitForRemoteOffer?: boolean;
  /**
   * Answer the first offer ready to send on every m-section it brings, with no track yet: the
   * callee's connection made while ringing (decision 020) sends nothing until its tracks go on
   * those senders on the click (sendOnReserved()), with no renegotiation.
   */
  reserveOnAnswer?: boolean;
  logger: Logger;
  /** Remote candidates kept while no remote description is set. Beyond this they are dropped. */
  maxQueuedCandidates?: number;
}

interface HeldTrack<Track, Stream> {
  track: Track;
  streams: Stream[];
}

/**
 * Owns one RTCPeerConnection: the remote-candidate queue and the W3C perfect-negotiation pattern
 * (https://www.w3.org/TR/webrtc/#perfect-negotiation-example). It sends nothing itself; it emits
 * `description` and `candidate` for the call to carry.
 */
export class PeerTransport<
  Track extends TrackLike = TrackLike,
  Stream extends StreamLike<Track> = StreamLike<Track>,
> extends TypedEmitter<PeerTransportEvents<Track, Stream>> {
  readonly polite: boolean;
  readonly #pc: PeerConnectionLike<Track, Stream>;
  readonly #log: Logger;
  readonly #maxQueued: number;
  readonly #senders = new Map<Track, SenderLike<Track>>();
  /** Remote candidates waiting for a remote description. */
  #queue: (IceCandidateInit | null)[] = [];
  /** ICE usernameFragments of every remote description applied so far. */
  readonly #pastUfrags = new Set<string>();
  /** Remote descriptions received and not yet applied; candidates wait while this is above 0. */
  #remotePending = 0;
  /** Serialises remote descriptions, so each collision check sees the state its predecessor left. */
  #remoteChain: Promise<void> = Promise.resolve();
  #makingOffer = false;
  /** A #negotiate() is under way (from offer() or negotiationneeded); a second one would offer twice. */
  #negotiating = false;
  #ignoreOffer = false;
  #held: HeldTrack<Track, Stream>[] | null;
  #reserveOnAnswer: boolean;
  /**
   * Remote tracks that arrived while a remote description was being applied (browsers and werift
   * fire ontrack inside setRemoteDescription), emitted once the answer to it has been sent: what
   * the app does with a new track (a video element, a render and its paint) then follows the
   * answer instead of holding it back on the page's main thread. No media flows on them before
   * the peer has that answer anyway. Null while no description is being applied.
   */
  #arrivingTracks: { track: Track; streams: readonly Stream[] }[] | null = null;
  #link: LinkState = 'new';
  #closed = false;

  constructor(options: PeerTransportOptions<Track, Stream>) {
    super();
    this.polite = options.polite;
    this.#log = options.logger;
    this.#maxQueued = options.maxQueuedCandidates ?? 200;
    this.#held = options.waitForRemoteOffer ? [] : null;
    this.#reserveOnAnswer = options.reserveOnAnswer ?? false;
    try {
      this.#pc = options.factory(options.configuration ?? {});
    } catch (error) {
      throw new CallError('peer_connection_failed', `could not create a peer connection: ${describeError(error)}`, {
        cause: error,
      });
    }
    const pc = this.#pc;
    pc.onicecandidate = (event) => this.#onLocalCandidate(event.candidate);
    pc.ontrack = (event) => this.#onRemoteTrack(event.track, event.streams);
    pc.onnegotiationneeded = () => void this.#negotiate();
    pc.oniceconnectionstatechange = () => this.#updateLink();
    pc.onconnectionstatechange = () => this.#updateLink();
    pc.onsignalingstatechange = () => this.#log.debug(`Signaling state: ${pc.signalingState}`);
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.#log.error(`listener for "${event}" threw`, error);
  }

  get link(): LinkState {
    return this.#link;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get signalingState(): string {
    return this.#pc.signalingState;
  }

  get iceConnectionState(): string {
    return this.#pc.iceConnectionState;
  }

  get connectionState(): string {
    return this.#pc.connectionState;
  }

  /** The peer connection's getStats(), or null where it has none (or it is closed). */
  async getStats(): Promise<StatsReportLike | null> {
    if (this.#closed || typeof this.#pc.getStats !== 'function') return null;
    return this.#pc.getStats();
  }

  /** Remote candidates waiting for a remote description. */
  get queuedCandidates(): number {
    return this.#queue.length;
  }

  /** A local track to send. Negotiation follows by itself (negotiationneeded). */
  addTrack(track: Track, ...streams: Stream[]): void {
    this.#assertOpen('addTrack');
    if (this.#held) {
      this.#held.push({ track, streams });
      this.#log.debug(`Holding local ${track.kind} track until the remote offer arrives`);
      return;
    }
    if (this.#senders.has(track)) return;
    // A transceiver left idle by removeTrack (camera off) takes the track back: without this every
    // camera off/on adds an m-section and the SDP grows for the rest of the call.
    const idle = this.#pc.getTransceivers?.().find(
      (t) => !t.stopped && t.sender.track === null && t.receiver.track.kind === track.kind && t.sender.replaceTrack && t.currentDirection !== 'stopped',
    );
    if (idle) {
      this.#senders.set(track, idle.sender);
      void idle.sender.replaceTrack!(track).catch((error: unknown) => this.#log.warn(`Could not reuse a transceiver: ${describeError(error)}`));
      (idle.sender.setStreams as ((...s: Stream[]) => void) | undefined)?.call(idle.sender, ...streams);
      idle.direction = 'sendrecv'; // negotiationneeded follows
      this.#log.debug(`Local ${track.kind} track reuses an idle transceiver`);
      return;
    }
    this.#senders.set(track, this.#pc.addTrack(track, ...streams));
  }

  /**
   * Offerer of a connection made while ringing: one m-section per kind, negotiated to send both
   * ways but with no track, so nothing is sent until sendOnReserved(). Where the implementation has
   * no addTransceiver(), the tracks will be added (and negotiated) later instead. True when made.
   */
  reserveSenders(kinds: readonly ('audio' | 'video')[], streams: Stream[]): boolean {
    this.#assertOpen('reserveSenders');
    if (!this.#pc.addTransceiver) return false;
    for (const kind of kinds) this.#pc.addTransceiver(kind, { direction: 'sendrecv', streams });
    return true;
  }

  /**
   * Puts `track` on a sender negotiated to send that has no track yet (reserveSenders(), or the
   * callee's reserved answer): it starts sending at once, with no renegotiation. False when there
   * is no such sender; then addTrack() it.
   */
  sendOnReserved(track: Track): boolean {
    this.#assertOpen('sendOnReserved');
    if (this.#held || this.#senders.has(track)) return false;
    const taken = new Set(this.#senders.values());
    const reserved = this.#pc.getTransceivers?.().find(
      (t) => !t.stopped && t.direction === 'sendrecv' && t.sender.track === null && !taken.has(t.sender) && t.receiver.track.kind === track.kind && t.sender.replaceTrack,
    );
    if (!reserved) return false;
    this.#senders.set(track, reserved.sender);
    void reserved.sender.replaceTrack!(track).catch((error: unknown) => this.#log.warn(`Could not send on a reserved transceiver: ${describeError(error)}`));
    return true;
  }

  /**
   * Sends `next` in place of `current` without renegotiation (another microphone or camera).
   * Returns false when that is not possible here; then remove and add instead.
   */
  async replaceTrack(current: Track, next: Track): Promise<boolean> {
    this.#assertOpen('replaceTrack');
    if (this.#held) {
      const held = this.#held.find((h) => h.track === current);
      if (!held) return false;
      held.track = next;
      return true;
    }
    const sender = this.#senders.get(current);
    if (!sender?.replaceTrack) return false;
    await sender.replaceTrack(next);
    this.#senders.delete(current);
    this.#senders.set(next, sender);
    return true;
  }

  /** Stops sending `track` (the track itself keeps running). Returns false if it was not being sent. */
  removeTrack(track: Track): boolean {
    this.#assertOpen('removeTrack');
    if (this.#held) {
      const before = this.#held.length;
      this.#held = this.#held.filter((h) => h.track !== track);
      return this.#held.length !== before;
    }
    const sender = this.#senders.get(track);
    if (!sender) return false;
    this.#senders.delete(track);
    this.#pc.removeTrack(sender);
    return true;
  }

  /** Replaces the ICE servers (fresh TURN credentials); takes effect at the next ICE restart. */
  setConfiguration(configuration: PeerConfiguration): void {
    this.#assertOpen('setConfiguration');
    if (!this.#pc.setConfiguration) return;
    try {
      this.#pc.setConfiguration(configuration);
    } catch (error) {
      this.#log.warn(`Could not update the ICE servers: ${describeError(error)}`);
    }
  }

  /**
   * Makes the offer now instead of on the `negotiationneeded` that addTrack() queues. That event is
   * a task of its own: in a page it waits behind whatever the page does next (the call view's render
   * of the answered call), and the offer is what the peer waits for. The event, when it comes, finds
   * the offer made (or being made) and is left, as any negotiationneeded outside a stable state is.
   * Does nothing on a side that holds its tracks until the first remote offer.
   */
  offer(): void {
    this.#assertOpen('offer');
    if (this.#held) return;
    void this.#negotiate();
  }

  /** Gathers new ICE credentials; the offer that carries them follows through negotiationneeded. */
  restartIce(): void {
    this.#assertOpen('restartIce');
    if (this.#held) {
      this.#log.debug('ICE restart before the first remote offer: nothing to restart');
      return;
    }
    this.#log.info('Restarting ICE');
    this.#pc.restartIce();
  }

  /**
   * Applies an offer or answer from the peer. Never rejects: failures are logged and, when they
   * matter, emitted as `failure`.
   */
  handleDescription(description: RemoteDescription): Promise<void> {
    if (this.#closed) return Promise.resolve();
    // Counted now, not when the chain reaches it: a candidate that arrives behind this
    // description belongs to it and must wait for it.
    this.#remotePending++;
    const run = this.#remoteChain.then(() => this.#applyRemote(description));
    this.#remoteChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Adds a remote candidate, or queues it while it has no remote description to go with: none set
   * yet, one still being applied, or (ICE restart) one with other credentials than the candidate's
   * `usernameFragment`. The queue is flushed right after setRemoteDescription. Never rejects.
   */
  async addRemoteCandidate(candidate: IceCandidateInit | null): Promise<void> {
    if (this.#closed) return;
    const fit = this.#fit(candidate);
    if (fit === 'stale') {
      this.#log.debug('ICE candidate of an earlier ICE generation: dropped');
      return;
    }
    if (fit === 'wait') {
      if (this.#queue.length >= this.#maxQueued) {
        this.#log.warn(`ICE candidate queue full (${this.#maxQueued}); dropping a remote candidate`);
        return;
      }
      if (this.#queue.length === 0) {
        this.#log.debug('ICE candidate arrived before remote description set - QUEUEING for later');
      }
      this.#queue.push(candidate);
      this.#log.info(`Queued candidates: ${this.#queue.length}`);
      return;
    }
    await this.#addCandidate(candidate, false);
  }

  /**
   * Whether a remote candidate can be added now. A candidate names its ICE credentials
   * (usernameFragment); one of credentials not yet seen belongs to a description still on its
   * way (werift sends candidates before the offer they belong to), one of credentials replaced
   * by an ICE restart is stale.
   */
  #fit(candidate: IceCandidateInit | null): 'add' | 'wait' | 'stale' {
    const remote = this.#pc.remoteDescription;
    if (remote === null || this.#remotePending > 0) return 'wait';
    const ufrag = candidate?.usernameFragment;
    if (!ufrag) return 'add';
    const current = ufragsOf(remote.sdp);
    if (current.size === 0 || current.has(ufrag)) return 'add';
    return this.#pastUfrags.has(ufrag) ? 'stale' : 'wait';
  }

  /** Closes the peer connection. Idempotent; nothing is emitted afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#held = null;
    const pc = this.#pc;
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.onnegotiationneeded = null;
    pc.oniceconnectionstatechange = null;
    pc.onconnectionstatechange = null;
    pc.onsignalingstatechange = null;
    try {
      const result = pc.close();
      if (isPromiseLike(result)) {
        result.then(undefined, (error: unknown) => this.#log.debug('close() failed', error));
      }
    } catch (error) {
      this.#log.debug('close() failed', error);
    }
    const old = this.#link;
    this.#link = 'closed';
    this.safeEmit('link', 'closed', old);
    this.removeAllListeners();
  }

  async #negotiate(): Promise<void> {
    if (this.#closed) return;
    if (this.#held) {
      this.#log.debug('negotiationneeded before the first remote offer: ignored');
      return;
    }
    // The offer under way takes every change made before its setLocalDescription(); one made after
    // it fires negotiationneeded again at the next stable state (browsers; the werift wrapper).
    if (this.#negotiating) return;
    this.#negotiating = true;
    try {
      // An answer still in the making must reach the wire before our next offer. Browsers never fire
      // negotiationneeded mid-answer; werift does, and an offer that overtakes its answer gets
      // ignored by the impolite side and leaves this side stuck in have-local-offer.
      await this.#remoteChain;
      if (this.#closed) return;
      if (this.#pc.signalingState !== 'stable') {
        this.#log.debug(`negotiationneeded in ${this.#pc.signalingState}: left for the next stable state`);
        return;
      }
      this.#makingOffer = true;
      await this.#pc.setLocalDescription();
      const local = this.#pc.localDescription;
      // A remote offer may have been applied meanwhile; then there is no offer of ours to send.
      if (this.#closed || local?.type !== 'offer') return;
      this.#log.debug('Sending offer');
      this.safeEmit('description', { type: 'offer', sdp: local.sdp });
    } catch (error) {
      if (!this.#closed) this.#fail('could not create or set the local offer', error);
    } finally {
      this.#makingOffer = false;
      this.#negotiating = false;
    }
  }

  async #applyRemote(description: RemoteDescription): Promise<void> {
    this.#arrivingTracks = [];
    const applied = await this.#setRemote(description);
    this.#remotePending--;
    if (this.#closed) return;
    // Also after an ignored or failed description: candidates queued behind it wait for nothing else.
    // They go into the operations chain first, so ICE has them the moment the answer is set, but the
    // answer does not wait for them to resolve: each resolution is a turn of this page's main
    // thread, busy right then (the call view just appeared, more candidates arrive), and the answer
    // is what the peer waits for.
    const flushing = this.#flushCandidates();
    if (applied && description.type === 'offer') await this.#answer();
    this.#releaseArrivingTracks();
    await flushing;
  }

  #onRemoteTrack(track: Track, streams: readonly Stream[]): void {
    if (this.#closed) return;
    if (this.#arrivingTracks) this.#arrivingTracks.push({ track, streams });
    else this.safeEmit('track', track, streams);
  }

  #releaseArrivingTracks(): void {
    const arrived = this.#arrivingTracks ?? [];
    this.#arrivingTracks = null;
    if (this.#closed) return;
    for (const { track, streams } of arrived) this.safeEmit('track', track, streams);
  }

  /** The collision check and setRemoteDescription. True when the description was applied. */
  async #setRemote(description: RemoteDescription): Promise<boolean> {
    if (this.#closed) return false;
    const pc = this.#pc;
    const offerCollision = description.type === 'offer' && (this.#makingOffer || pc.signalingState !== 'stable');
    this.#ignoreOffer = !this.polite && offerCollision;
    if (this.#ignoreOffer) {
      this.#log.info('Offer collision: impolite side ignores the remote offer');
      return false;
    }
    if (offerCollision) {
      // setRemoteDescription(offer) rolls our pending offer back implicitly (JSEP, and werift).
      this.#log.info('Offer collision: polite side rolls back its offer and answers');
    }
    try {
      await pc.setRemoteDescription(description);
      for (const ufrag of ufragsOf(description.sdp)) this.#pastUfrags.add(ufrag);
      return !this.#closed;
    } catch (error) {
      if (!this.#closed) this.#fail(`could not apply the remote ${description.type}`, error);
      return false;
    }
  }

  async #answer(): Promise<void> {
    this.#attachHeldTracks();
    if (this.#reserveOnAnswer) {
      this.#reserveOnAnswer = false;
      for (const t of this.#pc.getTransceivers?.() ?? []) {
        if (!t.stopped && t.sender.track === null && t.direction === 'recvonly') t.direction = 'sendrecv';
      }
    }
    try {
      await this.#pc.setLocalDescription();
    } catch (error) {
      if (!this.#closed) this.#fail('could not create or set the local answer', error);
      return;
    }
    const local = this.#pc.localDescription;
    if (this.#closed || local?.type !== 'answer') return;
    this.#log.debug('Sending answer');
    this.safeEmit('description', { type: 'answer', sdp: local.sdp });
  }

  async #flushCandidates(): Promise<void> {
    if (this.#queue.length === 0) return;
    const ready: (IceCandidateInit | null)[] = [];
    const waiting: (IceCandidateInit | null)[] = [];
    for (const candidate of this.#queue) {
      const fit = this.#fit(candidate);
      if (fit === 'add') ready.push(candidate);
      else if (fit === 'wait') waiting.push(candidate);
    }
    this.#queue = waiting;
    if (ready.length === 0) return;
    this.#log.info(`Flushing ${ready.length} queued ICE candidates`);
    await Promise.all(ready.map((candidate) => this.#addCandidate(candidate, true)));
  }

  async #addCandidate(candidate: IceCandidateInit | null, queued: boolean): Promise<void> {
    try {
      await this.#pc.addIceCandidate(candidate);
      if (queued) this.#log.debug('Queued ICE candidate added successfully');
    } catch (error) {
      // Candidates of an offer we ignored (glare) are expected to fail.
      if (this.#closed || this.#ignoreOffer) return;
      this.#log.warn(`Could not add remote ICE candidate: ${describeError(error)}`);
    }
  }

  #attachHeldTracks(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = null;
    for (const { track, streams } of held) {
      this.#senders.set(track, this.#pc.addTrack(track, ...streams));
    }
    if (held.length > 0) this.#log.debug(`Attached ${held.length} local tracks to the answer`);
  }

  #onLocalCandidate(candidate: IceCandidateLike | null | undefined): void {
    if (this.#closed) return;
    this.safeEmit('candidate', candidate ? toCandidateInit(candidate) : null);
  }

  #updateLink(): void {
    if (this.#closed) return;
    const ice = this.#pc.iceConnectionState;
    this.safeEmit('states', ice, this.#pc.connectionState);
    const next = foldLinkState(ice, this.#pc.connectionState);
    if (next === this.#link) return;
    const old = this.#link;
    this.#link = next;
    this.#log.info(`ICE: ${ice}`);
    this.#log.info(`PeerConnection state: ${next}`);
    this.safeEmit('link', next, old);
  }

  #fail(what: string, error: unknown): void {
    const callError = new CallError('negotiation_failed', `${what}: ${describeError(error)}`, { cause: error });
    this.#log.error(callError.message);
    this.safeEmit('failure', callError);
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new CallError('closed', `${method}() after the peer connection was closed`);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
