/*
 * A fake RTCPeerConnection for engine unit tests (after matrix-js-sdk spec/test-utils/webrtc.ts and
 * mediasoup's FakeHandler). It keeps the JSEP signalling state machine honest — operations chain,
 * implicit offer/answer, implicit rollback, InvalidStateError where a browser throws one,
 * negotiationneeded only when stable — and records every call. ICE is not simulated: tests drive
 * iceConnectionState/connectionState, and "gathering" emits two host candidates and then null.
 * getStats() simulates RTP while connected: each reading, inbound counters grow unless the test
 * stopped delivering `inbound`, and the peer's receiver reports grow unless it stopped `outbound`.
 * Transceivers are modelled only as far as a connection made while ringing uses them
 * (addTransceiver() with no track, the m-sections a remote offer brings, replaceTrack onto them):
 * each is an `a=fake-slot:` line whose track can change without renegotiation.
 */
import type {
  EventHandler,
  IceCandidateEventLike,
  IceCandidateInit,
  PeerConfiguration,
  PeerConnectionFactory,
  PeerConnectionLike,
  RemoteDescription,
  StatsReportLike,
  SenderLike,
  SessionDescriptionLike,
  TrackEventLike,
  TransceiverLike,
} from '../webrtc.ts';

let nextId = 1;
const newId = (prefix: string): string => `${prefix}${nextId++}`;

export class FakeTrack {
  readonly id: string;
  readonly kind: 'audio' | 'video';
  enabled = true;
  stopped = false;
  constructor(kind: 'audio' | 'video', id = newId(`${kind}-`)) {
    this.kind = kind;
    this.id = id;
  }
  stop(): void {
    this.stopped = true;
  }
}

