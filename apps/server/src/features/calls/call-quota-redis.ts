import { randomUUID } from 'node:crypto';
import type { RedisLink } from '../../lib/redis.ts';
import type { Clock } from './call-scheduler.ts';
import type { CallQuota, QuotaResult } from './call-quota.ts';

/** KEYS the key's sorted set; ARGV now, window ms, limit, member → 0 when counted, else ms until a slot frees. */
const TAKE = `
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(first[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0`;

/**
 * The call caps (invites per person, unanswered entries per caller and callee) shared by every
 * node: the in-memory quota's sliding window as one sorted set per key, trimmed, counted and added
 * to in one script. The time comes from the injected clock, as in memory, so the caps' tests can
 * move it on.
 */
export class RedisQuota implements CallQuota {
  constructor(
    private readonly redis: RedisLink,
    private readonly clock: Clock,
    private readonly prefix = 'parley:quota:',
  ) {}

  async take(key: string, limit: number, windowMs: number): Promise<QuotaResult> {
    const wait = Number(await this.redis.commands.eval(TAKE, 1, `${this.prefix}${key}`, this.clock.now(), windowMs, limit, randomUUID()));
    return wait === 0 ? { ok: true } : { ok: false, retryAfterMs: wait };
  }
}
