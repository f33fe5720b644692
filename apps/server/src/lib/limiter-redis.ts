import type * as Flexible from 'rate-limiter-flexible';
import { flexible, wrap, type LimiterFactory } from './limiter.ts';
import type { RedisLink } from './redis.ts';

/**
 * Several nodes: every limit counted in Redis (rate-limiter-flexible's atomic Lua), so an attacker
 * spreading sign-in attempts over the nodes meets one budget. While Redis is unreachable each node
 * counts in its own memory (the insurance limiter) instead of failing every request: the limits
 * loosen by at most the number of nodes until Redis returns.
 */
export function redisLimiters(redis: RedisLink): LimiterFactory {
  // One store's file, not the package's index (limiter.ts).
  const RateLimiterRedis = flexible('rate-limiter-flexible/lib/RateLimiterRedis.js') as typeof Flexible.RateLimiterRedis;
  const RateLimiterMemory = flexible('rate-limiter-flexible/lib/RateLimiterMemory.js') as typeof Flexible.RateLimiterMemory;
  return (spec) =>
    wrap(
      new RateLimiterRedis({
        storeClient: redis.commands,
        keyPrefix: `parley:rl:${spec.name}`,
        points: spec.points,
        duration: spec.durationS,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: spec.name, points: spec.points, duration: spec.durationS }),
      }),
    );
}
