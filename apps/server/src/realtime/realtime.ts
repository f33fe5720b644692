import { ServerResponse, type IncomingMessage } from 'node:http';
import type { ClientToServerEvents, ServerToClientEvents, SessionEndedEvent } from '@parley/protocol';
import { DeviceId, LIMITS } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { Server as HttpServer } from 'node:http';
import type { Session, SessionsStore } from '../features/auth/sessions-store.ts';
import { cookieValue, sessionKey } from '../features/auth/cookie.ts';
import type { User } from '../features/users/users-store.ts';
import type { Limiter, LimiterFactory } from '../lib/limiter.ts';
import { isAllowedOrigin, type ProxyTrust } from '../lib/origin.ts';
import { EventLimits, type EventBudgets } from './event-limits.ts';
import { EventRouter, type EventHandler } from './on-event.ts';
import type { ZodType } from 'zod';

/** Seconds a session whose socket was dropped for flooding may not open a socket. */
export const DROP_COOLDOWN_S = 30;

export interface SocketLimits {
  events: EventBudgets;
  /** Sockets one user may have open on this node (all devices and tabs). */
  socketsPerUser: number;
  /** Sockets one session (one browser's sign-in) may have open on this node. */
  socketsPerSession: number;
  /** Socket handshakes per client address per minute. */
  connectsPerAddress: number;
}
import { MemoryPresenceStore, type PresenceStore, type PresentDevice } from './presence.ts';

/**
 * What a socket keeps for its life: ids and the one name a feature shows, not the session's user
 * object (idle capacity: every byte here is paid once per connected socket).
 */
export interface SocketData {
  userId: string;
  /** The person's name at connect time (a caller's name on an invite, a message's push). */
  name: string;
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
export const PRESENCE_ROOM_PREFIX = 'presence:';
/** The sockets that follow a person's presence (presence.subscribe). */
export const presenceRoom = (userId: string) => `${PRESENCE_ROOM_PREFIX}${userId}`;

/**
 * The one thing of the handshake's HTTP request a socket needs later: its cookie header. engine.io
 * would otherwise keep the whole request (headers, parser state, the TCP socket's references) for
 * the life of every connection; socket.io's memory-usage guide discards it, and so does Parley.
 */
const handshakeCookies = new WeakMap<object, string | undefined>();
/** The signed-in user, from authentication until the socket's `hello` (not kept after). */
const helloUser = new WeakMap<ParleySocket, User>();
/**
 * engine.io's stand-in response of a WebSocket upgrade: it holds the whole upgrade request for the
 * life of the connection (the TCP socket's close listener keeps it), even once `request` is dropped.
 */
interface UpgradeResponse {
  req: IncomingMessage | null;
}
const upgradeResponses = new WeakMap<IncomingMessage, UpgradeResponse>();
/**
 * What every authenticated socket's `handshake` becomes: socket.io builds one per socket (a date
 * string, the query, the auth payload, an address) and Parley reads only `auth`, once, here.
 */
const HANDSHAKE_READ: Socket['handshake'] = Object.freeze({ headers: Object.freeze({}), time: '', address: '', xdomain: false, secure: false, issued: 0, url: '', query: Object.freeze({}), auth: Object.freeze({}) });

/**
 * socket.io on the Fastify server: authenticates the handshake with the session cookie, checks the
 * Origin, tracks presence, and gives features a way to reach every device of a user.
 */
export class Realtime {
  readonly io: ParleyServer;
  readonly presence: PresenceStore;
  /** Connected sockets per user and per session on this node, for the caps. */
  private readonly userSockets = new Map<string, number>();
  private readonly sessionSockets = new Map<string, number>();
  private readonly router: EventRouter;
  private readonly cooldown: Limiter;
  private readonly onConnect: Array<(socket: ParleySocket) => void> = [];
  private readonly onDeviceGone: Array<(device: PresentDevice) => void> = [];

