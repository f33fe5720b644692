import type { CallInviteEvent, CallKind, HangupReason, RejectReason } from '@parley/protocol';
import type { CallSession } from './call.ts';
import type { CallMonitor } from './call-monitor.ts';
import { TypedEmitter } from './emitter.ts';
import { CallError, describeError } from './errors.ts';
import type { OneWay } from './media-watchdog.ts';
import type { CallDetails, QualityWarning } from './quality.ts';
import type { CallEnd } from './session-types.ts';
import type { CallState } from './states.ts';
import type { Logger, PeerConfiguration, StatsReportLike, StreamLike, TrackLike } from './webrtc.ts';

/** The call as this device shows it: `preparing` is the caller getting media before the invite. */
export type CallPhase = 'preparing' | Exclude<CallState, 'idle'>;

export interface AgentCallEvents<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** Something shown changed: phase, ringing, transport states, quality, one-way, or the call itself (glare merge). */
  update: () => void;
  /** A remote track arrived (once per track), with its streams. */
  track: (track: Track, streams: readonly Stream[]) => void;
  /** The call ended; once. */
  ended: (end: CallEnd) => void;
}

/** What the agent does for a call; the call asks, the agent decides with the whole device in view. */
export interface CallHost<Track extends TrackLike, Stream extends StreamLike<Track>> {
  readonly logger: Logger;
  /** Fresh ICE servers (the last ones known when the fetch fails). */
  configuration(): Promise<PeerConfiguration>;
  /** The agent's clock (epoch ms). */
  now(): number;
  /** Caller: media in hand, send the invite or take a held invite from the same person. */
  place(call: AgentCall<Track, Stream>, stream: Stream, configuration: PeerConfiguration): void;
  /** The call ended: release what was held for it. */
  ended(call: AgentCall<Track, Stream>): void;
  monitor(call: AgentCall<Track, Stream>): CallMonitor<Track, Stream>;
}

/** How long ICE servers fetched when a call rang serve its answer (TURN_TTL_S is at least 60 s). */
export const CONFIGURATION_MAX_AGE_MS = 30_000;

/**
 * One call of this device as the app drives and renders it, from `preparing` to `ended`. Under it
 * runs a CallSession; a glare merge swaps in the session of the peer's call (same media), and this
 * object carries on as that call's callee.
 */
export class AgentCall<Track extends TrackLike = TrackLike, Stream extends StreamLike<Track> = StreamLike<Track>> extends TypedEmitter<
  AgentCallEvents<Track, Stream>
