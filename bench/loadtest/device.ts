// One Parley device in Node for the load test: the app's socket.io connection, and the call engine
// (@parley/call) on werift peers. It carries the engine's signals to the server with their acks
// and routes the server's call events, validated, to the session of their call — the glue the web
// app's call controller is in the browser.
import { CallSession, type IncomingCallSignal, type Logger, type OutgoingCallSignal, type PeerConfiguration } from '@parley/call';
import { weriftPeerConnectionFactory, type WeriftCallSession } from '@parley/call/werift';
import { CALL_SERVER_SCHEMAS, RtcConfigResponse, type CallServerEventName } from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';
import type { RTCPeerConnection } from 'werift';
import type { TestUser } from './admin.ts';

const SERVER_EVENTS = Object.keys(CALL_SERVER_SCHEMAS) as CallServerEventName[];

/** The engine's warnings and errors, kept per device for the report (never printed: a progress bar runs). */
function keptLogger(lines: string[]): Logger {
  const keep = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
    if (lines.length > 50) lines.shift();
  };
  const ignore = () => undefined;
  return { debug: ignore, info: ignore, warn: keep('warn'), error: keep('error') };
}

export interface SessionHooks {
  /** Runs on the session's peer connection before the engine adds tracks (open a data channel here). */
  onPeerConnection?: (pc: RTCPeerConnection) => void;
}

export class LoadDevice {
  readonly log: string[] = [];
  readonly #sessions = new Map<string, WeriftCallSession>();
  readonly #invites: ((session: WeriftCallSession, pc: Promise<RTCPeerConnection>) => void)[] = [];
  readonly #logger = keptLogger(this.log);
  /** When the engine sent each signal, by call and type (the report times invite → ring from it). */
  readonly sentAt = new Map<string, number>();
  /** Signals the server refused, by error code. */
  readonly refusals: string[] = [];

  private constructor(
    readonly user: TestUser,
    readonly deviceId: string,
    readonly socket: Socket,
    private readonly url: string,
  ) {
    for (const type of SERVER_EVENTS) socket.on(type, (payload: unknown) => this.#onServerEvent(type, payload));
  }

  static async connect(url: string, user: TestUser, deviceId: string): Promise<LoadDevice> {
    const socket = io(url, { transports: ['websocket'], extraHeaders: { cookie: user.cookie, origin: url }, auth: { deviceId }, reconnection: false, forceNew: true, timeout: 20_000 });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(new Error(`the socket of ${user.email} did not connect: ${err.message}`)));
    });
    return new LoadDevice(user, deviceId, socket, url);
  }

  async rtcConfiguration(): Promise<PeerConfiguration> {
    const res = await fetch(`${this.url}/api/rtc-config`, { headers: { cookie: this.user.cookie } });
    if (res.status !== 200) throw new Error(`/api/rtc-config answered ${res.status}`);
    const config = RtcConfigResponse.parse(await res.json());
    return { iceServers: config.iceServers, iceTransportPolicy: config.iceTransportPolicy };
  }

  newSession(rtc: PeerConfiguration, hooks: SessionHooks = {}): { session: WeriftCallSession; pc: Promise<RTCPeerConnection> } {
    let gotPc!: (pc: RTCPeerConnection) => void;
    const pc = new Promise<RTCPeerConnection>((r) => (gotPc = r));
    const factory = weriftPeerConnectionFactory({
      additionalHostAddresses: ['127.0.0.1'],
      onPeerConnection: (p) => {
        hooks.onPeerConnection?.(p);
        gotPc(p);
      },
    });
    const session: WeriftCallSession = new CallSession({
      deviceId: this.deviceId,
      peerConnectionFactory: factory,
      rtcConfiguration: rtc,
      refreshConfiguration: () => this.rtcConfiguration(),
      logger: this.#logger,
    });
    session.on('signal', (signal) => this.#send(session, signal));
    session.on('ended', () => {
      if (session.callId !== null && this.#sessions.get(session.callId) === session) this.#sessions.delete(session.callId);
    });
    return { session, pc };
  }

  /** The session (and its peer connection, once the engine makes one) of the next call that rings here. */
  nextIncoming(timeoutMs: number): Promise<{ session: WeriftCallSession; pc: Promise<RTCPeerConnection> }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no invite within ${timeoutMs} ms`)), timeoutMs);
      this.#invites.push((session, pc) => {
        clearTimeout(timer);
        resolve({ session, pc });
      });
    });
  }

  close(): void {
    for (const s of this.#sessions.values()) s.hangup();
    this.#sessions.clear();
    this.socket.disconnect();
  }

  #send(session: WeriftCallSession, signal: OutgoingCallSignal): void {
    if (signal.type === 'call.invite') this.#sessions.set(signal.payload.callId, session);
    this.sentAt.set(`${signal.payload.callId}:${signal.type}`, performance.now());
    this.socket.emit(signal.type, signal.payload, (res: unknown) => {
      const ack = res as { ok?: boolean; error?: { code?: string; message?: string } } | undefined;
      if (ack?.ok === false) {
        this.refusals.push(`${signal.type}: ${ack.error?.code ?? '?'} ${ack.error?.message ?? ''}`.trim());
        if (ack.error?.code) session.handleSignalError(signal.type, ack.error.code as never);
      }
    });
  }

  #onServerEvent(type: CallServerEventName, raw: unknown): void {
    const parsed = CALL_SERVER_SCHEMAS[type].safeParse(raw);
    if (!parsed.success) {
      this.log.push(`warn ${type} with an invalid payload: dropped`);
      return;
    }
    const signal = { type, payload: parsed.data } as IncomingCallSignal;
    const existing = this.#sessions.get(signal.payload.callId);
    if (existing) {
      existing.handleSignal(signal);
      return;
    }
    if (signal.type !== 'call.invite') return;
    void this.rtcConfiguration().then(
      (rtc) => {
        const { session, pc } = this.newSession(rtc);
        this.#sessions.set(signal.payload.callId, session);
        session.handleSignal(signal);
        this.#invites.shift()?.(session, pc);
      },
      (err: unknown) => this.log.push(`error ${String(err)}`),
    );
  }
}
