// One Parley device in Node for the load test: the app's socket.io connection and the engine's
// CallAgent on werift peers — the same agent the web app runs in the browser. The device only
// transports: a SignalChannel over socket.io, ICE servers from /api/rtc-config, a werift factory.
import { CallAgent, type AgentCall, type Logger, type PeerConfiguration, type SignalChannel } from '@parley/call';
import { weriftPeerConnectionFactory } from '@parley/call/werift';
import { RtcConfigResponse } from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';
import type { MediaStream, MediaStreamTrack, RTCPeerConnection } from 'werift';
import type { TestUser } from './admin.ts';

export type WeriftAgentCall = AgentCall<MediaStreamTrack, MediaStream>;

/** A call's timeline, both devices' lines on one clock (ms since the call started); kept for failed and slow calls. */
export class CallTrace {
  readonly lines: string[] = [];
  readonly t0 = performance.now();
  mark(who: string, text: string): void {
    if (this.lines.length < 400) this.lines.push(`+${(performance.now() - this.t0).toFixed(0).padStart(5)} ${who} ${text}`);
  }
}

/**
 * The engine's warnings and errors, kept per device for the report (never printed: a progress bar
 * runs); every line, debug included, also goes to the trace of the call in progress.
 */
function keptLogger(lines: string[], trace: () => { trace: CallTrace; who: string } | null): Logger {
  const keep = (level: string, kept: boolean) => (message: string) => {
    trace()?.trace.mark(trace()!.who, `${level} ${message}`);
    if (!kept) return;
    lines.push(`${level} ${message}`);
    if (lines.length > 50) lines.shift();
  };
  return { debug: keep('debug', false), info: keep('info', false), warn: keep('warn', true), error: keep('error', true) };
}

export class LoadDevice {
  readonly log: string[] = [];
  readonly agent: CallAgent<MediaStreamTrack, MediaStream>;
  /** When each signal left, by `callId:type` (the report times invite → ring from it). */
  readonly sentAt = new Map<string, number>();
  /** Signals the server refused. */
  readonly refusals: string[] = [];
  /** Runs on the next peer connection the engine creates, before it adds tracks (a data channel). */
  onNextPeerConnection: ((pc: RTCPeerConnection) => void) | null = null;
  /** The call in progress's trace, and this device's name in it. */
  tracing: { trace: CallTrace; who: string } | null = null;

  private constructor(
    readonly user: TestUser,
    readonly deviceId: string,
    readonly socket: Socket,
    private readonly url: string,
  ) {
    const channel: SignalChannel = {
      get connected() {
        return socket.connected;
      },
      emit: (type, payload, ack) => {
        const callId = (payload as { callId?: string }).callId;
        this.sentAt.set(`${callId}:${type}`, performance.now());
        this.tracing?.trace.mark(this.tracing.who, `sends ${type}`);
        socket.emit(type, payload, (res: unknown) => {
          const r = res as { ok?: boolean; error?: { code?: string; message?: string } } | undefined;
          this.tracing?.trace.mark(this.tracing.who, `ack ${type}${r?.ok === false ? ` REFUSED ${r.error?.code ?? '?'}` : ''}`);
          if (r?.ok === false) this.refusals.push(`${type}: ${r.error?.code ?? '?'} ${r.error?.message ?? ''}`.trim());
          ack(res);
        });
      },
      on: (type, listener) => {
        const traced = (payload: unknown) => {
          this.tracing?.trace.mark(this.tracing.who, `receives ${type}`);
          listener(payload);
        };
        socket.on(type, traced);
        return () => socket.off(type, traced);
      },
      onConnect: (listener) => {
        socket.on('connect', listener);
        return () => socket.off('connect', listener);
      },
    };
    this.agent = new CallAgent({
      deviceId,
      channel,
      peerConnectionFactory: weriftPeerConnectionFactory({
        additionalHostAddresses: ['127.0.0.1'],
        onPeerConnection: (pc) => {
          const hook = this.onNextPeerConnection;
          this.onNextPeerConnection = null;
          hook?.(pc);
        },
      }),
      iceServers: () => this.rtcConfiguration(),
      logger: keptLogger(this.log, () => this.tracing),
    });
    this.agent.start();
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

  /** The next call that rings on this device. */
  nextIncoming(timeoutMs: number): Promise<WeriftAgentCall> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no invite within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.agent.on('incoming', (call) => {
        clearTimeout(timer);
        off();
        resolve(call);
      });
    });
  }

  close(): void {
    this.agent.stop();
    this.socket.disconnect();
  }
}
