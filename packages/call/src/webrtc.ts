/*
 * The slice of the WebRTC API the engine uses, as structural types. The browser's
 * RTCPeerConnection, werift's RTCPeerConnection (Node, load test) and the unit tests'
 * FakePeerConnection all satisfy them, so the engine never names a concrete implementation.
 * Track and stream types are parameters: the web app gets MediaStreamTrack/MediaStream back
 * from the engine's events, werift users get werift's classes.
 */

/**
 * An event-handler property type that is checked bivariantly, as methods are. Without this, the
 * browser's `(ev: RTCPeerConnectionIceEvent) => any` would not be assignable to a handler over our
 * smaller event shape, although it only ever receives richer events.
 */
export type EventHandler<E> = { bivarianceHack(event: E): unknown }['bivarianceHack'];

export interface TrackLike {
  readonly kind: string;
  stop(): void;
}

export interface StreamLike<Track extends TrackLike = TrackLike> {
  readonly id: string;
  getTracks(): Track[];
}

export interface SenderLike<Track extends TrackLike = TrackLike> {
  readonly track: Track | null;
  /** Swaps the track without renegotiation (browsers; werift too). */
  replaceTrack?(track: Track | null): Promise<void>;
  setStreams?(...streams: never[]): void;
}

/** The part of RTCRtpTransceiver the engine uses to reuse an idle m-section. */
export interface TransceiverLike<Track extends TrackLike = TrackLike> {
  readonly sender: SenderLike<Track>;
  readonly receiver: { readonly track: TrackLike };
  direction: string;
  readonly currentDirection?: string | null;
  readonly stopped?: boolean;
}

export interface SessionDescriptionLike {
  readonly type: string;
  readonly sdp: string;
}

/** A description received from the peer. */
export interface RemoteDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface IceCandidateLike {
  readonly candidate: string;
  readonly sdpMid?: string | null;
  readonly sdpMLineIndex?: number | null;
  readonly usernameFragment?: string | null;
}

export interface IceCandidateEventLike {
  /** `null` (browsers) or `undefined` (werift) at the end of gathering. */
  readonly candidate?: IceCandidateLike | null;
}

export interface TrackEventLike<Track extends TrackLike, Stream extends StreamLike<Track>> {
  readonly track: Track;
  readonly streams: readonly Stream[];
}

export interface IceServerLike {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** What the factory gets. The browser takes it as is; a werift factory maps it onto werift's config. */
export interface PeerConfiguration {
  iceServers?: IceServerLike[];
  iceTransportPolicy?: 'all' | 'relay';
}

/** An RTCStatsReport, or a Map built by a test: stats objects by id. */
export type StatsReportLike = ReadonlyMap<string, unknown>;

export interface PeerConnectionLike<
  Track extends TrackLike = TrackLike,
  Stream extends StreamLike<Track> = StreamLike<Track>,
> {
  readonly signalingState: string;
  readonly iceConnectionState: string;
  readonly connectionState: string;
  readonly localDescription: SessionDescriptionLike | null;
  readonly remoteDescription: SessionDescriptionLike | null;

  onicecandidate: EventHandler<IceCandidateEventLike> | null | undefined;
  ontrack: EventHandler<TrackEventLike<Track, Stream>> | null | undefined;
  onnegotiationneeded: EventHandler<unknown> | null | undefined;
  oniceconnectionstatechange: EventHandler<unknown> | null | undefined;
  onconnectionstatechange: EventHandler<unknown> | null | undefined;
  onsignalingstatechange: EventHandler<unknown> | null | undefined;

  /** Called without arguments only: the implicit form creates the right offer or answer atomically. */
  setLocalDescription(): Promise<unknown>;
  setRemoteDescription(description: RemoteDescription): Promise<unknown>;
  addIceCandidate(candidate: IceCandidateInit | null): Promise<unknown>;
  addTrack(track: Track, ...streams: Stream[]): SenderLike<Track>;
  removeTrack(sender: SenderLike<Track>): void;
  restartIce(): void;
  /** Browsers: lets a track re-use the m-section a removed track left idle. */
  getTransceivers?(): TransceiverLike<Track>[];
  /** Browsers: an m-section with no track yet (a connection made while ringing sends nothing). */
  addTransceiver?(kind: 'audio' | 'video', init: { direction: 'sendrecv'; streams: Stream[] }): TransceiverLike<Track>;
  /** Fresh ICE servers (new TURN credentials) before an ICE restart. Optional: werift has none. */
  setConfiguration?(configuration: PeerConfiguration): void;
  /** Browsers and werift; the engine reads inbound/outbound RTP and the selected pair from it. */
  getStats?(): Promise<StatsReportLike>;
  /** werift returns a promise, browsers return nothing. */
  close(): unknown;
}

export type PeerConnectionFactory<
  Track extends TrackLike = TrackLike,
  Stream extends StreamLike<Track> = StreamLike<Track>,
> = (configuration: PeerConfiguration) => PeerConnectionLike<Track, Stream>;

/** The browser's RTCPeerConnection. Resolved when called, so importing the engine in Node is safe. */
export const browserPeerConnectionFactory: PeerConnectionFactory<MediaStreamTrack, MediaStream> = (configuration) =>
  new RTCPeerConnection(configuration);

/** The logger the engine writes to; `console` fits. */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** Prefixes every line, e.g. `[call 1a2b3c4d]`, the way operators grep the console. */
export function prefixLogger(base: Logger, prefix: string): Logger {
  return {
    debug: (message, ...details) => base.debug(`${prefix} ${message}`, ...details),
    info: (message, ...details) => base.info(`${prefix} ${message}`, ...details),
    warn: (message, ...details) => base.warn(`${prefix} ${message}`, ...details),
    error: (message, ...details) => base.error(`${prefix} ${message}`, ...details),
  };
}

/** Time as the engine sees it. Injected so tests (and the load test) control ring and ICE timers. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
