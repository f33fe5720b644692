import { CALL_SERVER_SCHEMAS, CallInviteEvent, type CallKind, type CallServerEventName } from '@parley/protocol';
import { AgentCall, type CallHost } from './agent-call.ts';
import { CallSession } from './call.ts';
import { CallMonitor } from './call-monitor.ts';
import { TypedEmitter } from './emitter.ts';
import { CallError, describeError } from './errors.ts';
import type { WatchdogOptions } from './media-watchdog.ts';
import type { CallTimeouts, IncomingCallSignal, OutgoingCallSignal } from './session-types.ts';
import { readAck, type AckResult, type IceServerProvider, type SignalChannel } from './signal-channel.ts';
import { systemClock, type Clock, type Logger, type PeerConfiguration, type PeerConnectionFactory, type StreamLike, type TrackLike } from './webrtc.ts';

export interface CallAgentOptions<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** This device's id (the socket handshake's `auth.deviceId`); sent in every signal. */
  deviceId: string;
  /** The connection to the server: the agent listens, sends, and resumes on reconnect through it. */
  channel: SignalChannel;
  /** browserPeerConnectionFactory in the web app, a werift factory in Node, the fake in tests. */
  peerConnectionFactory: PeerConnectionFactory<Track, Stream>;
  /** Fetched for every call and before every ICE restart (TURN credentials expire). */
  iceServers: IceServerProvider;
  /** Defaults to `console`. */
  logger?: Logger;
  clock?: Clock;
  timeouts?: Partial<CallTimeouts>;
  /** getStats() interval of a connected call (details, warning, watchdog). Default 1 s. */
  statsIntervalMs?: number;
  /** How often a connected call reports its quality summary for the history. Default 10 s. */
  qualityReportMs?: number;
  watchdog?: Partial<WatchdogOptions>;
  /** Connect every call while it rings (CallSessionOptions.preconnect). Default false. */
  preconnect?: boolean;
}

export interface CallAgentEvents<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** A call rings on this device (never while busy: those are declined without a word to the app). */
  incoming: (call: AgentCall<Track, Stream>) => void;
}

const SERVER_EVENTS = Object.keys(CALL_SERVER_SCHEMAS) as CallServerEventName[];
/** Stands for "no media" when a merged call must be answered only to be hung up. */
const NO_MEDIA = { id: 'none', getTracks: () => [] };

interface Pending<Track extends TrackLike, Stream extends StreamLike<Track>> {
  session: CallSession<Track, Stream>;
  signal: OutgoingCallSignal;
  onAck: ((ack: AckResult) => void) | undefined;
}

/**
 * A device's whole call life: its sessions, incoming invites (busy while in a call), invite glare
 * (the invite held until our own invite's ack; the merged call taken from that ack), answered
 * elsewhere, signals held while the server is unreachable and call.resume after a reconnect,
 * fresh ICE servers per call and restart, the quality summary and the media watchdog. The core
 * emits, the app transports: the agent talks to the server only through its SignalChannel.
 */
export class CallAgent<Track extends TrackLike = TrackLike, Stream extends StreamLike<Track> = StreamLike<Track>> extends TypedEmitter<
  CallAgentEvents<Track, Stream>
