import type { FastifyBaseLogger } from 'fastify';
import type { RedisLink } from '../../lib/redis.ts';
import type { CallDeps } from './call-manager.ts';
import { RedisQuota } from './call-quota-redis.ts';
import { RedisCallRegistry } from './call-registry-redis.ts';
import { RedisScheduler } from './call-scheduler-redis.ts';
import { systemClock, type Clock } from './call-scheduler.ts';

/** REDIS_URL: the calls, their timers and caps shared by every node, instead of this process's memory. */
export function redisCallDeps(redis: RedisLink, log: FastifyBaseLogger, clock: Clock = systemClock): CallDeps {
  return {
    clock,
    registry: new RedisCallRegistry(redis),
    scheduler: new RedisScheduler(redis, clock, (err, timer) => {
      if (timer) log.error({ err, timer }, 'call timer failed');
      else log.debug({ err }, 'call timers: poll failed');
    }),
    quota: new RedisQuota(redis, clock),
  };
}