  constructor(
    httpServer: HttpServer,
    private readonly sessions: SessionsStore,
    private readonly log: FastifyBaseLogger,
    opts: { extraOrigins: string[]; proxies: ProxyTrust; presence?: PresenceStore; adapter?: ServerOptions['adapter']; limiters: LimiterFactory; limits: SocketLimits },
  ) {
    this.router = new EventRouter(new EventLimits(opts.limiters, opts.limits.events), log, {
      // Each event is a use of the session (idle expiry); written at most once per SessionsStore.touchMs.
      onEvent: (socket) => {
        this.sessions.touch(socket.data.sessionId)?.catch((err: unknown) => this.log.warn({ err }, 'session use not recorded'));
      },
      onDrop: (socket) => {
        const key = sessionKey(handshakeCookies.get(socket.conn));
        if (key) void this.cooldown.consume(key);
      },
    });
    const connects = opts.limiters({ name: 'socket_connects', points: opts.limits.connectsPerAddress, durationS: 60 });
    // A session whose socket was dropped for ignoring rate_limited may not open another for a while;
    // refused before the address's budget is spent, so a flood does not use up a shared (NAT) address.
    this.cooldown = opts.limiters({ name: 'socket_cooldown', points: 1, durationS: DROP_COOLDOWN_S });
    this.presence = opts.presence ?? new MemoryPresenceStore();
    this.presence.onOffline((userIds, devices) => {
      for (const userId of userIds) this.announce(userId, false);
      for (const device of devices) this.deviceGone(device);
    });
    this.io = new Server(httpServer, {
      maxHttpBufferSize: LIMITS.socketFrameMaxBytes,
      serveClient: false,
      // Said explicitly (it is the default): no per-connection zlib context, ~300 KB each when on.
      perMessageDeflate: false,
      // Several nodes: emits to a room reach its sockets on every node (the Redis streams adapter).
      ...(opts.adapter ? { adapter: opts.adapter } : {}),
      allowRequest: (req: IncomingMessage, callback) => {
        if (!isAllowedOrigin(req, opts)) {
          this.log.warn({ origin: req.headers.origin, host: req.headers.host }, 'socket rejected: origin not allowed');
          return callback('origin not allowed', false);
        }
        this.admit(req, opts.proxies, connects).then(
          (refusal) => callback(refusal ?? null, !refusal),
          (err: unknown) => {
            this.log.error({ err }, 'connection limit check failed');
            callback(null, true);
          },
        );
      },
    });

    // engine.io middlewares see the upgrade's stand-in response: remember it, to cut it from the
    // request once the connection is made.
    this.io.engine.use((req: IncomingMessage, res: unknown, next: () => void) => {
      // Only the upgrade's stand-in (a WebSocket handshake); an HTTP response needs its request.
      if (!(res instanceof ServerResponse) && (res as Partial<UpgradeResponse> | undefined)?.req === req) upgradeResponses.set(req, res as UpgradeResponse);
      next();
    });
    // socket.io's own listener ran first (it registered at attach): its client already has what it
    // needs of the request; keep the cookie, drop the request (docs/performance.md, idle capacity).
    this.io.engine.on('connection', (raw: { request: IncomingMessage | null }) => {
      const req = raw.request;
      handshakeCookies.set(raw, req?.headers.cookie);
      raw.request = null;
      const res = req && upgradeResponses.get(req);
      if (res) res.req = null;
    });

    this.io.use((socket, next) => {
      const token = cookieValue(handshakeCookies.get(socket.conn));
      this.sessions
        .resolve(token)
        .then((session) => {
          if (!session) return next(new Error('unauthenticated'));
          if ((this.userSockets.get(session.user.id) ?? 0) >= opts.limits.socketsPerUser || (this.sessionSockets.get(session.id) ?? 0) >= opts.limits.socketsPerSession) {
            this.log.warn({ userId: session.user.id }, 'socket rejected: too many sockets for this user or session');
            return next(new Error('too_many_connections'));
          }
          const auth = socket.handshake.auth as { deviceId?: unknown } | undefined;
          const deviceId = DeviceId.safeParse(auth?.deviceId);
          socket.data = { userId: session.user.id, name: session.user.name, sessionId: session.id, deviceId: deviceId.success ? deviceId.data : socket.id };
          helloUser.set(socket, session.user);
          (socket as { handshake: Socket['handshake'] }).handshake = HANDSHAKE_READ;
          next();
        })
        .catch((err: unknown) => {
          this.log.error({ err }, 'socket auth failed');
          next(new Error('internal'));
        });
    });

    this.io.on('connection', (socket) => this.connected(socket));
  }

  /** Why a handshake is refused (a session cooling down, an address over its budget), or undefined. */
  private async admit(req: IncomingMessage, proxies: ProxyTrust, connects: Limiter): Promise<string | undefined> {
    const ip = proxies.clientAddress(req);
    const key = sessionKey(req.headers.cookie);
    if (key && (await this.cooldown.peek(key)).consumed > 0) return 'flooded: wait before reconnecting';
    if (!(await connects.consume(ip)).allowed) {
      this.log.warn({ ip }, 'socket rejected: too many connection attempts from this address');
      return 'too many connection attempts';
    }
    return undefined;
  }

  private count(map: Map<string, number>, key: string, by: 1 | -1): void {
    const n = (map.get(key) ?? 0) + by;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  }

