import type { Ack } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { ZodType } from 'zod';
import { AppError, fromZod } from '../lib/errors.ts';
import type { EventLimits } from './event-limits.ts';
import type { ParleySocket } from './realtime.ts';

type Listener = (...args: unknown[]) => void;

/**
 * Puts every incoming event of `socket` — registered with onEvent or not, well-formed or not —
 * through its class's budgets (event-limits.ts) before any handler sees it. An event over budget
 * is answered `rate_limited` with `retryAfter` (when it has an acknowledgement) and goes no further;
 * a socket that keeps sending after that is disconnected.
 */
export function limitEvents(socket: ParleySocket, limits: EventLimits, log: FastifyBaseLogger, onDrop: () => void): void {
  socket.use((packet, next) => {
    const [event, ...args] = packet as unknown as [unknown, ...unknown[]];
    limits.check(typeof event === 'string' ? event : '', socket.id, socket.data.user.id).then(
      (refused) => {
        if (!refused) return next();
        const ack = args.at(-1);
        if (typeof ack === 'function') (ack as (res: Ack) => void)({ ok: false, ...refused.error.toBody() });
        if (refused.drop && socket.connected) {
          log.warn({ userId: socket.data.user.id, socketId: socket.id, event }, 'socket disconnected: it ignored rate_limited');
          onDrop();
          socket.disconnect(true);
        }
      },
      (err: unknown) => {
        log.error({ err }, 'rate limit check failed; event let through');
        next();
      },
    );
  });
}

/**
 * Registers a socket event whose payload is validated by `schema` and whose result (or error) goes
 * back in the acknowledgement. A handler that throws never takes the server down; an event sent
 * without an acknowledgement callback is ignored, because the client could not learn the outcome.
 */
export function onEvent<S extends ZodType, R extends object>(
  socket: ParleySocket,
  log: FastifyBaseLogger,
  event: string,
  schema: S,
  handler: (payload: S['_output']) => Promise<R>,
): void {
  // Payloads are untyped on the wire; the typed event map only describes acknowledgements.
  (socket.on as (e: string, l: Listener) => void).call(socket, event, (...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack !== 'function') {
      log.debug({ event, userId: socket.data.user.id }, 'socket event without acknowledgement ignored');
      return;
    }
    const reply = ack as (res: Ack<R>) => void;
    const parsed = schema.safeParse(args.length > 1 ? args[0] : undefined);
    if (!parsed.success) {
      reply({ ok: false, ...fromZod(parsed.error, event).toBody() });
      return;
    }
    handler(parsed.data).then(
      (result) => reply({ ok: true, ...result }),
      (err: unknown) => {
        if (err instanceof AppError) return reply({ ok: false, ...err.toBody() });
        log.error({ err, event, userId: socket.data.user.id }, 'socket handler failed');
        reply({ ok: false, error: { code: 'internal', message: 'Something went wrong on the server; nothing was stored' } });
      },
    );
  });
}
