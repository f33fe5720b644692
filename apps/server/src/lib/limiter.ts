import { createRequire } from 'node:module';
import type * as Flexible from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * rate-limiter-flexible's stores, one file each: the package's index loads all 25 of them (Mongo,
 * MySQL, DynamoDB, etcd, cluster…), ~1.1 MB of heap kept for the server's life. One node counts in
 * `MemoryLimiter` below, on the library's own MemoryStorage; several nodes load the Redis store and its
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

/** rate-limiter-flexible's own synchronous counter, the storage inside its RateLimiterMemory. */
interface FlexibleMemoryStorage {
  incrby(key: string, value: number, durationSec: number): RateLimiterRes;
  get(key: string): RateLimiterRes | null;
  delete(key: string): boolean;
}
const MemoryStorage = flexible('rate-limiter-flexible/lib/component/MemoryStorage/MemoryStorage.js') as new () => FlexibleMemoryStorage;

/**
 * One node: rate-limiter-flexible's in-memory counting (its `MemoryStorage`, the counter inside
 * `RateLimiterMemory`: a key's window starts at its first use and lasts `durationS`; a refused use
 * still counts; a reward may take a count below zero; an ended window is dropped by its own
 * unref'd timer), asked synchronously. `RateLimiterMemory.consume` wraps the same synchronous
 * `incrby` in a promise; answering at once makes a socket event's two budgets cost no promise
 * (docs/performance.md, signalling) and keeps every use atomic in the one process that holds the
 * counts. Several nodes use the library's Redis store instead (limiter-redis.ts).
 */
export class MemoryLimiter implements Limiter {
  private readonly storage = new MemoryStorage();

  constructor(
    private readonly points: number,
    private readonly durationS: number,
  ) {}

  consumeNow(key: string, points = 1): LimitResult {
    const r = this.storage.incrby(key, points, this.durationS);
    const allowed = r.consumedPoints <= this.points;
    return { allowed, consumed: r.consumedPoints, retryAfterMs: allowed ? 0 : Math.max(1, r.msBeforeNext) };
  }

  consume(key: string, points = 1): Promise<LimitResult> {
    return Promise.resolve(this.consumeNow(key, points));
  }

  reward(key: string, points = 1): Promise<void> {
    this.storage.incrby(key, -points, this.durationS);
    return Promise.resolve();
  }

  peek(key: string): Promise<{ consumed: number; msLeft: number }> {
    const r = this.storage.get(key);
    return Promise.resolve(r ? { consumed: Math.max(0, r.consumedPoints), msLeft: r.msBeforeNext } : { consumed: 0, msLeft: 0 });
  }

  delete(key: string): Promise<void> {
    this.storage.delete(key);
    return Promise.resolve();
  }
}

/** One node: counters in this process's memory. */
export const memoryLimiters: LimiterFactory = (spec) => new MemoryLimiter(spec.points, spec.durationS);

/** Seconds for a Retry-After header or a `retryAfter` field: whole seconds, at least 1. */
export const retryAfterS = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
