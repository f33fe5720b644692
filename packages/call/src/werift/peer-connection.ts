/*
 * werift's RTCPeerConnection made to behave like a browser's where the engine relies on it.
 *
 * - Browsers run setLocalDescription, setRemoteDescription and addIceCandidate through one
 *   operations chain; werift runs them as they come. Two offers made at once (a data channel and a
 *   track added in the same tick each ask for negotiation) make werift reject the first with
 *   "setLocalDescription must use the latest created offer". Here they are chained.
 * - Browsers fire `negotiationneeded` once, when the chain is empty and signaling is stable; werift
 *   fires it for each change made in one tick. Here it is coalesced and held until then.
 * - A browser given no STUN server queries none; werift's ICE agent then falls back to
 *   stun.l.google.com:19302 (ice.ts, `validateAddress(stunServer) ?? [...]`), so every gathering
 *   resolves that name and sends it a binding request, and setLocalDescription() waits for it: up
 *   to 5 s when the lookup or the request goes unanswered (a host without a route out, a resolver
 *   that drops a burst of lookups — at 100 concurrent call set-ups 85 % of them waited 5 s on each
 *   side). Here a configuration without STUN gets none, and nothing leaves for Google.
 * - A browser's connectionState is `connected` once ICE and DTLS are. werift's says `connected`
 *   whenever an answer is applied while ICE is already connected (peerConnection.ts connect()
 *   returns early for a connected ICE transport), also before the DTLS handshake is done: a
 *   renegotiation right after the first answer made the engine count a call as connected seconds
 *   before media could flow, and its media watchdog then restarted ICE under the handshake. Here
 *   `connected` also needs every DTLS transport connected, and a DTLS change fires the event.
 * - Browsers fire `negotiationneeded` only when a description would change ("check if negotiation
 *   is needed", W3C webrtc 4.7.3). werift asks for it on every addTrack(), also for the tracks an
 *   answerer adds into the transceivers the remote offer made (fired once its answer is set): every
 *   callee re-offered right after its first answer, a round trip more per set-up, and under load
 *   the source of renegotiation loops. Here it fires only when an ICE restart is pending, a data
 *   channel or transceiver is not yet in the local description, or a transceiver's direction
 *   differs from the negotiated one; otherwise werift's flag is cleared, so later changes fire.
 *
 * Everything else is passed through: werift already has the browser's `on…` handlers, implicit
 * setLocalDescription(), addIceCandidate(null), restartIce() and setConfiguration().
 */
import type { MediaStream, MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver } from 'werift';
import type {
  EventHandler,
  IceCandidateEventLike,
  IceCandidateInit,
  PeerConfiguration,
  PeerConnectionLike,
  RemoteDescription,
  SenderLike,
  TrackEventLike,
  StatsReportLike,
  TransceiverLike,
} from '../webrtc.ts';

export class WeriftPeerConnection implements PeerConnectionLike<MediaStreamTrack, MediaStream> {
  /** The werift connection itself: data channels, getStats(), transceivers' RTP. */
  readonly pc: RTCPeerConnection;
  #chain: Promise<unknown> = Promise.resolve();
  #operations = 0;
  #onnegotiationneeded: EventHandler<unknown> | null | undefined = null;
  /** werift asked for negotiation while it could not be fired (an operation ran, or not stable). */
  #negotiationWanted = false;
  #fireScheduled = false;
  #closed = false;
  /** Whether the configuration names a STUN server; without one, werift's default is taken away. */
  #stun: boolean;
  #onconnectionstatechange: EventHandler<unknown> | null | undefined = null;
  #reportedConnectionState = '';
  readonly #watchedDtls = new WeakSet<object>();