export class FakeStream {
  readonly id: string;
  readonly #tracks: FakeTrack[];
  constructor(tracks: FakeTrack[] = [], id = newId('stream-')) {
    this.id = id;
    this.#tracks = [...tracks];
  }
  getTracks(): FakeTrack[] {
    return [...this.#tracks];
  }
  addTrack(track: FakeTrack): void {
    if (!this.#tracks.includes(track)) this.#tracks.push(track);
  }
}

export function fakeMedia(kind: 'audio' | 'video'): FakeStream {
  const tracks = kind === 'video' ? [new FakeTrack('audio'), new FakeTrack('video')] : [new FakeTrack('audio')];
  return new FakeStream(tracks);
}

/** An m-section of a transceiver (addTransceiver(), or made by a remote offer): its track changes without renegotiation. */
interface Slot {
  mid: string;
  kind: 'audio' | 'video';
  direction: string;
  /** Made by a remote offer and never given a track by addTrack(). */
  fromRemote: boolean;
}

class FakeSender implements SenderLike<FakeTrack> {
  track: FakeTrack | null;
  streamIds: string[];
  readonly replaced: (FakeTrack | null)[] = [];
  readonly slot: Slot | undefined;
  constructor(track: FakeTrack | null, streamIds: string[], slot?: Slot) {
    this.track = track;
    this.streamIds = streamIds;
    this.slot = slot;
  }
  /** Set by the connection: a change that needs negotiation (as setStreams() does in browsers). */
  onNegotiationChange: (() => void) | null = null;
  async replaceTrack(track: FakeTrack | null): Promise<void> {
    this.replaced.push(track);
    this.track = track;
  }
  /** Changes the msid the SDP carries: negotiation is needed (replaceTrack() needs none). */
  setStreams(...streams: FakeStream[]): void {
    this.streamIds = streams.map((s) => s.id);
    this.onNegotiationChange?.();
  }
}

type Method = 'setLocalDescription' | 'setRemoteDescription' | 'addIceCandidate';

interface Description {
  type: 'offer' | 'answer';
  sdp: string;
}

function domError(name: string, message: string): Error {
  return new DOMException(message, name);
}

export class FakePeerConnection implements PeerConnectionLike<FakeTrack, FakeStream> {
  readonly id = newId('pc-');
  readonly configuration: PeerConfiguration;
  signalingState = 'stable';
  iceConnectionState = 'new';
  connectionState = 'new';
  /** Every public call, in order, with its arguments. */
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** Every signalingState this connection went through, `rollback` marking implicit or explicit rollbacks. */
  readonly signalingHistory: string[] = ['stable'];
  /** Candidates that reached addIceCandidate successfully. */
  readonly addedCandidates: (IceCandidateInit | null)[] = [];
  readonly remoteTracks = new Map<string, FakeTrack>();
  /** Emit two host candidates and end-of-candidates after each setLocalDescription. */
  autoGather = true;
  /** Which directions the simulated RTP reaches (see getStats). */
  readonly delivering = { inbound: true, outbound: true };
  /** The simulated RTP counters, as getStats() last reported them. */
  readonly rtp = { packetsReceived: 0, bytesReceived: 0, bytesSent: 0, peerReports: 0 };

  onicecandidate: EventHandler<IceCandidateEventLike> | null | undefined = null;
  ontrack: EventHandler<TrackEventLike<FakeTrack, FakeStream>> | null | undefined = null;
  onnegotiationneeded: EventHandler<unknown> | null | undefined = null;
  oniceconnectionstatechange: EventHandler<unknown> | null | undefined = null;
  onconnectionstatechange: EventHandler<unknown> | null | undefined = null;
  onsignalingstatechange: EventHandler<unknown> | null | undefined = null;

  #currentLocal: Description | null = null;
  #pendingLocal: Description | null = null;
  #currentRemote: Description | null = null;
  #pendingRemote: Description | null = null;
  #senders: FakeSender[] = [];
  #chain: Promise<unknown> = Promise.resolve();
  #holds = new Map<Method, Promise<void>>();
  #holdsAfter = new Map<Method, Promise<void>>();
  /**
   * Browsers run description and candidate operations one after another (the operations chain).
   * werift does not; set false to let them overlap like werift's.
   */
  chained = true;
  #version = 0;
  #ufrag = newId('ufrag');
  #restartPending = false;
  #offerHadRestart = false;
  /** Local media as last agreed in a completed offer/answer exchange. */
  #negotiated = '';
  #negotiationScheduled = false;
  #remoteStreams = new Map<string, FakeStream>();
  #closed = false;

  constructor(configuration: PeerConfiguration = {}) {
    this.configuration = configuration;
  }

  get localDescription(): SessionDescriptionLike | null {
    return this.#pendingLocal ?? this.#currentLocal;
  }

  get remoteDescription(): SessionDescriptionLike | null {
    return this.#pendingRemote ?? this.#currentRemote;
  }

  get senders(): readonly FakeSender[] {
    return this.#senders;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The current ICE username fragment; changes on every ICE restart. */
  get ufrag(): string {
    return this.#ufrag;
  }

  /** Makes the next call of `method` wait, before it takes effect, until the returned function is called. */
  hold(method: Method): () => void {
    return this.#gate(this.#holds, method);
  }

  /** Makes the next call of `method` take effect at once but resolve only when the returned function is called. */
  holdAfter(method: Method): () => void {
    return this.#gate(this.#holdsAfter, method);
  }

  #gate(map: Map<Method, Promise<void>>, method: Method): () => void {
    let release!: () => void;
    map.set(method, new Promise<void>((resolve) => (release = resolve)));
    return () => release();
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  // ---- the RTCPeerConnection surface ----

  setLocalDescription(description?: { type: 'rollback' }): Promise<void> {
    this.#record('setLocalDescription', description === undefined ? [] : [description]);
    return this.#enqueue('setLocalDescription', () => {
      if (description?.type === 'rollback') {
        if (this.signalingState !== 'have-local-offer') {
          throw domError('InvalidStateError', `cannot rollback in state ${this.signalingState}`);
        }
        this.#rollbackLocal();
        return;
      }
      if (this.signalingState === 'stable' || this.signalingState === 'have-local-offer') {
        this.#pendingLocal = { type: 'offer', sdp: this.#makeSdp('offer') };
        this.#offerHadRestart = this.#restartPending;
        this.#restartPending = false;
        this.#setSignaling('have-local-offer');
      } else if (this.signalingState === 'have-remote-offer') {
        const answer: Description = { type: 'answer', sdp: this.#makeSdp('answer') };
        this.#currentLocal = answer;
        this.#currentRemote = this.#pendingRemote;
        this.#pendingRemote = null;
        this.#negotiated = mediaOf(answer.sdp);
        this.#setSignaling('stable');
      } else {
        throw domError('InvalidStateError', `setLocalDescription in state ${this.signalingState}`);
      }
      this.#gather();
      this.#checkNegotiationNeeded();
    });
  }

  setRemoteDescription(description: RemoteDescription): Promise<void> {
    this.#record('setRemoteDescription', [description]);
    return this.#enqueue('setRemoteDescription', () => {
      if (!description.sdp.startsWith('v=0')) {
        throw domError('OperationError', 'Failed to parse SessionDescription');
      }
      if (description.type === 'offer') {
        if (this.signalingState === 'have-local-offer') {
          // JSEP: an offer in have-local-offer rolls the local offer back first.
          this.#rollbackLocal();
        }
        if (this.signalingState !== 'stable' && this.signalingState !== 'have-remote-offer') {
          throw domError('InvalidStateError', `remote offer in state ${this.signalingState}`);
        }
        this.#pendingRemote = { ...description };
        this.#setSignaling('have-remote-offer');
        this.#applyRemoteMedia(description.sdp, description.type);
      } else {
        if (this.signalingState !== 'have-local-offer' || !this.#pendingLocal) {
          throw domError('InvalidStateError', `remote answer in state ${this.signalingState}`);
        }
        this.#currentRemote = { ...description };
        this.#pendingRemote = null;
        this.#currentLocal = this.#pendingLocal;
        this.#pendingLocal = null;
        this.#negotiated = mediaOf(this.#currentLocal.sdp);
        this.#setSignaling('stable');
        this.#applyRemoteMedia(description.sdp, description.type);
        this.#checkNegotiationNeeded();
      }
    });
  }

