import type { Clock } from './call-scheduler.ts';

export type QuotaResult = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Counts events per key in a sliding window: `take` succeeds and counts one unless `limit` were
 * already counted in the last `windowMs`. In Redis this is one sorted set per key (ZREMRANGEBYSCORE,
 * ZCARD, ZADD in one Lua script), shared by every node.
 */
export interface CallQuota {
  take(key: string, limit: number, windowMs: number): Promise<QuotaResult>;
}

export class InMemoryQuota implements CallQuota {
  /** Times of the events counted per key, oldest first; never more than the key's limit. */
  private readonly log = new Map<string, { times: number[]; windowMs: number }>();
  private sweptAt = 0;

  constructor(private readonly clock: Clock) {}

  async take(key: string, limit: number, windowMs: number): Promise<QuotaResult> {
    const now = this.clock.now();
    this.sweep(now);
    const times = (this.log.get(key)?.times ?? []).filter((t) => t > now - windowMs);
    this.log.set(key, { times, windowMs });
    if (times.length >= limit) return { ok: false, retryAfterMs: Math.max(1, times[0]! + windowMs - now) };
    times.push(now);
    return { ok: true };
  }

  /** Drops keys with nothing left in their window, at most once a minute, so idle keys do not pile up. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [key, { times, windowMs }] of this.log) if ((times.at(-1) ?? 0) <= now - windowMs) this.log.delete(key);
  }
}
