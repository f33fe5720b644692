import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { LIMITS, type CreateUserRequest } from '@parley/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { AppContext, ManagedTurn } from './context.ts';
import { createDb, ping, type Db } from './db/database.ts';
import { setUpDatabase } from './db/setup.ts';
import type { Config } from './env.ts';
import { authRoutes } from './features/auth/auth-routes.ts';
import { CallManager, type CallDeps } from './features/calls/call-manager.ts';
import { redisCallDeps } from './features/calls/call-deps-redis.ts';
import { systemClock, type Clock } from './features/calls/call-scheduler.ts';
import { startIdleSweep } from './features/auth/idle-sweep.ts';
import { SessionsStore } from './features/auth/sessions-store.ts';
import { chatRoutes } from './features/chat/chat-routes.ts';
import { registerChatSocket } from './features/chat/chat-socket.ts';
import { ChatStore } from './features/chat/chat-store.ts';
import { noMetrics } from './features/metrics/metrics.ts';
import { PrometheusMetrics } from './features/metrics/prometheus.ts';
import { metricsRoutes } from './features/metrics/metrics-routes.ts';
import { pushRoutes } from './features/push/push-routes.ts';
import { pushAgent } from './features/push/endpoints.ts';
import { MISSED, PushService } from './features/push/push-service.ts';
import { PushStore } from './features/push/push-store.ts';
import { loadVapidKeys } from './features/push/vapid.ts';
import { rtcRoutes } from './features/rtc/rtc-routes.ts';
import { seedDemoUsers, seedFirstAdmin } from './features/users/demo-users.ts';
import { UsersStore } from './features/users/users-store.ts';
import { usersRoutes } from './features/users/users-routes.ts';
import { AppError } from './lib/errors.ts';
import { createLogger } from './lib/log.ts';
import type { DestinationStream } from 'pino';
import { memoryLimiters, type LimiterFactory } from './lib/limiter.ts';
import { isAllowedOrigin, proxyTrust } from './lib/origin.ts';
import type * as RedisStreamsAdapter from '@socket.io/redis-streams-adapter';
import { redisLimiters } from './lib/limiter-redis.ts';
import { RedisLink } from './lib/redis.ts';
import { RedisPresenceStore } from './realtime/presence-redis.ts';
import { registerPresenceSocket } from './realtime/presence-socket.ts';
import { restLimits } from './lib/rest-limits.ts';
import { securityHeaders } from './lib/security-headers.ts';
import { Realtime } from './realtime/realtime.ts';

/**
 * Parley validates with zod (lib/errors.ts `parse`), so no route has a JSON schema and fastify's
 * ajv and fast-json-stringify compilers would never run; given these factories instead, fastify
 * does not even load them (docs/decisions/019-metrics-and-schema-compilers-only-when-used.md).
 * A route given a validation or response schema fails at start-up with this message.
 */
const noJsonSchemas = (): never => {
  throw new Error('Parley validates with zod: fastify routes take no validation or response schema');
};

/** Paths the web app's client-side routes never use. */
const SERVER_PATHS = ['/api', '/socket.io', '/metrics', '/healthz'];

export interface BuiltApp {
  app: FastifyInstance;
  ctx: AppContext;
  calls: CallManager;
  /** The demo accounts this start created (none when the database had users). */
  demoUsersCreated: CreateUserRequest[];
  push: PushService;
}

/**
 * Builds the whole server (database migrated, routes, socket.io attached to `app.server`) without
 * listening. Closing the app closes socket.io and the database.
 */
