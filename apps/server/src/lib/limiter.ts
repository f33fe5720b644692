import { createRequire } from 'node:module';
import type * as Flexible from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * rate-limiter-flexible's stores, one file each: the package's index loads all 25 of them (Mongo,
 * MySQL, DynamoDB, etcd, cluster…), ~1.1 MB of heap kept for the server's life. One node counts in
 * `MemoryLimiter` below and loads none of the stores; several nodes load the Redis store and its
 * memory insurance (limiter-redis.ts). The same modules as the index's, so `instanceof
 * RateLimiterRes` holds for what any store rejects with.
 */
export const flexible = createRequire(import.meta.url);
const RateLimiterRes = flexible('rate-limiter-flexible/lib/RateLimiterRes.js') as typeof Flexible.RateLimiterRes;
type RateLimiterRes = Flexible.RateLimiterRes;

/**
 * Every limit in Parley (sign-in, socket events, REST, connections) is a `Limiter`: a budget of
 * `points` per key in a fixed window of `durationS` seconds, spent atomically. The memory store
 * (`MemoryLimiter`) serves one node; several nodes (issue #8) pass a factory built on
 * rate-limiter-flexible's RateLimiterRedis with the same options, and nothing else changes.
 */
export interface Limiter {
  /** Takes `points` from `key`'s budget. Atomic: of N parallel calls, only the budget's worth are allowed. */
  consume(key: string, points?: number): Promise<LimitResult>;
  /**
   * The same as `consume`, answered at once, where the count lives in this process (one node's
   * memory): the per-event budgets of every socket event use it to spend no promise on the way.
   */
  consumeNow?(key: string, points?: number): LimitResult;
  /** Gives `points` back, e.g. a sign-in attempt reserved before the password was checked and that succeeded. */
  reward(key: string, points?: number): Promise<void>;
  /** What `key` has spent in its current window, without spending. */
  peek(key: string): Promise<{ consumed: number; msLeft: number }>;
  delete(key: string): Promise<void>;
}

export interface LimitResult {
  allowed: boolean;
  /** Points spent in the window, this call's included. */
  consumed: number;
  /** When not allowed: milliseconds until the window ends. */
  retryAfterMs: number;
}

export interface LimiterSpec {
  /** Unique per limit: the key prefix in a shared store. */
  name: string;
  points: number;
  durationS: number;
}

export type LimiterFactory = (spec: LimiterSpec) => Limiter;

/** Any rate-limiter-flexible store: memory here, Redis in limiter-redis.ts. */
export function wrap(store: RateLimiterAbstract): Limiter {
  const settle = (r: RateLimiterRes, allowed: boolean): LimitResult => ({
    allowed,
    consumed: r.consumedPoints,
    retryAfterMs: allowed ? 0 : Math.max(1, r.msBeforeNext),
  });
  return {
    async consume(key, points = 1) {
      try {
        return settle(await store.consume(key, points), true);
      } catch (err) {
        if (err instanceof RateLimiterRes) return settle(err, false);
        throw err;
      }
    },
    async reward(key, points = 1) {
      await store.reward(key, points);
    },
    async peek(key) {
      const r = await store.get(key);
      return r ? { consumed: Math.max(0, r.consumedPoints), msLeft: r.msBeforeNext } : { consumed: 0, msLeft: 0 };
    },
    async delete(key) {
      await store.delete(key);
    },
  };
}

interface Window {
  consumed: number;
  endsAt: number;
}

/**
 * One node: fixed windows in this process's memory, counted as rate-limiter-flexible's
 * RateLimiterMemory counts them (a key's window starts at its first use and lasts `durationS`; a
 * refused use still counts; a reward may take a count below zero), but synchronously: every
 * operation runs without an await, so it is atomic in the one process that holds the counts, and
 * a socket event's two budgets cost no promise (docs/performance.md, signalling). Instead of a
 * timer per key, ended windows are swept once per window length.
 */
export class MemoryLimiter implements Limiter {
  private readonly windows = new Map<string, Window>();
  private readonly durationMs: number;
  private nextSweep: number;

  constructor(
    private readonly points: number,
    durationS: number,
    private readonly now: () => number = Date.now,
  ) {
    // As rate-limiter-flexible: a duration of 0 never ends.
    this.durationMs = durationS > 0 ? durationS * 1000 : Number.POSITIVE_INFINITY;
    this.nextSweep = this.now() + this.durationMs;
  }

  /** The key's window if it has not ended. */
  private live(key: string, now: number): Window | undefined {
    const w = this.windows.get(key);
    return w && w.endsAt > now ? w : undefined;
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + this.durationMs;
    for (const [key, w] of this.windows) if (w.endsAt <= now) this.windows.delete(key);
  }

  private add(key: string, points: number, now: number): Window {
    this.sweep(now);
    let w = this.live(key, now);
    if (!w) {
      w = { consumed: 0, endsAt: now + this.durationMs };
      this.windows.set(key, w);
    }
    w.consumed += points;
    return w;
  }

  consumeNow(key: string, points = 1): LimitResult {
    const now = this.now();
    const w = this.add(key, points, now);
    const allowed = w.consumed <= this.points;
    return { allowed, consumed: w.consumed, retryAfterMs: allowed ? 0 : Math.max(1, Math.min(w.endsAt - now, Number.MAX_SAFE_INTEGER)) };
  }

  consume(key: string, points = 1): Promise<LimitResult> {
    return Promise.resolve(this.consumeNow(key, points));
  }

  reward(key: string, points = 1): Promise<void> {
    this.add(key, -points, this.now());
    return Promise.resolve();
  }

  peek(key: string): Promise<{ consumed: number; msLeft: number }> {
    const now = this.now();
    const w = this.live(key, now);
    return Promise.resolve(w ? { consumed: Math.max(0, w.consumed), msLeft: w.endsAt - now } : { consumed: 0, msLeft: 0 });
  }

  delete(key: string): Promise<void> {
    this.windows.delete(key);
    return Promise.resolve();
  }
}

/** One node: counters in this process's memory. */
export const memoryLimiters: LimiterFactory = (spec) => new MemoryLimiter(spec.points, spec.durationS);

/** Seconds for a Retry-After header or a `retryAfter` field: whole seconds, at least 1. */
export const retryAfterS = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
