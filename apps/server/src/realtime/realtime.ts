import type { IncomingMessage } from 'node:http';
import type { ClientToServerEvents, ServerToClientEvents, SessionEndedEvent } from '@parley/protocol';
import { DeviceId, LIMITS } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { Server, type Socket } from 'socket.io';
import type { Server as HttpServer } from 'node:http';
import type { Session, SessionsStore } from '../features/auth/sessions-store.ts';
import { SESSION_COOKIE } from '../features/auth/cookie.ts';
import type { User } from '../features/users/users-store.ts';
import { isAllowedOrigin, type ProxyTrust } from '../lib/origin.ts';

export interface SocketData {
  user: User;
  sessionId: string;
  /**
   * The client instance this socket belongs to, from the handshake's `auth.deviceId` (the web app
   * makes one per page load and keeps it across socket reconnects), else the socket id.
   */
  deviceId: string;
}

export type ParleyServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ParleySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const userRoom = (id: string) => `user:${id}`;
const deviceRoom = (userId: string, deviceId: string) => `device:${userId}:${deviceId}`;
const sessionRoom = (id: string) => `session:${id}`;

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * socket.io on the Fastify server: authenticates the handshake with the session cookie, checks the
 * Origin, tracks presence, and gives features a way to reach every device of a user.
 */
export class Realtime {
  readonly io: ParleyServer;
  /** Connected sockets per user on this node. */
  private readonly connections = new Map<string, number>();
  private readonly onConnect: Array<(socket: ParleySocket) => void> = [];

  constructor(
    httpServer: HttpServer,
    private readonly sessions: SessionsStore,
    private readonly log: FastifyBaseLogger,
    opts: { extraOrigins: string[]; proxies: ProxyTrust },
  ) {
    this.io = new Server(httpServer, {
      maxHttpBufferSize: LIMITS.socketFrameMaxBytes,
      serveClient: false,
      allowRequest: (req: IncomingMessage, callback) => {
        const ok = isAllowedOrigin(req, opts);
        if (!ok) this.log.warn({ origin: req.headers.origin, host: req.headers.host }, 'socket rejected: origin not allowed');
        callback(ok ? null : 'origin not allowed', ok);
      },
    });

    this.io.use((socket, next) => {
      const token = cookieValue(socket.request.headers.cookie, SESSION_COOKIE);
      this.sessions
        .resolve(token)
        .then((session) => {
          if (!session) return next(new Error('unauthenticated'));
          const auth = socket.handshake.auth as { deviceId?: unknown } | undefined;
          const deviceId = DeviceId.safeParse(auth?.deviceId);
          socket.data = { user: session.user, sessionId: session.id, deviceId: deviceId.success ? deviceId.data : socket.id };
          next();
        })
        .catch((err: unknown) => {
          this.log.error({ err }, 'socket auth failed');
          next(new Error('internal'));
        });
    });

    this.io.on('connection', (socket) => this.connected(socket));
  }

  /** Registers per-socket event handlers (called by features at start-up). */
  handle(register: (socket: ParleySocket) => void): void {
    this.onConnect.push(register);
  }

  private connected(socket: ParleySocket): void {
    const { user, sessionId } = socket.data;
    void socket.join([userRoom(user.id), sessionRoom(sessionId), deviceRoom(user.id, socket.data.deviceId)]);
    const n = (this.connections.get(user.id) ?? 0) + 1;
    this.connections.set(user.id, n);
    this.log.info({ userId: user.id, socketId: socket.id, devices: n }, 'socket connected');
    if (n === 1) this.io.emit('presence', { userId: user.id, online: true });
    for (const register of this.onConnect) register(socket);
    socket.emit('hello', { protocolVersion: 1, user: { ...user, online: true } });

    socket.on('disconnect', (reason) => {
      const left = (this.connections.get(user.id) ?? 1) - 1;
      if (left <= 0) this.connections.delete(user.id);
      else this.connections.set(user.id, left);
      this.log.info({ userId: user.id, socketId: socket.id, reason, devices: left }, 'socket disconnected');
      if (left <= 0) this.io.emit('presence', { userId: user.id, online: false });
    });
  }

  isOnline(userId: string): boolean {
    return (this.connections.get(userId) ?? 0) > 0;
  }

  /** Every connected device of each user. */
  toUsers(...userIds: string[]) {
    return this.io.to(userIds.map(userRoom));
  }

  /** One device of a user (every socket it has open, normally one). */
  toDevice(userId: string, deviceId: string) {
    return this.io.to(deviceRoom(userId, deviceId));
  }

  /** Every device of a user but one. */
  toUserExceptDevice(userId: string, deviceId: string) {
    return this.io.to(userRoom(userId)).except(deviceRoom(userId, deviceId));
  }

  /** How many devices of the user are connected to this node. */
  deviceCount(userId: string): number {
    return this.deviceIds(userId).size;
  }

  /** The ids of the user's devices connected to this node. */
  deviceIds(userId: string): Set<string> {
    const devices = new Set<string>();
    for (const id of this.io.sockets.adapter.rooms.get(userRoom(userId)) ?? []) {
      const s = this.io.sockets.sockets.get(id);
      if (s) devices.add(s.data.deviceId);
    }
    return devices;
  }

  /** Whether any device signed in with this session has a socket on this node. */
  isSessionOnline(sessionId: string): boolean {
    return (this.io.sockets.adapter.rooms.get(sessionRoom(sessionId))?.size ?? 0) > 0;
  }

  isDeviceOnline(userId: string, deviceId: string): boolean {
    return (this.io.sockets.adapter.rooms.get(deviceRoom(userId, deviceId))?.size ?? 0) > 0;
  }

  /** Every device signed in with this session. */
  toSession(sessionId: string) {
    return this.io.to(sessionRoom(sessionId));
  }

  endSession(sessionId: string, reason: SessionEndedEvent['reason']): void {
    this.io.to(sessionRoom(sessionId)).emit('session.ended', { reason });
    this.io.in(sessionRoom(sessionId)).disconnectSockets(true);
  }

  endUser(userId: string, reason: SessionEndedEvent['reason']): void {
    this.io.to(userRoom(userId)).emit('session.ended', { reason });
    this.io.in(userRoom(userId)).disconnectSockets(true);
  }

  /**
   * Disconnects every socket and closes their transports, leaving the HTTP server to Fastify.
   * Runs before Fastify closes the HTTP server (preClose): an open WebSocket would otherwise keep
   * that close waiting for ever. Clients reconnect to the next server and resume their calls.
   */
  disconnectAll(): void {
    this.io.disconnectSockets(true);
    this.io.engine.close();
  }

  async close(): Promise<void> {
    this.disconnectAll();
    await this.io.close();
  }
}

export type { Session };
