import { candidateType, diagnose, type CandidateType, type ConnectionDiagnosis } from './diagnosis.ts';
import { TypedEmitter } from './emitter.ts';
import { describeError, type CallError } from './errors.ts';
import type { LinkState } from './link-state.ts';
import { PeerTransport, type LocalDescription } from './peer.ts';
import type { CallTimeouts } from './session-types.ts';
import { Timers } from './steps.ts';
import type {
  Clock,
  IceCandidateInit,
  Logger,
  PeerConfiguration,
  PeerConnectionFactory,
  RemoteDescription,
  StatsReportLike,
  StreamLike,
  TrackLike,
} from './webrtc.ts';

export interface MediaPathEvents<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** A local offer or answer for the peer. */
  description: (description: LocalDescription) => void;
  /** A local candidate for the peer; null at the end of gathering. */
  candidate: (candidate: IceCandidateInit | null) => void;
  /** A remote track seen for the first time, and the streams it belongs to. */
  track: (track: Track, streams: readonly Stream[]) => void;
  /** A remote stream seen for the first time. */
  remoteStream: (stream: Stream) => void;
  /** The raw iceConnectionState / connectionState changed. */
  transport: (ice: string, connection: string) => void;
  /** ICE and DTLS are up (again). */
  up: () => void;
  /** The path was up and is lost; ICE restarts follow by themselves. */
  down: () => void;
  /** No path within connectMs of opening, or none again within reconnectMs of losing it. */
  giveUp: (diagnosis: ConnectionDiagnosis) => void;
  /** An offer or answer failed; `fatal` when the path was never up (nothing works without it). */
  negotiationFailed: (error: CallError, fatal: boolean) => void;
}

export interface MediaPathOptions<Track extends TrackLike, Stream extends StreamLike<Track>> {
  factory: PeerConnectionFactory<Track, Stream>;
  configuration: PeerConfiguration;
  /** Fresh ICE servers before every ICE restart (TURN credentials expire). */
  refreshConfiguration: (() => Promise<PeerConfiguration>) | undefined;
  /** The callee is polite, and holds its tracks until the caller's first offer. */
  polite: boolean;
  /**
   * Made while the call rings (decision 020): no connect timeout until answered(), and a callee
   * answers the first offer ready to send on each m-section with no track (sendTrack() on the click).
   */
  preconnect?: boolean;
  logger: Logger;
  clock: Clock;
  timeouts: CallTimeouts;
}

type TimerName = 'connect' | 'restart' | 'reconnect';

/**
 * The media connection of one answered call: one PeerTransport, the ICE restart policy
 * (`failed` restarts at once, `disconnected` after a grace period, reconnectMs bounds it all),
 * the connect timeout, the candidate types seen and the diagnosis from the ICE servers it has.
 */
export class MediaPath<Track extends TrackLike, Stream extends StreamLike<Track>> extends TypedEmitter<MediaPathEvents<Track, Stream>> {
  readonly #transport: PeerTransport<Track, Stream>;
  readonly #refresh: (() => Promise<PeerConfiguration>) | undefined;
  readonly #log: Logger;
  readonly #timeouts: CallTimeouts;
  readonly #timers: Timers<TimerName>;
  readonly #gathered = { local: new Set<CandidateType>(), remote: new Set<CandidateType>() };
  readonly #remoteStreams = new Set<Stream>();
  readonly #remoteTracks = new WeakSet<Track>();
  #configuration: PeerConfiguration;
  #wasUp = false;
  #answered = false;
  #down = false;
  #restarting = false;

