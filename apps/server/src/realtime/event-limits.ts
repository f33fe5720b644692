import type { ClientToServerEvents } from '@parley/protocol';
import { AppError } from '../lib/errors.ts';
import { retryAfterS, type Limiter, type LimiterFactory, type LimitResult } from '../lib/limiter.ts';

/** Every client event belongs to one class; each class has its own budget per socket and per user. */
export const EVENT_CLASSES = ['chat', 'invite', 'signalling', 'stats', 'other'] as const;
export type EventClass = (typeof EVENT_CLASSES)[number];

/** The class of each client event. An event name not in the protocol counts as `other`. */
export const EVENT_CLASS: Record<keyof ClientToServerEvents, EventClass> = {
  'message.send': 'chat',
  'conversation.read': 'chat',
  'chat.sync': 'chat',
  'presence.subscribe': 'chat',
  'presence.unsubscribe': 'chat',
  'call.invite': 'invite',
  'call.ringing': 'signalling',
  'call.accept': 'signalling',
  'call.reject': 'signalling',
  'call.cancel': 'signalling',
  'call.offer': 'signalling',
  'call.answer': 'signalling',
  'call.ice': 'signalling',
  'call.hangup': 'signalling',
  'call.resume': 'signalling',
  'call.stats': 'stats',
};

/** An event over budget: the error to answer, and whether to disconnect the socket (it ignores `rate_limited`). */
export interface Refusal {
  error: AppError;
  drop: boolean;
}

/** Events per 10 s window, per socket and per user (all of the user's sockets together). */
export type EventBudgets = Record<EventClass, { perSocket: number; perUser: number }>;
export const EVENT_WINDOW_S = 10;

/** Refused events per socket in one window after which the socket is disconnected: it ignores `rate_limited`. */
export const REFUSALS_BEFORE_DISCONNECT = 50;

/**
 * The budgets of socket events. `check` spends one event of its class from the socket's and the
 * user's budgets and answers the `rate_limited` error to send back, if any.
 */
export class EventLimits {
  private readonly limiters: Record<EventClass, { socket: Limiter; user: Limiter }>;
  private readonly refusals: Limiter;
  /** Every budget answers at once (`consumeNow`): one node's memory. */
  private readonly synchronous: boolean;

  constructor(factory: LimiterFactory, budgets: EventBudgets) {
    const make = (c: EventClass) => ({
      socket: factory({ name: `ev_${c}_socket`, points: budgets[c].perSocket, durationS: EVENT_WINDOW_S }),
      user: factory({ name: `ev_${c}_user`, points: budgets[c].perUser, durationS: EVENT_WINDOW_S }),
    });
    this.limiters = Object.fromEntries(EVENT_CLASSES.map((c) => [c, make(c)])) as EventLimits['limiters'];
    this.refusals = factory({ name: 'ev_refusals', points: REFUSALS_BEFORE_DISCONNECT, durationS: EVENT_WINDOW_S });
    const all = [...Object.values(this.limiters).flatMap((l) => [l.socket, l.user]), this.refusals];
    this.synchronous = all.every((l) => typeof l.consumeNow === 'function');
  }

  static classOf(event: string): EventClass {
    return Object.hasOwn(EVENT_CLASS, event) ? EVENT_CLASS[event as keyof ClientToServerEvents] : 'other';
  }

  /** undefined: go on. Otherwise the error to answer, and whether the socket should be dropped. */
  async check(event: string, socketId: string, userId: string): Promise<Refusal | undefined> {
    const now = this.checkNow(event, socketId, userId);
    if (now !== null) return now;
    const l = this.limiters[EventLimits.classOf(event)];
    const bySocket = await l.socket.consume(socketId);
    // A socket over its own budget does not spend its user's (the user's other devices go on).
    const byUser = bySocket.allowed ? await l.user.consume(userId) : undefined;
    if (bySocket.allowed && byUser?.allowed) return undefined;
    return this.refuse(event, bySocket, byUser, await this.refusals.consume(socketId));
  }

  /**
   * `check` without a promise, when every budget counts in this process's memory (one node):
   * the same answer, or null when a budget lives elsewhere (Redis) and `check` must be awaited.
   */
  checkNow(event: string, socketId: string, userId: string): Refusal | undefined | null {
    if (!this.synchronous) return null;
    const l = this.limiters[EventLimits.classOf(event)];
    const bySocket = l.socket.consumeNow!(socketId);
    const byUser = bySocket.allowed ? l.user.consumeNow!(userId) : undefined;
    if (bySocket.allowed && byUser?.allowed) return undefined;
    return this.refuse(event, bySocket, byUser, this.refusals.consumeNow!(socketId));
  }

  private refuse(event: string, bySocket: LimitResult, byUser: LimitResult | undefined, refused: LimitResult): Refusal {
    const waitMs = Math.max(bySocket.retryAfterMs, byUser?.retryAfterMs ?? 0);
    const s = retryAfterS(waitMs);
    return { error: new AppError('rate_limited', `Too many ${EventLimits.classOf(event)} events. Try again in ${s} seconds.`, undefined, s), drop: !refused.allowed };
  }
}
