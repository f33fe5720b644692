// A Parley device in Node: signs in over HTTP, opens the app's socket.io connection, and runs the
// engine's CallAgent (@parley/call) on werift — the same agent the web app runs in the browser.
// This file only transports: the socket becomes the agent's SignalChannel, GET /api/rtc-config its
// ICE-server provider, werift its peer-connection factory.
import { CallAgent, type AgentCall, type Logger, type PeerConfiguration, type SignalChannel } from '@parley/call';
import { weriftPeerConnectionFactory, type WeriftFactoryOptions } from '@parley/call/werift';
import { RtcConfigResponse, type CallKind } from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';
import type { MediaStream, MediaStreamTrack, RTCPeerConnection } from 'werift';
import type { TestUser } from './users.ts';

export type NodeCall = AgentCall<MediaStreamTrack, MediaStream>;

/** The engine's log: kept whole for failure messages; warnings and errors also printed, named by device. */
function deviceLogger(label: string, lines: string[]): Logger {
  const keep = (level: string, message: string) => {
    lines.push(`${level} ${message}`);
    if (lines.length > 500) lines.shift();
  };
  return {
    debug: (message) => keep('debug', message),
    info: (message) => keep('info', message),
    warn: (message, ...details) => {
      keep('warn', message);
      console.warn(`[${label}] ${message}`, ...details);
    },
    error: (message, ...details) => {
      keep('error', message);
      console.error(`[${label}] ${message}`, ...details);
    },
  };
}

/** socket.io-client's socket as the agent's SignalChannel. */
export function socketChannel(socket: Socket): SignalChannel {
  return {
    get connected() {
      return socket.connected;
    },
    emit: (type, payload, ack) => void socket.emit(type, payload, ack),
    on: (type, listener) => {
      socket.on(type, listener);
      return () => void socket.off(type, listener);
    },
    onConnect: (listener) => {
      socket.on('connect', listener);
      return () => void socket.off('connect', listener);
    },
  };
}

export interface NodeDeviceOptions {
  /** The device id in the socket handshake; default `node-<random>`. */
  deviceId?: string;
  /** Passed to weriftPeerConnectionFactory; `additionalHostAddresses` defaults to ['127.0.0.1'] (tests run on loopback). */
  factory?: WeriftFactoryOptions;
  /** Reconnect by itself when the connection drops, as the web app's socket does (a node behind a proxy died); default off. */
  reconnect?: boolean;
}

export class NodeDevice {
  readonly label: string;
  readonly userId: string;
  readonly socket: Socket;
  readonly agent: CallAgent<MediaStreamTrack, MediaStream>;
  /** Every peer connection the engine created on this device, newest last. */
  readonly peerConnections: RTCPeerConnection[] = [];
  /** The engine's log lines (all levels), for failure messages. */
  readonly log: string[] = [];
  readonly #serverUrl: string;
  readonly #cookie: string;
  /** Runs on the next peer connection the engine creates (the caller's data channel goes there). */
  #onNextPeerConnection: ((pc: RTCPeerConnection) => void) | null = null;

  private constructor(label: string, serverUrl: string, cookie: string, userId: string, deviceId: string, socket: Socket, factory: WeriftFactoryOptions) {
    this.label = label;
    this.#serverUrl = serverUrl;
    this.#cookie = cookie;
    this.userId = userId;
    this.socket = socket;
    this.agent = new CallAgent<MediaStreamTrack, MediaStream>({
      deviceId,
      channel: socketChannel(socket),
      peerConnectionFactory: weriftPeerConnectionFactory({
        ...factory,
        onPeerConnection: (pc) => {
          this.peerConnections.push(pc);
          factory.onPeerConnection?.(pc);
          const next = this.#onNextPeerConnection;
          this.#onNextPeerConnection = null;
          next?.(pc);
        },
      }),
      iceServers: () => this.rtcConfiguration(),
      logger: deviceLogger(label, this.log),
    });
    this.agent.start();
  }

  /**
   * The next peer connection the engine creates on this device (on the callee: when it answers).
   * Subscribe to its data channel here, before the answer: the channel can open before accept() resolves.
   */
  nextPeerConnection(): Promise<RTCPeerConnection> {
    return new Promise((resolve) => (this.#onNextPeerConnection = resolve));
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
      ...(options.reconnect ? { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 } : { reconnection: false }),
      forceNew: true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(new Error(`${label}: socket did not connect: ${err.message}`)));
    });
    const factory = { additionalHostAddresses: ['127.0.0.1'], ...options.factory };
    return new NodeDevice(label, serverUrl, cookie, body.user.id, deviceId, socket, factory);
  }

  get deviceId(): string {
    return this.agent.deviceId;
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
   * Calls `toUserId` with `stream` through the agent. `onPeerConnection` runs on the caller's peer
   * connection before the engine adds its tracks (open a data channel there, so the first offer
   * carries it).
   */
  async call(toUserId: string, kind: CallKind, stream: MediaStream, onPeerConnection?: (pc: RTCPeerConnection) => void): Promise<NodeCall> {
    this.#onNextPeerConnection = onPeerConnection ?? null;
    const call = this.agent.dial(toUserId, kind);
    await call.place(stream);
    return call;
  }

  /** Resolves with the next call that rings this device. */
  nextIncoming(timeoutMs = 10_000): Promise<NodeCall> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.label}: no incoming call within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.agent.on('incoming', (call) => {
        clearTimeout(timer);
        off();
        resolve(call);
      });
    });
  }

  /** Ends the call going on, if any, and disconnects. */
  close(): void {
    this.agent.stop();
    this.socket.disconnect();
    for (const pc of this.peerConnections) void pc.close().catch(() => undefined);
  }
}