export async function buildApp(
  config: Config,
  opts: {
    logger?: FastifyBaseLogger;
    db?: Db;
    managedTurn?: ManagedTurn;
    https?: { key: string; cert: string };
    limiters?: LimiterFactory;
    seedDemoUsers?: boolean;
    /** Trust this certificate for push services instead of the public CAs (tests: the local push service). */
    pushCa?: string;
    calls?: CallDeps;
    /** Where the server's own logger writes (stdout if unset); ignored when `logger` is given. */
    logStream?: DestinationStream;
    /** Time for sessions (idle expiry) and calls; a fake one in tests. */
    clock?: Clock;
  } = {},
): Promise<BuiltApp> {
  const app = Fastify({
    ...(opts.https ? { https: opts.https } : {}),
    loggerInstance: opts.logger ?? createLogger({ level: config.logLevel, ips: config.logIps }, opts.logStream),
    bodyLimit: LIMITS.httpBodyMaxBytes,
    schemaController: { compilersFactory: { buildValidator: noJsonSchemas, buildSerializer: noJsonSchemas } },
    // Only the listed proxies: Fastify then takes req.ip from the nearest untrusted X-Forwarded-For hop.
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // The router's own refusals (a malformed URL, a path parameter over maxParamLength) get the same
    // typed body as every other error; Fastify's default is an untyped one (found by the fuzz suite).
    // Requests Node's HTTP parser refuses (headers or URL over 16 KiB, broken framing) also get a typed body.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, text, code, message] =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'payload_too_large', 'The request line or headers are larger than 16 KiB']
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request Timeout', 'bad_request', 'The request took too long to arrive']
            : [400, 'Bad Request', 'bad_request', 'Malformed HTTP request'];
      const body = JSON.stringify({ error: { code, message } });
      if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
      socket.destroy(err);
    },
    frameworkErrors: (err, _req, reply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void (reply as unknown as FastifyReply).code(tooLong ? 414 : 400).send(new AppError(tooLong ? 'not_found' : 'bad_request', tooLong ? 'No such resource: a path segment is too long' : 'Malformed URL').toBody());
    },
  });
  const proxies = proxyTrust(config.trustProxy);
  // REDIS_URL: this node is one of several; fan-out, presence and limits are shared through Redis.
  const redis = config.redisUrl ? new RedisLink(config.redisUrl, app.log) : undefined;
  const limiters = opts.limiters ?? (redis ? redisLimiters(redis) : memoryLimiters);

  const db = opts.db ?? createDb(config.database, (err) => app.log.warn({ err }, 'database connection lost; the pool replaces it'));
  const users = new UsersStore(db);
  const demoUsersCreated = await setUpDatabase(db, config.database.kind, async () => {
    // The first admin of a real deployment comes first; demo accounts only on a still-empty database.
    if (config.firstAdmin && (await seedFirstAdmin(users, config.firstAdmin))) app.log.info({ email: config.firstAdmin.email }, 'first admin created');
    return opts.seedDemoUsers ? seedDemoUsers(users) : [];
  });

  const clock = opts.clock ?? opts.calls?.clock ?? systemClock;
  const sessions = new SessionsStore(db, config.sessionTtlMs, { idleMs: config.sessionIdleMs, now: () => clock.now() });
  const realtime = new Realtime(app.server, sessions, app.log, {
    extraOrigins: config.extraOrigins,
    proxies,
    limiters,
    limits: config.sockets,
    // Loaded only with REDIS_URL (a single node does not keep it resident).
    ...(redis ? { adapter: (createRequire(import.meta.url)('@socket.io/redis-streams-adapter') as typeof RedisStreamsAdapter).createAdapter(redis.adapter), presence: new RedisPresenceStore(redis, app.log) } : {}),
  });
  // Counted only when something can read it: without METRICS_TOKEN, prom-client (with its
  // @opentelemetry/api and the event-loop monitor and GC observer of its default metrics) never loads.
  const prometheus = config.metricsToken ? new PrometheusMetrics({ socketsConnected: () => realtime.io.engine.clientsCount }) : undefined;
  const metrics = prometheus ?? noMetrics;
  const vapid = await loadVapidKeys(db, config.push);
  app.log.info({ source: vapid.source }, 'web push: VAPID keys ready');
  const push = new PushService(new PushStore(db), realtime, vapid, app.log, {
    subject: config.push.subject,
    previews: config.push.previews,
    agent: pushAgent({ allowLocal: config.push.allowLocalEndpoints, ...(opts.pushCa ? { ca: opts.pushCa } : {}) }),
  });
  const ctx: AppContext = { config, db, sessions, realtime, metrics, limiters, push, users, chat: new ChatStore(db), ...(redis ? { redis } : {}), ...(opts.managedTurn ? { managedTurn: opts.managedTurn } : {}) };

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof AppError) {
      if (err.retryAfterS) void reply.header('retry-after', String(err.retryAfterS));
      return reply.code(err.status).send(err.toBody());
    }
    const e = err as { code?: string; statusCode?: number; message: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(new AppError('payload_too_large', `Request body is larger than ${LIMITS.httpBodyMaxBytes} bytes`).toBody());
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      // Fastify's own client errors: malformed JSON, unsupported content type, empty JSON body.
      return reply.code(e.statusCode).send({ error: { code: e.statusCode === 413 ? 'payload_too_large' : 'bad_request', message: e.message } });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send(new AppError('internal', 'Something went wrong on the server').toBody());
  });

  // Cross-site form posts cannot send JSON, and SameSite=Lax keeps the cookie off cross-site
  // sub-requests; refusing a foreign Origin on writes closes what is left.
  app.addHook('onRequest', async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers.origin && !isAllowedOrigin(req.raw, { extraOrigins: config.extraOrigins, proxies })) {
      throw new AppError('forbidden', 'Cross-origin request refused');
    }
  });

  restLimits(app, limiters, config.rest);
  await securityHeaders(app);

  await app.register(fastifyCookie);
  await app.register(authRoutes, { ctx });
  await app.register(usersRoutes, { ctx });
  await app.register(chatRoutes, { ctx });
  await app.register(rtcRoutes, { ctx });
  if (prometheus && config.metricsToken) await app.register(metricsRoutes, { metrics: prometheus, token: config.metricsToken });
  registerChatSocket(ctx, app.log);
  registerPresenceSocket(realtime);
  // Several nodes: calls, their timers and caps live in Redis, so any node can carry on any call.
  const calls = new CallManager(ctx, app.log, { clock, ...(redis ? redisCallDeps(redis, app.log, clock) : {}), ...opts.calls });
  const stopIdleSweep = startIdleSweep(sessions, realtime, clock, app.log);
  calls.register();
  await app.register(pushRoutes, {
    ctx,
    push,
    calls: {
      ringingStatus: async (userId, callId) => {
        const call = await calls.callOf(userId);
        // Ringing, or answered on one of their devices (and still going on).
        if (call?.id === callId && call.callee.userId === userId) return { ringing: call.phase === 'ringing', missed: false };
        // Over: its history entry says how. With none (not theirs, or over the history cap), a
        // ring that cannot be confirmed counts as missed, as a push that came after its ring did.
        const ended = await ctx.chat.endedCallFor(userId, callId);
        return { ringing: false, missed: ended ? MISSED.has(ended.reason) : true };
      },
      // A device id of its own: the decline reaches every device of the person, as from any device.
      decline: async (userId, sessionId, callId) => {
        await calls.handle(callId, { type: 'reject', from: { userId, deviceId: `push-${sessionId.slice(0, 8)}` }, reason: 'declined' });
      },
    },
  });

  // The database and Redis separately: a node without Redis still serves its own sockets, but
  // nobody on another node hears them, so it is not healthy either.
  app.get('/healthz', async (_req, reply) => {
    let database: 'ok' | 'unreachable' = 'ok';
    try {
      await ping(db);
    } catch (err) {
      database = 'unreachable';
      app.log.error({ err }, 'health check: database unreachable');
    }
    const redisState = !redis ? 'not_configured' : (await redis.ping()) ? 'ok' : 'unreachable';
    const ok = database === 'ok' && redisState !== 'unreachable';
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', database, redis: redisState });
  });

  const index = path.join(config.webDist, 'index.html');
  if (fs.existsSync(index)) {
    await app.register(fastifyStatic, { root: config.webDist, wildcard: false });
  } else {
    app.log.warn({ webDist: config.webDist }, 'web app not built: run `npm run build` (API only)');
  }
  // The server's own paths never fall back to the web app: /metrics without METRICS_TOKEN is a 404.
  const serverPath = (url: string) => SERVER_PATHS.some((p) => url === p || url.startsWith(`${p}/`) || url.startsWith(`${p}?`));
  app.setNotFoundHandler((req, reply) => {
    if (req.method === 'GET' && !serverPath(req.url) && fs.existsSync(index)) {
      return reply.type('text/html').send(fs.createReadStream(index));
    }
    return reply.code(404).send(new AppError('not_found', `No route ${req.method} ${req.url.split('?')[0]}`).toBody());
  });

  app.addHook('preClose', async () => {
    realtime.disconnectAll();
  });
  app.addHook('onClose', async () => {
    stopIdleSweep();
    await calls.close();
    await realtime.close();
    await push.settled();
    await redis?.close();
    await db.destroy();
    prometheus?.close();
  });

  return { app, ctx, calls, demoUsersCreated, push };
}