> {
  #host: CallHost<Track, Stream>;
  #session: CallSession<Track, Stream> | null = null;
  #direction: 'outgoing' | 'incoming';
  #kind: CallKind;
  readonly #peerUserId: string;
  #peerName: string | null;
  #answered = false;
  #end: CallEnd | null = null;
  #configuration: Promise<PeerConfiguration> | null = null;
  /** When #configuration was asked for. */
  #configurationAt = 0;
  #localStream: Stream | null = null;
  #monitor: CallMonitor<Track, Stream> | null = null;
  /** Caller: an invite from the very person we are calling, held until our invite's ack (glare). */
  heldInvite: CallInviteEvent | null = null;
  /** Caller: our invite is out and its ack has not come back. */
  inviteAckPending = false;

  /** @internal Made by CallAgent (dial() or an incoming invite). */
  constructor(host: CallHost<Track, Stream>, init: { direction: 'outgoing' | 'incoming'; peerUserId: string; kind: CallKind; peerName?: string }) {
    super();
    this.#host = host;
    this.#direction = init.direction;
    this.#peerUserId = init.peerUserId;
    this.#kind = init.kind;
    this.#peerName = init.peerName ?? null;
    // Fetched now, while the caller gets camera and microphone or while it rings here: the REST
    // round trip is off the path from the click to the media. It goes only to our own server.
    this.#configuration = host.configuration();
    this.#configurationAt = host.now();
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.#host.logger.error(`listener for "${event}" threw: ${describeError(error)}`, error);
  }

  get phase(): CallPhase {
    if (this.#end) return 'ended';
    const state = this.#session?.state ?? 'idle';
    return state === 'idle' ? 'preparing' : state;
  }
  get direction(): 'outgoing' | 'incoming' {
    return this.#direction;
  }
  get kind(): CallKind {
    return this.#kind;
  }
  get peerUserId(): string {
    return this.#peerUserId;
  }
  /** The caller's name as the server gave it (incoming and merged calls). */
  get peerName(): string | null {
    return this.#peerName;
  }
  get callId(): string | null {
    return this.#session?.callId ?? null;
  }
  /** This device answered or placed a call that got answered (it reached `connecting`). */
  get answered(): boolean {
    return this.#answered;
  }
  get remoteRinging(): boolean {
    return this.#session?.remoteRinging ?? false;
  }
  get connectedAt(): number | null {
    return this.#session?.connectedAt ?? null;
  }
  get iceConnectionState(): string {
    return this.#session?.iceConnectionState ?? 'new';
  }
  get connectionState(): string {
    return this.#session?.connectionState ?? 'new';
  }
  get details(): CallDetails | null {
    return this.#end ? null : (this.#monitor?.details ?? null);
  }
  get warning(): QualityWarning | null {
    return this.#end ? null : (this.#monitor?.warning ?? null);
  }
  /** The media watchdog's verdict: `inbound` nothing arrives from the peer, `outbound` the peer gets nothing. */
  get oneWay(): OneWay | null {
    return this.#end ? null : (this.#monitor?.oneWay ?? null);
  }
  get end(): CallEnd | null {
    return this.#end;
  }
  /** @internal */
  get session(): CallSession<Track, Stream> | null {
    return this.#session;
  }
  /** @internal The stream given to place() or accept(). */
  get localStream(): Stream | null {
    return this.#localStream;
  }

  /** Caller: camera and microphone are in hand; place the call (`kind` audio when the camera failed). */
  async place(stream: Stream, kind: CallKind = this.#kind): Promise<void> {
    if (this.#end || this.#session) throw new CallError('invalid_state', `place() while the call is ${this.phase}`);
    if (this.#direction !== 'outgoing') throw new CallError('invalid_state', 'place() on an incoming call');
    this.#kind = kind;
    this.#localStream = stream;
    const configuration = await (this.#configuration ?? this.#host.configuration());
    if (this.#end) return;
    this.#host.place(this, stream, configuration);
  }

  /**
   * Callee: answer with `stream`, on the ICE servers fetched when it started to ring (again, when
   * it rang longer than CONFIGURATION_MAX_AGE_MS: TURN credentials expire). Resolves false (and
   * the stream is not taken) when the call stopped ringing meanwhile.
   */
  async accept(stream: Stream): Promise<boolean> {
    if (this.phase !== 'ringing') return false;
    const fresh = this.#configuration && this.#host.now() - this.#configurationAt <= CONFIGURATION_MAX_AGE_MS;
    const configuration = await (fresh ? this.#configuration! : this.#host.configuration());
    const session = this.#session;
    if (!session || session.state !== 'ringing' || this.#end) return false;
    this.#localStream = stream;
    session.accept(stream, configuration);
    return true;
  }

  /** @internal Callee: connect while it rings, on the ICE servers fetched for it (CallSession.preconnect()). */
  preconnect(): void {
    const session = this.#session;
    void (this.#configuration ?? this.#host.configuration()).then((configuration) => {
      if (!this.#end && this.#session === session && session?.state === 'ringing') session.preconnect(configuration);
    });
  }

  /** Callee: decline while ringing (on every device of mine). */
  reject(reason: RejectReason = 'declined'): void {
    if (this.phase !== 'ringing') return;
    this.#session?.reject(reason);
  }

  /**
   * Ends the call from this side, whatever its phase. While preparing nothing was sent: it just
   * ends (`cancelled`, or the reason given, e.g. media_failed). Later the quality summary leaves
   * first, so the server has it when it writes the history entry.
   */
  hangup(reason: HangupReason = 'user_hangup'): void {
    if (this.#end) return;
    const session = this.#session;
    if (!session) {
      this.finish({ reason: reason === 'user_hangup' ? 'cancelled' : reason, by: 'local' });
      return;
    }
    this.#monitor?.reportNow();
    session.hangup(reason);
  }

  addTrack(track: Track, stream: Stream): void {
    this.#live('addTrack').addTrack(track, stream);
  }
  removeTrack(track: Track): void {
    this.#live('removeTrack').removeTrack(track);
  }
  replaceTrack(current: Track, next: Track, stream: Stream): Promise<void> {
    return this.#live('replaceTrack').replaceTrack(current, next, stream);
  }
  /** Restart ICE now, on fresh ICE servers. */
  restartIce(): void {
    this.#live('restartIce').restartIce();
  }
  /** This call's peer connection stats; null without one. */
  async getStats(): Promise<StatsReportLike | null> {
    return (await this.#session?.getStats()) ?? null;
  }

  /** @internal The call is now the callee's side of `invite` (glare: the server merged the two calls). */
  becomeCallee(invite: CallInviteEvent): void {
    this.#direction = 'incoming';
    this.#kind = invite.kind;
    this.#peerName = invite.fromName || this.#peerName;
  }

  /** @internal Runs this call on `session` from now on; events of a session replaced are not this call's. */
  attach(session: CallSession<Track, Stream>): void {
    this.#session = session;
    const mine = () => this.#session === session && !this.#end;
    session.on('state', (state) => {
      // `ended` is reported by the `ended` event that follows at once, with its reason.
      if (!mine() || state === 'ended') return;
      if (state === 'connecting') this.#answered = true;
      if (state === 'connected') {
        this.#monitor ??= this.#host.monitor(this);
        this.#monitor.start();
      }
      this.safeEmit('update');
    });
    session.on('remoteRinging', () => mine() && this.safeEmit('update'));
    session.on('transport', () => mine() && this.safeEmit('update'));
    session.on('track', (track, streams) => mine() && this.safeEmit('track', track, streams));
    session.on('ended', (end) => mine() && this.finish(end));
    this.safeEmit('update');
  }

  /** @internal */
  finish(end: CallEnd): void {
    if (this.#end) return;
    this.#end = end;
    this.#monitor?.stop();
    this.#host.ended(this);
    this.safeEmit('ended', end);
  }

  /** @internal The monitor's readings changed. */
  changed(): void {
    if (!this.#end) this.safeEmit('update');
  }

  #live(method: string): CallSession<Track, Stream> {
    const session = this.#session;
    if (!session || this.#end) throw new CallError('invalid_state', `${method}() while the call is ${this.phase}`);
    return session;
  }
}