  addIceCandidate(candidate: IceCandidateInit | null): Promise<void> {
    this.#record('addIceCandidate', [candidate]);
    return this.#enqueue('addIceCandidate', () => {
      const remote = this.remoteDescription;
      if (remote === null) {
        throw domError('InvalidStateError', 'The remote description was null');
      }
      const ufrag = candidate?.usernameFragment;
      if (ufrag && !remote.sdp.includes(`a=ice-ufrag:${ufrag}\r\n`)) {
        throw domError('OperationError', 'Unknown ufrag');
      }
      this.addedCandidates.push(candidate);
    });
  }

  addTransceiver(kind: 'audio' | 'video', init: { direction: 'sendrecv'; streams: FakeStream[] }): TransceiverLike<FakeTrack> {
    this.#record('addTransceiver', [kind, init]);
    if (this.#closed) throw domError('InvalidStateError', 'closed');
    const sender = new FakeSender(
      null,
      init.streams.map((s) => s.id),
      { mid: newId('mid-'), kind, direction: init.direction, fromRemote: false },
    );
    sender.onNegotiationChange = () => this.#checkNegotiationNeeded();
    this.#senders.push(sender);
    this.#checkNegotiationNeeded();
    return transceiverOf(sender);
  }

  /** The transceivers of slots (see the header); senders made by addTrack() are not listed. */
  getTransceivers(): TransceiverLike<FakeTrack>[] {
    return this.#senders.filter((s) => s.slot).map(transceiverOf);
  }

  addTrack(track: FakeTrack, ...streams: FakeStream[]): FakeSender {
    this.#record('addTrack', [track, ...streams]);
    if (this.#closed) throw domError('InvalidStateError', 'closed');
    if (this.#senders.some((s) => s.track === track)) throw domError('InvalidAccessError', 'track already added');
    // As in browsers: a transceiver a remote offer made, never used to send, takes the track.
    const offered = this.#senders.find((s) => s.slot?.fromRemote && s.track === null && s.slot.kind === track.kind);
    if (offered?.slot) {
      offered.track = track;
      offered.streamIds = streams.map((s) => s.id);
      offered.slot.fromRemote = false;
      offered.slot.direction = 'sendrecv';
      this.#checkNegotiationNeeded();
      return offered;
    }
    const sender = new FakeSender(
      track,
      streams.map((s) => s.id),
    );
    this.#senders.push(sender);
    this.#checkNegotiationNeeded();
    return sender;
  }

  removeTrack(sender: SenderLike<FakeTrack>): void {
    this.#record('removeTrack', [sender]);
    if (this.#closed) throw domError('InvalidStateError', 'closed');
    this.#senders = this.#senders.filter((s) => s !== sender);
    this.#checkNegotiationNeeded();
  }

  setConfiguration(configuration: PeerConfiguration): void {
    this.#record('setConfiguration', [configuration]);
  }

  restartIce(): void {
    this.#record('restartIce', []);
    this.#restartPending = true;
    this.#ufrag = newId('ufrag');
    this.#checkNegotiationNeeded();
  }

  close(): void {
    this.#record('close', []);
    if (this.#closed) return;
    this.#closed = true;
    // Like browsers: close() changes the states without firing events.
    this.signalingState = 'closed';
    this.iceConnectionState = 'closed';
    this.connectionState = 'closed';
  }

  /**
   * A report like a browser's: the selected host pair, one inbound and one outbound audio stream
   * and the peer's receiver report. While connected every reading moves the counters on: 50 packets
   * (5 KB) in unless inbound delivery is stopped, 5 KB out, one more receiver report unless
   * outbound delivery is stopped.
   */
  async getStats(): Promise<StatsReportLike> {
    this.#record('getStats', []);
    if (this.connectionState === 'connected') {
      if (this.delivering.inbound) {
        this.rtp.packetsReceived += 50;
        this.rtp.bytesReceived += 5_000;
      }
      this.rtp.bytesSent += 5_000;
      if (this.delivering.outbound) this.rtp.peerReports += 1;
    }
    const stats: Record<string, unknown>[] = [
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P' },
      { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', state: 'succeeded', nominated: true, currentRoundTripTime: 0.02 },
      { id: 'L', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
      { id: 'R', type: 'remote-candidate', candidateType: 'host', protocol: 'udp' },
      { id: 'IA', type: 'inbound-rtp', kind: 'audio', packetsLost: 0, packetsReceived: this.rtp.packetsReceived, bytesReceived: this.rtp.bytesReceived },
      { id: 'OA', type: 'outbound-rtp', kind: 'audio', bytesSent: this.rtp.bytesSent },
    ];
    if (this.rtp.peerReports > 0) stats.push({ id: 'RA', type: 'remote-inbound-rtp', kind: 'audio', roundTripTimeMeasurements: this.rtp.peerReports });
    return new Map(stats.map((entry) => [entry.id as string, entry]));
  }

  // ---- test drivers ----

  /** The network stops carrying media one way: `inbound` (to us) or `outbound` (to the peer). */
  stopDelivering(direction: 'inbound' | 'outbound'): void {
    this.delivering[direction] = false;
  }

  resumeDelivering(direction: 'inbound' | 'outbound'): void {
    this.delivering[direction] = true;
  }

  setIceConnectionState(state: string): void {
    this.iceConnectionState = state;
    this.oniceconnectionstatechange?.({});
  }

  setConnectionState(state: string): void {
    this.connectionState = state;
    this.onconnectionstatechange?.({});
  }

  /** ICE and DTLS up. */
  connect(): void {
    this.setIceConnectionState('connected');
    this.setConnectionState('connected');
  }

  emitCandidate(candidate: IceCandidateInit | null): void {
    this.onicecandidate?.({ candidate });
  }

  // ---- internals ----

  #record(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
  }

  #enqueue(method: Method, operation: () => void): Promise<void> {
    const before = this.#holds.get(method);
    const after = this.#holdsAfter.get(method);
    this.#holds.delete(method);
    this.#holdsAfter.delete(method);
    const run = async (): Promise<void> => {
      if (before) await before;
      await Promise.resolve();
      if (this.#closed) throw domError('InvalidStateError', 'The RTCPeerConnection is closed');
      operation();
      if (after) await after;
    };
    if (!this.chained) return run();
    const result = this.#chain.then(run, run);
    this.#chain = result.catch(() => undefined);
    return result;
  }

  #setSignaling(state: string): void {
    this.signalingState = state;
    this.signalingHistory.push(state);
    this.onsignalingstatechange?.({});
  }

  #rollbackLocal(): void {
    this.#pendingLocal = null;
    if (this.#offerHadRestart) this.#restartPending = true;
    this.signalingHistory.push('rollback');
    this.#setSignaling('stable');
  }

  #localMedia(): string {
    const slots = this.#senders.filter((s) => s.slot).map((s) => slotLine(s));
    return [...slots, ...this.#senders
      .filter((s) => s.track && !s.slot)
      .map((s) => `${s.track!.kind} ${s.track!.id} ${s.streamIds[0] ?? '-'}`)]
      .sort()
      .join(',');
  }

  #makeSdp(type: 'offer' | 'answer'): string {
    this.#version++;
    const lines = ['v=0', `o=- ${this.id} ${this.#version} IN IP4 127.0.0.1`, `s=fake-${type}`, `a=ice-ufrag:${this.#ufrag}`];
    for (const s of this.#senders) {
      if (s.slot) lines.push(`a=fake-slot:${slotLine(s)}`);
      else if (s.track) lines.push(`a=fake-track:${s.track.kind} ${s.track.id} ${s.streamIds[0] ?? '-'}`);
    }
    return `${lines.join('\r\n')}\r\n`;
  }

  #applyRemoteMedia(sdp: string, type: 'offer' | 'answer'): void {
    for (const line of sdp.split('\r\n')) {
      if (line.startsWith('a=fake-slot:')) {
        this.#applyRemoteSlot(line.slice('a=fake-slot:'.length), type);
        continue;
      }
      if (!line.startsWith('a=fake-track:')) continue;
      const [kind, trackId, streamId] = line.slice('a=fake-track:'.length).split(' ');
      if (!trackId || this.remoteTracks.has(trackId)) continue;
      const track = new FakeTrack(kind === 'video' ? 'video' : 'audio', trackId);
      this.remoteTracks.set(trackId, track);
      this.#announceRemote(track, streamId);
    }
  }

  /** A remote m-section: an offer's makes a receive-only transceiver here; one that sends gives a remote track (once per m-section). */
  #applyRemoteSlot(line: string, type: 'offer' | 'answer'): void {
    const [mid = '', kind, streamId, direction = ''] = line.split(' ');
    const trackKind = kind === 'video' ? 'video' : 'audio';
    if (type === 'offer' && !this.#senders.some((s) => s.slot?.mid === mid)) {
      const sender = new FakeSender(null, [], { mid, kind: trackKind, direction: 'recvonly', fromRemote: true });
      sender.onNegotiationChange = () => this.#checkNegotiationNeeded();
      this.#senders.push(sender);
    }
    const key = `slot:${mid}`;
    if (!direction.startsWith('send') || this.remoteTracks.has(key)) return;
    const track = new FakeTrack(trackKind);
    this.remoteTracks.set(key, track);
    this.#announceRemote(track, streamId);
  }

  /** A remote track arrived: it joins its stream (none for `-`) and ontrack fires. */
  #announceRemote(track: FakeTrack, streamId: string | undefined): void {
    const streams: FakeStream[] = [];
    if (streamId && streamId !== '-') {
      let stream = this.#remoteStreams.get(streamId);
      if (!stream) {
        stream = new FakeStream([], streamId);
        this.#remoteStreams.set(streamId, stream);
      }
      stream.addTrack(track);
      streams.push(stream);
    }
    this.ontrack?.({ track, streams });
  }

  #gather(): void {
    if (!this.autoGather) return;
    const ufrag = this.#ufrag;
    void this.#chain.then(() => {
      if (this.#closed) return;
      for (const port of [50000, 50001]) {
        this.emitCandidate({
          candidate: `candidate:${port} 1 udp 2122260223 10.0.0.1 ${port} typ host`,
          sdpMid: '0',
          sdpMLineIndex: 0,
          usernameFragment: ufrag,
        });
      }
      this.emitCandidate(null);
    });
  }

  /** Fires negotiationneeded (once, asynchronously) when stable and local media or ICE credentials changed. */
  #checkNegotiationNeeded(): void {
    if (this.#closed || this.#negotiationScheduled) return;
    this.#negotiationScheduled = true;
    void this.#chain.then(() => {
      this.#negotiationScheduled = false;
      if (this.#closed || this.signalingState !== 'stable') return;
      if (this.#localMedia() === this.#negotiated && !this.#restartPending) return;
      this.onnegotiationneeded?.({});
    });
  }
}

