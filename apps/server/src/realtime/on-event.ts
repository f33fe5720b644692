import type { Ack } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { ZodType } from 'zod';
import { AppError, fromZod } from '../lib/errors.ts';
import type { EventLimits, Refusal } from './event-limits.ts';
import type { ParleySocket } from './realtime.ts';

/** A feature's handler of one client event: the payload has passed its schema; the result goes back in the acknowledgement. */
export type EventHandler<P, R extends object> = (socket: ParleySocket, payload: P) => Promise<R>;

interface Route {
  schema: ZodType;
  handler: EventHandler<unknown, object>;
}

/**
 * Every client event of every socket goes through one router, registered once at start-up: a
 * socket carries one middleware and no listener per event (docs/performance.md, idle capacity:
 * ~20 closures per socket before). Each event — routed or not, well-formed or not — first passes
 * its class's budgets (event-limits.ts). An event over budget is answered `rate_limited` with
 * `retryAfter` (when it has an acknowledgement) and goes no further; a socket that keeps sending
 * after that is disconnected. A routed event's payload is validated by its schema and the
 * handler's result (or error) goes back in the acknowledgement; a handler that throws never takes
 * the server down; an event sent without an acknowledgement callback is ignored, because the
 * client could not learn the outcome. An event with no route goes on to the socket's own listeners.
 */
export class EventRouter {
  private readonly routes = new Map<string, Route>();

  constructor(
    private readonly limits: EventLimits,
    private readonly log: FastifyBaseLogger,
    private readonly hooks: {
      /** Every event a socket sends, before its budget is checked (a use of the session). */
      onEvent(socket: ParleySocket): void;
      /** The socket is being disconnected for ignoring rate_limited. */
      onDrop(socket: ParleySocket): void;
    },
  ) {}

  /** Routes `event` to `handler` for every socket (called by features at start-up). */
  on<S extends ZodType, R extends object>(event: string, schema: S, handler: EventHandler<S['_output'], R>): void {
    if (this.routes.has(event)) throw new Error(`socket event ${event} is routed twice`);
    this.routes.set(event, { schema, handler: handler as EventHandler<unknown, object> });
  }

  /** The one thing each socket gets: a middleware that limits and routes what it sends. */
  attach(socket: ParleySocket): void {
    socket.use((packet, next) => this.incoming(socket, packet as unknown as unknown[], next));
  }

  private incoming(socket: ParleySocket, packet: unknown[], next: (err?: Error) => void): void {
    const [event, ...args] = packet;
    const name = typeof event === 'string' ? event : '';
    this.hooks.onEvent(socket);
    // One node: the budgets answer at once, so the event is routed in this same turn.
    const now = this.limits.checkNow(name, socket.id, socket.data.userId);
    if (now !== null) return this.decided(socket, name, args, next, now);
    this.limits.check(name, socket.id, socket.data.userId).then(
      (refused) => this.decided(socket, name, args, next, refused),
      (err: unknown) => {
        this.log.error({ err }, 'rate limit check failed; event let through');
        this.route(socket, name, args, next);
      },
    );
  }

  private decided(socket: ParleySocket, name: string, args: unknown[], next: (err?: Error) => void, refused: Refusal | undefined): void {
    if (!refused) return this.route(socket, name, args, next);
    const ack = args.at(-1);
    if (typeof ack === 'function') (ack as (res: Ack) => void)({ ok: false, ...refused.error.toBody() });
    if (refused.drop && socket.connected) {
      this.log.warn({ userId: socket.data.userId, socketId: socket.id, event: name }, 'socket disconnected: it ignored rate_limited');
      this.hooks.onDrop(socket);
      socket.disconnect(true);
    }
  }

  private route(socket: ParleySocket, event: string, args: unknown[], next: () => void): void {
    const route = this.routes.get(event);
    if (!route) return next();
    // As socket.io does for its listeners: nothing is handled for a socket already gone.
    if (!socket.connected) return;
    const ack = args.at(-1);
    if (typeof ack !== 'function') {
      this.log.debug({ event, userId: socket.data.userId }, 'socket event without acknowledgement ignored');
      return;
    }
    const reply = ack as (res: Ack<object>) => void;
    const parsed = route.schema.safeParse(args.length > 1 ? args[0] : undefined);
    if (!parsed.success) {
      reply({ ok: false, ...fromZod(parsed.error, event).toBody() });
      return;
    }
    let result: Promise<object>;
    try {
      result = route.handler(socket, parsed.data);
    } catch (err) {
      result = Promise.reject(err as Error);
    }
    result.then(
      (r) => reply({ ok: true, ...r }),
      (err: unknown) => {
        if (err instanceof AppError) return reply({ ok: false, ...err.toBody() });
        this.log.error({ err, event, userId: socket.data.userId }, 'socket handler failed');
        reply({ ok: false, error: { code: 'internal', message: 'Something went wrong on the server; nothing was stored' } });
      },
    );
  }
}
