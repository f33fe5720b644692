// A Parley device in Node: signs in over HTTP, opens the app's socket.io connection, and runs the
// call engine (@parley/call) on werift. It carries the engine's signals to the server with their
// acks and routes the server's call events, validated, to the session of that call — the glue the
// web app's call controller provides in the browser, kept to the minimum a test needs.
import {
  CallSession,
  type IncomingCallSignal,
  type Logger,
  type OutgoingCallSignal,
  type PeerConfiguration,
} from '@parley/call';
import { weriftPeerConnectionFactory, type WeriftCallSession, type WeriftFactoryOptions } from '@parley/call/werift';
import { CALL_SERVER_SCHEMAS, RtcConfigResponse, type CallKind, type CallServerEventName } from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';
import type { MediaStream, RTCPeerConnection } from 'werift';
import type { TestUser } from './users.ts';

const SERVER_EVENTS = Object.keys(CALL_SERVER_SCHEMAS) as CallServerEventName[];

/** The engine's log, warnings and errors only (a test's output stays readable), each line named by device. */
function quietLogger(label: string, lines: string[]): Logger {
  const keep = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
    if (lines.length > 500) lines.shift();
  };
  return {
    debug: keep('debug'),
    info: keep('info'),
    warn: (message, ...details) => {
      keep('warn')(message);
      console.warn(`[${label}] ${message}`, ...details);
    },
    error: (message, ...details) => {
      keep('error')(message);
      console.error(`[${label}] ${message}`, ...details);
    },
  };
}

export interface NodeDeviceOptions {
  /** The device id in the socket handshake; default `node-<random>`. */
  deviceId?: string;
  /** Passed to weriftPeerConnectionFactory; `additionalHostAddresses` defaults to ['127.0.0.1'] (tests run on loopback). */
  factory?: WeriftFactoryOptions;
}

export class NodeDevice {
  readonly label: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly socket: Socket;
  /** Every peer connection the engine created on this device, newest last. */
  readonly peerConnections: RTCPeerConnection[] = [];
  /** The engine's log lines (all levels), for failure messages. */
  readonly log: string[] = [];
  readonly #serverUrl: string;
  readonly #cookie: string;
  readonly #factoryOptions: WeriftFactoryOptions;
  readonly #sessions = new Map<string, WeriftCallSession>();
  readonly #invites: ((session: WeriftCallSession) => void)[] = [];
  readonly #logger: Logger;