  /** Throws CallError('peer_connection_failed') when the factory fails. */
  constructor(options: MediaPathOptions<Track, Stream>) {
    super();
    this.#refresh = options.refreshConfiguration;
    this.#log = options.logger;
    this.#timeouts = options.timeouts;
    this.#configuration = options.configuration;
    this.#timers = new Timers(options.clock, () => this.#log, (callback) => callback());
    const transport = new PeerTransport<Track, Stream>({
      factory: options.factory,
      configuration: options.configuration,
      polite: options.polite,
      waitForRemoteOffer: options.polite,
      reserveOnAnswer: options.polite && options.preconnect === true,
      logger: options.logger,
    });
    this.#transport = transport;
    transport.on('description', (d) => this.safeEmit('description', d));
    transport.on('candidate', (candidate) => {
      this.#note('local', candidate?.candidate);
      this.safeEmit('candidate', candidate);
    });
    transport.on('track', (track, streams) => this.#onTrack(track, streams));
    transport.on('states', (ice, connection) => this.safeEmit('transport', ice, connection));
    transport.on('link', (link) => this.#onLink(link));
    transport.on('failure', (error) => this.safeEmit('negotiationFailed', error, !this.#wasUp));
    if (!options.preconnect) this.answered();
  }

  /**
   * The call is answered: the connect timeout runs from now, unless the path is up already (a
   * path made while ringing). Once is enough; later calls do nothing.
   */
  answered(): void {
    if (this.#answered) return;
    this.#answered = true;
    if (this.#wasUp || this.closed) return;
    this.#timers.arm('connect', this.#timeouts.connectMs, () => {
      const diagnosis = this.diagnose();
      this.#log.warn(
        `Not connected after ${this.#timeouts.connectMs} ms; giving up (${diagnosis.code}; local: ${diagnosis.local.join(',') || 'none'}; remote: ${diagnosis.remote.join(',') || 'none'})`,
      );
      this.safeEmit('giveUp', diagnosis);
    });
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.#log.error(`listener for "${event}" threw: ${describeError(error)}`, error);
  }

  get polite(): boolean {
    return this.#transport.polite;
  }
  get closed(): boolean {
    return this.#transport.closed;
  }
  get link(): LinkState {
    return this.#transport.link;
  }
  get iceConnectionState(): string {
    return this.#transport.iceConnectionState;
  }
  get connectionState(): string {
    return this.#transport.connectionState;
  }
  /** The ICE servers the peer connection has now (refreshed before each ICE restart). */
  get configuration(): PeerConfiguration {
    return this.#configuration;
  }
  get candidateTypes(): { local: CandidateType[]; remote: CandidateType[] } {
    return { local: [...this.#gathered.local], remote: [...this.#gathered.remote] };
  }

  diagnose(): ConnectionDiagnosis {
    return diagnose(this.#configuration, this.#gathered);
  }

  addTrack(track: Track, ...streams: Stream[]): void {
    this.#transport.addTrack(track, ...streams);
  }
  removeTrack(track: Track): void {
    this.#transport.removeTrack(track);
  }
  replaceTrack(current: Track, next: Track): Promise<boolean> {
    return this.#transport.replaceTrack(current, next);
  }
  getStats(): Promise<StatsReportLike | null> {
    return this.#transport.getStats();
  }
  /** Caller, while ringing: one m-section per kind with no track yet (PeerTransport.reserveSenders()). */
  reserve(kinds: readonly ('audio' | 'video')[], streams: Stream[]): boolean {
    return this.#transport.reserveSenders(kinds, streams);
  }
  /** A local track on its reserved sender (no renegotiation), or added when there is none. */
  sendTrack(track: Track, ...streams: Stream[]): void {
    if (!this.#transport.sendOnReserved(track)) this.#transport.addTrack(track, ...streams);
  }
  /** The first offer, now (PeerTransport.offer()). */
  offer(): void {
    this.#transport.offer();
  }

  applyDescription(description: RemoteDescription): void {
    void this.#transport.handleDescription(description).catch((error: unknown) => {
      this.#log.error(`applying the remote ${description.type} failed`, error);
    });
  }

  addRemoteCandidate(candidate: IceCandidateInit | null): void {
    this.#note('remote', candidate?.candidate);
    void this.#transport.addRemoteCandidate(candidate).catch((error: unknown) => {
      this.#log.error('adding a remote candidate failed', error);
    });
  }

  /** ICE restart on fresh ICE servers when they can be fetched; one at a time. */
  restartIce(): void {
    if (this.closed) return;
    const refresh = this.#refresh;
    if (!refresh) {
      this.#transport.restartIce();
      return;
    }
    if (this.#restarting) return;
    this.#restarting = true;
    void refresh()
      .then(
        (configuration) => {
          if (this.closed) return;
          this.#configuration = configuration;
          this.#transport.setConfiguration(configuration);
        },
        (error: unknown) => this.#log.warn(`Could not refresh the ICE servers; restarting with the old ones: ${describeError(error)}`),
      )
      .finally(() => {
        this.#restarting = false;
        if (!this.closed) this.#transport.restartIce();
      });
  }

  close(): void {
    this.#timers.clear();
    this.#transport.close();
    this.removeAllListeners();
  }

  #onLink(link: LinkState): void {
    if (link === 'connected') {
      this.#timers.clear();
      this.#wasUp = true;
      this.#down = false;
      this.safeEmit('up');
      return;
    }
    if (link !== 'disconnected' && link !== 'failed') return;
    if (this.#wasUp && !this.#down) {
      this.#down = true;
      this.#timers.arm('reconnect', this.#timeouts.reconnectMs, () => {
        this.#log.warn(`No media path for ${this.#timeouts.reconnectMs} ms; giving up`);
        this.safeEmit('giveUp', this.diagnose());
      });
      this.safeEmit('down');
    }
    if (link === 'failed') {
      this.#timers.disarm('restart');
      this.restartIce();
    } else if (!this.#timers.has('restart')) {
      this.#timers.arm('restart', this.#timeouts.restartAfterDisconnectedMs, () => {
        const current = this.#transport.link;
        if (current === 'disconnected' || current === 'failed') this.restartIce();
      });
    }
  }

  #onTrack(track: Track, streams: readonly Stream[]): void {
    // werift fires ontrack again for known tracks on every renegotiation.
    if (this.#remoteTracks.has(track)) return;
    this.#remoteTracks.add(track);
    this.#log.info(`Remote ${track.kind} track arrived`);
    this.safeEmit('track', track, streams);
    for (const stream of streams) {
      if (this.#remoteStreams.has(stream)) continue;
      this.#remoteStreams.add(stream);
      this.safeEmit('remoteStream', stream);
    }
  }

  #note(side: 'local' | 'remote', line: string | undefined): void {
    const type = line ? candidateType(line) : undefined;
    if (type) this.#gathered[side].add(type);
  }
}