function slotLine(s: FakeSender): string {
  return `${s.slot!.mid} ${s.slot!.kind} ${s.streamIds[0] ?? '-'} ${s.slot!.direction}`;
}

function transceiverOf(sender: FakeSender): TransceiverLike<FakeTrack> {
  const slot = sender.slot!;
  return {
    sender,
    receiver: { track: { kind: slot.kind, stop: () => undefined } },
    get direction() {
      return slot.direction;
    },
    set direction(direction: string) {
      slot.direction = direction;
    },
    stopped: false,
  };
}

function mediaOf(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((l) => l.startsWith('a=fake-track:') || l.startsWith('a=fake-slot:'))
    .map((l) => l.slice(l.indexOf(':') + 1))
    .sort()
    .join(',');
}

/** A factory that remembers every connection it made. */
export function fakePeerConnectionFactory(): {
  factory: PeerConnectionFactory<FakeTrack, FakeStream>;
  instances: FakePeerConnection[];
  last(): FakePeerConnection;
} {
  const instances: FakePeerConnection[] = [];
  return {
    factory: (configuration) => {
      const pc = new FakePeerConnection(configuration);
      instances.push(pc);
      return pc;
    },
    instances,
    last() {
      const pc = instances.at(-1);
      if (!pc) throw new Error('no peer connection was created');
      return pc;
    },
  };
}

/** Lets queued promise callbacks and zero-delay timers run. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}