  private constructor(label: string, serverUrl: string, cookie: string, userId: string, deviceId: string, socket: Socket, factory: WeriftFactoryOptions) {
    this.label = label;
    this.#serverUrl = serverUrl;
    this.#cookie = cookie;
    this.userId = userId;
    this.deviceId = deviceId;
    this.socket = socket;
    this.#factoryOptions = factory;
    this.#logger = quietLogger(label, this.log);
    for (const type of SERVER_EVENTS) socket.on(type, (payload: unknown) => this.#onServerEvent(type, payload));
  }

  /** Signs `user` in on `serverUrl` and connects the device's socket. */
  static async signIn(label: string, serverUrl: string, user: TestUser, options: NodeDeviceOptions = {}): Promise<NodeDevice> {
    const res = await fetch(`${serverUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: serverUrl },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    if (res.status !== 200) throw new Error(`${label}: signing in as ${user.email} answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { user: { id: string } };
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const deviceId = options.deviceId ?? `node-${crypto.randomUUID().slice(0, 8)}`;
    const socket = io(serverUrl, {
      transports: ['websocket'],
      extraHeaders: { cookie, origin: serverUrl },
      auth: { deviceId },
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(new Error(`${label}: socket did not connect: ${err.message}`)));
    });
    const factory = { additionalHostAddresses: ['127.0.0.1'], ...options.factory };
    return new NodeDevice(label, serverUrl, cookie, body.user.id, deviceId, socket, factory);
  }

  /** The newest peer connection the engine created here. */
  get peerConnection(): RTCPeerConnection | undefined {
    return this.peerConnections.at(-1);
  }

  /** ICE servers for a call, as the web app gets them: GET /api/rtc-config with this device's session. */
  async rtcConfiguration(): Promise<PeerConfiguration> {
    const res = await fetch(`${this.#serverUrl}/api/rtc-config`, { headers: { cookie: this.#cookie } });
    if (res.status !== 200) throw new Error(`${this.label}: /api/rtc-config answered ${res.status}`);
    const config = RtcConfigResponse.parse(await res.json());
    return { iceServers: config.iceServers, iceTransportPolicy: config.iceTransportPolicy };
  }

  /**
   * Calls `toUserId` with `stream`. `onPeerConnection` runs on the caller's peer connection before
   * the engine adds its tracks (open a data channel there, so the first offer carries it).
   */
  async call(toUserId: string, kind: CallKind, stream: MediaStream, onPeerConnection?: (pc: RTCPeerConnection) => void): Promise<WeriftCallSession> {
    const session = this.#newSession(await this.rtcConfiguration(), onPeerConnection);
    session.start({ toUserId, kind, localStream: stream });
    return session;
  }

  /** Resolves with the session of the next call that rings this device. */
  nextIncoming(timeoutMs = 10_000): Promise<WeriftCallSession> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no incoming call within ${timeoutMs} ms`)), timeoutMs);
      this.#invites.push((session) => {
        clearTimeout(timer);
        resolve(session);
      });
    });
  }

  /** Ends every call and disconnects. */
  close(): void {
    for (const session of this.#sessions.values()) session.hangup();
    this.#sessions.clear();
    this.socket.disconnect();
    for (const pc of this.peerConnections) void pc.close().catch(() => undefined);
  }

  #newSession(rtcConfiguration: PeerConfiguration, onPeerConnection?: (pc: RTCPeerConnection) => void): WeriftCallSession {
    const factory = weriftPeerConnectionFactory({
      ...this.#factoryOptions,
      onPeerConnection: (pc) => {
        this.peerConnections.push(pc);
        this.#factoryOptions.onPeerConnection?.(pc);
        onPeerConnection?.(pc);
      },
    });
    const session: WeriftCallSession = new CallSession({
      deviceId: this.deviceId,
      peerConnectionFactory: factory,
      rtcConfiguration,
      refreshConfiguration: () => this.rtcConfiguration(),
      logger: this.#logger,
    });
    session.on('signal', (signal) => this.#send(session, signal));
    session.on('ended', () => {
      if (session.callId !== null && this.#sessions.get(session.callId) === session) this.#sessions.delete(session.callId);
    });
    return session;
  }

  #send(session: WeriftCallSession, signal: OutgoingCallSignal): void {
    if (signal.type === 'call.invite') this.#sessions.set(signal.payload.callId, session);
    this.socket.emit(signal.type, signal.payload, (res: unknown) => {
      const ack = res as { ok?: boolean; code?: string } | undefined;
      if (ack?.ok === false && ack.code) session.handleSignalError(signal.type, ack.code as never);
    });
  }

  #onServerEvent(type: CallServerEventName, raw: unknown): void {
    const parsed = CALL_SERVER_SCHEMAS[type].safeParse(raw);
    if (!parsed.success) {
      this.#logger.warn(`${type} with an invalid payload: dropped`);
      return;
    }
    const signal = { type, payload: parsed.data } as IncomingCallSignal;
    const existing = this.#sessions.get(signal.payload.callId);
    if (existing) {
      existing.handleSignal(signal);
      return;
    }
    if (signal.type !== 'call.invite') return;
    void this.rtcConfiguration().then((rtc) => {
      const session = this.#newSession(rtc);
      this.#sessions.set(signal.payload.callId, session);
      session.handleSignal(signal);
      this.#invites.shift()?.(session);
    });
  }
}