  /**
   * Routes a client event, for every socket, to `handler` (called by features at start-up). One
   * route per event for the whole server: a socket holds no listener of its own.
   */
  on<S extends ZodType, R extends object>(event: string, schema: S, handler: EventHandler<S['_output'], R>): void {
    this.router.on(event, schema, handler);
  }

  /** Runs `fn` for each socket as it connects, before its `hello` (keep nothing per socket in it). */
  onConnected(fn: (socket: ParleySocket) => void): void {
    this.onConnect.push(fn);
  }

  private connected(socket: ParleySocket): void {
    const { userId, sessionId, deviceId } = socket.data;
    void socket.join([userRoom(userId), sessionRoom(sessionId), deviceRoom(userId, deviceId)]);
    this.count(this.userSockets, userId, 1);
    this.count(this.sessionSockets, sessionId, 1);
    this.router.attach(socket);
    this.log.info({ userId, socketId: socket.id }, 'socket connected');
    this.presence.add(userId, deviceId).then(
      (first) => first && this.announce(userId, true),
      (err: unknown) => this.log.warn({ err, userId }, 'presence not counted'),
    );
    for (const fn of this.onConnect) fn(socket);
    const user = helloUser.get(socket);
    helloUser.delete(socket);
    socket.emit('hello', { protocolVersion: 1, user: { ...user!, online: true } });
    socket.on('disconnect', (reason) => this.disconnected(socket, reason));
  }

  private disconnected(socket: ParleySocket, reason: string): void {
    const { userId, sessionId, deviceId } = socket.data;
    this.count(this.userSockets, userId, -1);
    this.count(this.sessionSockets, sessionId, -1);
    this.log.info({ userId, socketId: socket.id, reason }, 'socket disconnected');
    this.presence
      .remove(userId, deviceId)
      .then(
        (last) => last && this.announce(userId, false),
        (err: unknown) => this.log.warn({ err, userId }, 'presence not counted'),
      )
      // After the count, so whoever asks whether the device is still online anywhere hears the truth.
      .finally(() => this.deviceGone({ userId, deviceId }));
  }

  /**
   * Runs `fn` when a device may have lost its last socket: one of its sockets on this node closed,
   * or the node that held it died (another node's sweep found out). Ask `isDeviceOnline` for the rest.
   */
  onDeviceLeft(fn: (device: PresentDevice) => void): void {
    this.onDeviceGone.push(fn);
  }

  private deviceGone(device: PresentDevice): void {
    for (const fn of this.onDeviceGone) {
      try {
        fn(device);
      } catch (err) {
        this.log.error({ err, userId: device.userId }, 'device-left listener failed');
      }
    }
  }

  /** Tells the person's followers, on every node. */
  private announce(userId: string, online: boolean): void {
    this.io.to(presenceRoom(userId)).emit('presence', { userId, online });
  }

  /** Which of these people are online on any node. */
  async onlineOf(userIds: string[]): Promise<Set<string>> {
    return this.presence.online(userIds);
  }

  async isOnline(userId: string): Promise<boolean> {
    return (await this.presence.online([userId])).has(userId);
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

  /** How many devices of the user are connected, on any node. */
  async deviceCount(userId: string): Promise<number> {
    return (await this.deviceIds(userId)).size;
  }

  /** The ids of the user's devices connected to any node (the presence store), and to this one (its own sockets, counted or not yet). */
  async deviceIds(userId: string): Promise<Set<string>> {
    const devices = await this.presence.devices(userId);
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

  /** Whether the device has a socket on any node. */
  async isDeviceOnline(userId: string, deviceId: string): Promise<boolean> {
    if ((this.io.sockets.adapter.rooms.get(deviceRoom(userId, deviceId))?.size ?? 0) > 0) return true;
    return (await this.presence.devices(userId)).has(deviceId);
  }

  /** Every device signed in with this session. */
  toSession(sessionId: string) {
    return this.io.to(sessionRoom(sessionId));
  }

  endSession(sessionId: string, reason: SessionEndedEvent['reason']): void {
    this.io.to(sessionRoom(sessionId)).emit('session.ended', { reason });
    this.io.in(sessionRoom(sessionId)).disconnectSockets(true);
  }

  /** Ends every session of the user but one (the device that changed the password). */
  endUserExceptSession(userId: string, sessionId: string, reason: SessionEndedEvent['reason']): void {
    this.io.to(userRoom(userId)).except(sessionRoom(sessionId)).emit('session.ended', { reason });
    this.io.in(userRoom(userId)).except(sessionRoom(sessionId)).disconnectSockets(true);
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
    await this.presence.close();
  }
}

export type { Session };
