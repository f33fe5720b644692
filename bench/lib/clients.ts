import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

/** The three kinds of server a benchmark drives with the same load. */
export type ServerKind = 'parley' | 'socketio' | 'peerjs';

export interface Identity {
  /** Parley: the user id; baselines: the client's address. */
  id: string;
  cookie?: string;
}

// What arrives differs per server and event; the scenarios read the few fields they sent.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Payload = Record<string, any>;
type Handler = (payload: Payload) => void;

/**
 * One signalling client, the same interface on every server. Parley: the real protocol (the server
 * decides where an event goes, `to` is not sent). Bare socket.io: `relay(to, event, payload)`.
 * PeerJS: its JSON messages with `dst`, our event inside the payload.
 */
export interface Client {
  readonly me: Identity;
  emit(to: Identity, event: string, payload: Record<string, unknown>): void;
  on(event: string, handler: Handler): void;
  /** Events refused by the server (Parley and socket.io acknowledge each one). */
  readonly refused: number;
  close(): void;
}

const CONNECT_TIMEOUT_MS = 20_000;

export async function connectClient(kind: ServerKind, url: string, me: Identity, deviceId: string): Promise<Client> {
  if (kind === 'peerjs') return connectPeerjs(url, me);
  const socket: Socket =
    kind === 'parley'
      ? ioClient(url, { transports: ['websocket'], extraHeaders: { cookie: me.cookie ?? '', origin: url }, auth: { deviceId }, reconnection: false, forceNew: true, timeout: CONNECT_TIMEOUT_MS })
      : ioClient(url, { transports: ['websocket'], auth: { id: me.id }, reconnection: false, forceNew: true, timeout: CONNECT_TIMEOUT_MS });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  let refused = 0;
  const ack = (r: { ok?: boolean } | undefined) => {
    if (!r?.ok) refused++;
  };
  return {
    me,
    emit(to, event, payload) {
      if (kind === 'parley') socket.emit(event, event.startsWith('call.') ? { deviceId, ...payload } : payload, ack);
      else socket.emit('relay', to.id, event, payload, ack);
    },
    on(event, handler) {
      socket.on(event, handler);
    },
    get refused() {
      return refused;
    },
    close() {
      socket.disconnect();
    },
  };
}

async function connectPeerjs(url: string, me: Identity): Promise<Client> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/peerjs?key=peerjs&id=${encodeURIComponent(me.id)}&token=t${me.id.slice(0, 8)}`);
  const handlers = new Map<string, Handler>();
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('PeerJS: no OPEN')), CONNECT_TIMEOUT_MS);
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; payload?: Payload };
      if (m.type === 'OPEN') {
        clearTimeout(t);
        resolve();
      } else if (m.payload && typeof m.payload.event === 'string') handlers.get(m.payload.event)?.(m.payload);
    });
    ws.once('error', reject);
  });
  const TYPE: Record<string, string> = { 'call.offer': 'OFFER', 'call.answer': 'ANSWER', 'call.ice': 'CANDIDATE' };
  return {
    me,
    emit(to, event, payload) {
      ws.send(JSON.stringify({ type: TYPE[event] ?? 'OFFER', dst: to.id, payload: { event, ...payload } }));
    },
    on(event, handler) {
      handlers.set(event, handler);
    },
    refused: 0,
    close() {
      ws.close();
    },
  };
}

/** Connects many clients, `parallel` at a time. */
export async function connectAll<T>(items: T[], parallel: number, connect: (item: T, i: number) => Promise<Client>): Promise<Client[]> {
  const out: Client[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await connect(items[i]!, i);
      }
    }),
  );
  return out;
}