> {
  readonly deviceId: string;
  readonly #o: CallAgentOptions<Track, Stream>;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** Every session still running, by call id: the current call and calls being declined as busy. */
  readonly #sessions = new Map<string, CallSession<Track, Stream>>();
  /** What the engine said while the channel was down; sent after call.resume on reconnect. */
  readonly #pending: Pending<Track, Stream>[] = [];
  readonly #host: CallHost<Track, Stream>;
  #offs: (() => void)[] = [];
  #current: AgentCall<Track, Stream> | null = null;
  /** The ICE servers last fetched: what a call gets when a fetch fails. */
  #lastConfiguration: PeerConfiguration = {};

  constructor(options: CallAgentOptions<Track, Stream>) {
    super();
    this.deviceId = options.deviceId;
    this.#o = options;
    this.#log = options.logger ?? console;
    this.#clock = options.clock ?? systemClock;
    this.#host = {
      logger: this.#log,
      configuration: () => this.#configuration(),
      now: () => this.#clock.now(),
      place: (call, stream, configuration) => this.#place(call, stream, configuration),
      ended: (call) => this.#ended(call),
      monitor: (call) =>
        new CallMonitor<Track, Stream>({
          session: () => call.session,
          clock: this.#clock,
          logger: () => this.#log,
          intervalMs: options.statsIntervalMs ?? 1_000,
          reportMs: options.qualityReportMs ?? 10_000,
          ...(options.watchdog ? { watchdog: options.watchdog } : {}),
          onChange: () => call.changed(),
        }),
    };
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.#log.error(`listener for "${event}" threw: ${describeError(error)}`, error);
  }

  /** The call on this device now (also an ended one until the next); null when there is none. */
  get current(): AgentCall<Track, Stream> | null {
    return this.#current;
  }

  /** Whether a call that has not ended is going on. */
  get busy(): boolean {
    return this.#current !== null && this.#current.end === null;
  }

  get running(): boolean {
    return this.#offs.length > 0;
  }

  /** Listens on the channel. Safe to call again after stop(). */
  start(): void {
    if (this.running) return;
    for (const type of SERVER_EVENTS) this.#offs.push(this.#o.channel.on(type, (payload) => this.#onServerEvent(type, payload)));
    // After a reconnect, a device in a call says so: a server that restarted rebuilds the call from it.
    this.#offs.push(this.#o.channel.onConnect(() => this.#resume()));
  }

  /** Stops listening and hangs up whatever call is going on (sign-out, page teardown). */
  stop(): void {
    if (!this.running) return;
    for (const off of this.#offs.splice(0)) off();
    this.#current?.hangup();
  }

  /**
   * Starts a call to `toUserId`: the device is busy from now on, and this call's ICE servers are
   * being fetched while the app gets camera and microphone; then `call.place(stream)`.
   * Throws CallError('invalid_state') while another call is going on or the agent is stopped.
   */
  dial(toUserId: string, kind: CallKind): AgentCall<Track, Stream> {
    if (!this.running) throw new CallError('invalid_state', 'dial() before start()');
    if (this.busy) throw new CallError('invalid_state', 'dial() while in a call');
    const call = new AgentCall<Track, Stream>(this.#host, { direction: 'outgoing', peerUserId: toUserId, kind });
    this.#current = call;
    return call;
  }

  /** The call with this id, when it is this device's current one (e.g. to answer it from a notification). */
  call(callId: string): AgentCall<Track, Stream> | null {
    return this.#current?.callId === callId ? this.#current : null;
  }

  // ---- from the server ----

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
    const current = this.#current;
    if (current?.heldInvite?.callId === callId && (type === 'call.cancel' || type === 'call.ended' || type === 'call.reject')) {
      this.#log.info(`${type} for the held call ${callId.slice(0, 8)}: forgotten`);
      current.heldInvite = null;
      return;
    }
    this.#log.debug(`${type} for call ${callId.slice(0, 8)}, which this device does not have: ignored`);
  }

  #onInvite(invite: CallInviteEvent): void {
    const current = this.#current;
    if (current && !current.end) {
      // Glare: the person I am calling calls me. The server merges the two calls and tells me in my
      // invite's ack; until then this invite waits instead of being declined as busy.
      const samePerson = current.direction === 'outgoing' && current.peerUserId === invite.fromUserId;
      const unanswered = current.session === null || current.inviteAckPending;
      if (samePerson && unanswered && !current.heldInvite) {
        this.#log.info(`Invite ${invite.callId.slice(0, 8)} from the person being called: held until our own invite is answered`);
        current.heldInvite = invite;
        return;
      }
      this.#rejectBusy(invite);
      return;
    }
    const call = new AgentCall<Track, Stream>(this.#host, { direction: 'incoming', peerUserId: invite.fromUserId, kind: invite.kind, peerName: invite.fromName });
    this.#current = call;
    const session = this.#session(invite.callId, call);
    // The engine rings: it sends call.ringing and arms its own ring timeout.
    session.handleSignal({ type: 'call.invite', payload: invite });
    if (this.#o.preconnect) call.preconnect();
    this.safeEmit('incoming', call);
  }

  /** Already in a call: decline this one as busy, without ever ringing or telling the caller it rang. */
  #rejectBusy(invite: CallInviteEvent): void {
    this.#log.info(`Invite ${invite.callId.slice(0, 8)} from ${invite.fromName} while in a call: busy`);
    const session = this.#session(invite.callId, null, (signal) => signal.type !== 'call.ringing');
    session.handleSignal({ type: 'call.invite', payload: invite });
    session.reject('busy');
  }

  // ---- placing a call, and glare ----

  #place(call: AgentCall<Track, Stream>, stream: Stream, configuration: PeerConfiguration): void {
    const held = call.heldInvite;
    if (held) {
      // They called while we were still getting the camera: take their call instead of placing ours.
      call.heldInvite = null;
      this.#log.info(`Taking call ${held.callId.slice(0, 8)} from the person we were about to call`);
      this.#takeOver(call, held, stream, configuration);
      return;
    }
    const callId = globalThis.crypto.randomUUID();
    const session = this.#session(callId, call);
    call.inviteAckPending = true;
    session.start({ toUserId: call.peerUserId, kind: call.kind, localStream: stream, callId, configuration });
  }

  #onInviteAck(call: AgentCall<Track, Stream>, session: CallSession<Track, Stream>, ack: AckResult): void {
    call.inviteAckPending = false;
    const held = call.heldInvite;
    call.heldInvite = null;
    if (!ack.ok) {
      session.handleSignalError('call.invite', ack.code);
      if (held) this.#onInvite(held);
      return;
    }
    if (ack.data.merged !== undefined) {
      const merged = CallInviteEvent.safeParse(ack.data.merged);
      if (merged.success) {
        this.#merge(call, session, merged.data);
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
  #merge(call: AgentCall<Track, Stream>, outgoing: CallSession<Track, Stream>, merged: CallInviteEvent): void {
    const stream = call.localStream;
    if (this.#current !== call || call.end || outgoing.state === 'ended' || !stream) {
      this.#hangUpMerged(merged);
      return;
    }
    this.#log.info(`Invite glare: the server answered call ${merged.callId.slice(0, 8)} on this device; continuing as its callee`);
    if (outgoing.callId) this.#sessions.delete(outgoing.callId);
    // The new session becomes the call's before the old one ends, so that end is not the call's.
    this.#takeOver(call, merged, stream, outgoing.configuration, () => outgoing.discard());
  }

  #takeOver(call: AgentCall<Track, Stream>, invite: CallInviteEvent, stream: Stream, configuration: PeerConfiguration, before?: () => void): void {
    call.becomeCallee(invite);
    // Nothing rings: the server counts this device's answer as given.
    const session = this.#session(invite.callId, call, (signal) => signal.type !== 'call.ringing');
    before?.();
    session.handleSignal({ type: 'call.invite', payload: invite });
    session.accept(stream, configuration);
  }

  /** The server merged us into a call after we had already hung up: answer and hang up at once. */
  #hangUpMerged(merged: CallInviteEvent): void {
    this.#log.info(`Call ${merged.callId.slice(0, 8)} was merged after we hung up: hanging it up`);
    const session = this.#session(merged.callId, null);
    session.handleSignal({ type: 'call.invite', payload: merged });
    session.accept(NO_MEDIA as unknown as Stream, this.#lastConfiguration);
    session.hangup();
  }

  // ---- sessions and sending ----

  /** A session for `callId`, routed and sending through the channel; attached to `call` when given. */
  #session(callId: string, call: AgentCall<Track, Stream> | null, sends: (s: OutgoingCallSignal) => boolean = () => true): CallSession<Track, Stream> {
    const session = new CallSession<Track, Stream>({
      deviceId: this.deviceId,
      peerConnectionFactory: this.#o.peerConnectionFactory,
      rtcConfiguration: this.#lastConfiguration,
      refreshConfiguration: () => this.#o.iceServers().then((c) => (this.#lastConfiguration = c)),
      logger: this.#log,
      clock: this.#clock,
      ...(this.#o.timeouts ? { timeouts: this.#o.timeouts } : {}),
      ...(this.#o.preconnect ? { preconnect: true } : {}),
    });
    this.#sessions.set(callId, session);
    session.on('signal', (signal) => {
      if (!sends(signal)) return;
      const onAck = signal.type === 'call.invite' && call ? (ack: AckResult) => this.#onInviteAck(call, session, ack) : undefined;
      this.#send(session, signal, onAck);
    });
    session.on('ended', () => {
      if (this.#sessions.get(callId) === session) this.#sessions.delete(callId);
    });
    if (call) call.attach(session);
    return session;
  }

  #send(session: CallSession<Track, Stream>, signal: OutgoingCallSignal, onAck?: (ack: AckResult) => void): void {
    if (!this.#o.channel.connected) {
      // socket.io would buffer it and send it on reconnect ahead of call.resume. A measurement
      // is stale by then anyway; anything else waits for #resume.
      if (signal.type !== 'call.stats') this.#pending.push({ session, signal, onAck });
      return;
    }
    this.#o.channel.emit(signal.type, signal.payload, (res) => {
      const ack = readAck(res);
      if (onAck) onAck(ack);
      else if (!ack.ok) session.handleSignalError(signal.type, ack.code);
    });
  }

  #resume(): void {
    const session = this.#current?.end ? null : this.#current?.session;
    if (session && session.state !== 'ended' && session.state !== 'idle') {
      this.#log.info('Connection to the server is back: resuming the call');
      session.resume();
    }
    // What the engine said while the channel was down goes after call.resume: a server that
    // restarted must rebuild the call before it can relay anything for it.
    for (const p of this.#pending.splice(0)) this.#send(p.session, p.signal, p.onAck);
  }

  async #configuration(): Promise<PeerConfiguration> {
    try {
      this.#lastConfiguration = await this.#o.iceServers();
    } catch (error) {
      this.#log.warn(`could not get the ICE servers; using the last ones known: ${describeError(error)}`);
    }
    return this.#lastConfiguration;
  }

  #ended(call: AgentCall<Track, Stream>): void {
    // A call that was held for glare and never merged may ring now.
    const held = call.heldInvite;
    call.heldInvite = null;
    if (held && this.#current === call) this.#onInvite(held);
  }
}