  constructor(pc: RTCPeerConnection, configuration: PeerConfiguration = {}) {
    this.pc = pc;
    this.#stun = namesStun(configuration);
    pc.onNegotiationneeded.subscribe(() => this.#wantNegotiation());
    pc.signalingStateChange.subscribe((state) => {
      if (state === 'stable' && this.#negotiationWanted) this.#scheduleNegotiation();
    });
  }

  get signalingState(): string {
    return this.pc.signalingState;
  }
  get iceConnectionState(): string {
    return this.pc.iceConnectionState;
  }
  get connectionState(): string {
    const state = this.pc.connectionState;
    if (state !== 'connected') return state;
    return this.pc.dtlsTransports.every((t) => t.state === 'connected') ? 'connected' : 'connecting';
  }
  get localDescription(): { type: string; sdp: string } | null {
    return this.pc.localDescription;
  }
  get remoteDescription(): { type: string; sdp: string } | null {
    return this.pc.remoteDescription;
  }

  get onicecandidate(): EventHandler<IceCandidateEventLike> | null | undefined {
    return this.pc.onicecandidate;
  }
  set onicecandidate(handler: EventHandler<IceCandidateEventLike> | null | undefined) {
    this.pc.onicecandidate = handler ?? null;
  }
  get ontrack(): EventHandler<TrackEventLike<MediaStreamTrack, MediaStream>> | null | undefined {
    return this.pc.ontrack;
  }
  set ontrack(handler: EventHandler<TrackEventLike<MediaStreamTrack, MediaStream>> | null | undefined) {
    this.pc.ontrack = handler ?? null;
  }
  get oniceconnectionstatechange(): EventHandler<unknown> | null | undefined {
    return this.pc.oniceconnectionstatechange;
  }
  set oniceconnectionstatechange(handler: EventHandler<unknown> | null | undefined) {
    this.pc.oniceconnectionstatechange = handler ? () => handler(undefined) : null;
  }
  get onconnectionstatechange(): EventHandler<unknown> | null | undefined {
    return this.#onconnectionstatechange;
  }
  set onconnectionstatechange(handler: EventHandler<unknown> | null | undefined) {
    this.#onconnectionstatechange = handler;
    this.pc.onconnectionstatechange = handler ? () => this.#connectionStateChanged() : null;
  }
  get onsignalingstatechange(): EventHandler<unknown> | null | undefined {
    return this.pc.onsignalingstatechange;
  }
  set onsignalingstatechange(handler: EventHandler<unknown> | null | undefined) {
    this.pc.onsignalingstatechange = handler ?? null;
  }
  get onnegotiationneeded(): EventHandler<unknown> | null | undefined {
    return this.#onnegotiationneeded;
  }
  set onnegotiationneeded(handler: EventHandler<unknown> | null | undefined) {
    this.#onnegotiationneeded = handler;
  }

  setLocalDescription(): Promise<unknown> {
    return this.#enqueue(() => {
      // The ICE agents exist by now (made with the transceivers, data channel or remote offer);
      // werift gathers only here.
      if (!this.#stun) for (const t of this.pc.dtlsTransports) t.iceTransport.connection.stunServer = undefined;
      return this.pc.setLocalDescription();
    });
  }

  setRemoteDescription(description: RemoteDescription): Promise<unknown> {
    return this.#enqueue(() => this.pc.setRemoteDescription(description));
  }

  addIceCandidate(candidate: IceCandidateInit | null): Promise<unknown> {
    return this.#enqueue(() => this.pc.addIceCandidate(candidate));
  }

  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): SenderLike<MediaStreamTrack> {
    return this.pc.addTrack(track, ...streams);
  }

  removeTrack(sender: SenderLike<MediaStreamTrack>): void {
    this.pc.removeTrack(sender as RTCRtpSender);
  }

  restartIce(): void {
    this.pc.restartIce();
  }

  getTransceivers(): TransceiverLike<MediaStreamTrack>[] {
    return this.pc.getTransceivers().map((t: RTCRtpTransceiver) => t as unknown as TransceiverLike<MediaStreamTrack>);
  }

  setConfiguration(configuration: PeerConfiguration): void {
    this.#stun = namesStun(configuration);
    this.pc.setConfiguration({ iceServers: configuration.iceServers ?? [], iceTransportPolicy: configuration.iceTransportPolicy ?? 'all' });
  }

  /** werift's RTCStatsReport (a Map): inbound-rtp, outbound-rtp, remote-inbound-rtp, candidate pairs, as browsers name them. */
  getStats(): Promise<StatsReportLike> {
    return this.pc.getStats();
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.pc.close();
  }

  /** Fires connectionstatechange when the state the engine reads (connectionState above) changed. */
  #connectionStateChanged(): void {
    const state = this.connectionState;
    if (state === this.#reportedConnectionState) return;
    this.#reportedConnectionState = state;
    this.#onconnectionstatechange?.(undefined);
  }

  /** Listens to DTLS transports made since the last call (werift makes them with transceivers and descriptions). */
  #watchDtls(): void {
    for (const t of this.pc.dtlsTransports) {
      if (this.#watchedDtls.has(t)) continue;
      this.#watchedDtls.add(t);
      t.onStateChange.subscribe(() => {
        if (!this.#closed) this.#connectionStateChanged();
      });
    }
  }

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    this.#operations++;
    const run = this.#chain.then(() => {
      this.#watchDtls();
      return operation();
    });
    const settle = () => {
      this.#watchDtls();
      this.#operations--;
      if (this.#operations === 0 && this.#negotiationWanted) this.#scheduleNegotiation();
    };
    this.#chain = run.then(settle, settle);
    return run;
  }

  #wantNegotiation(): void {
    this.#negotiationWanted = true;
    this.#scheduleNegotiation();
  }

  /** Fires `negotiationneeded` once, on a later turn, if it is still wanted, can be acted on and would change something. */
  #scheduleNegotiation(): void {
    if (this.#fireScheduled) return;
    this.#fireScheduled = true;
    setImmediate(() => {
      this.#fireScheduled = false;
      if (this.#closed || !this.#negotiationWanted) return;
      if (this.#operations > 0 || this.pc.signalingState !== 'stable') return; // re-checked when that changes
      this.#negotiationWanted = false;
      if (!wouldChange(this.pc)) {
        // werift ignores further requests until this flag is down again (it lowers it only on a
        // remote description).
        this.pc.negotiationneeded = false;
        return;
      }
      this.#onnegotiationneeded?.(undefined);
    });
  }
}

/** A send/receive direction as its two halves. */
const HALVES: Record<string, [send: boolean, recv: boolean]> = {
  sendrecv: [true, true],
  sendonly: [true, false],
  recvonly: [false, true],
  inactive: [false, false],
};

/** Whether werift's request for negotiation would change a description (the W3C check, without msids). */
function wouldChange(pc: RTCPeerConnection): boolean {
  if (pc.needRestart) return true;
  const local = pc.localDescription;
  if (!local) return true;
  if (pc.sctpTransport && !/^m=application /m.test(local.sdp)) return true;
  for (const t of pc.getTransceivers()) {
    if (t.stopped || t.stopping) continue;
    if (!t.mid || !t.currentDirection) return true;
    // An answerer's negotiated direction is its own intersected with the offer's.
    const wanted = local.type === 'answer' ? intersect(t.direction, t.offerDirection) : t.direction;
    if (wanted !== t.currentDirection) return true;
  }
  return false;
}

function intersect(own: string, offered: string | undefined): string {
  const [s1, r1] = HALVES[own] ?? [false, false];
  const [s2, r2] = HALVES[offered ?? 'inactive'] ?? [false, false];
  const send = s1 && s2;
  const recv = r1 && r2;
  return send && recv ? 'sendrecv' : send ? 'sendonly' : recv ? 'recvonly' : 'inactive';
}

function namesStun(configuration: PeerConfiguration): boolean {
  return (configuration.iceServers ?? []).some((server) => [server.urls].flat().some((url) => /^stuns?:/i.test(url)));
}
