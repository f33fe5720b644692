import type { Db } from './db/database.ts';
import type { Config } from './env.ts';
import type { SessionsStore } from './features/auth/sessions-store.ts';
import type { ChatStore } from './features/chat/chat-store.ts';
import type { Metrics } from './features/metrics/metrics.ts';
import type { PushNotifier } from './features/push/push-service.ts';
import type { UsersStore } from './features/users/users-store.ts';
import type { LimiterFactory } from './lib/limiter.ts';
import type { RedisLink } from './lib/redis.ts';
import type { Realtime } from './realtime/realtime.ts';

/** What route plugins and socket handlers share. Built once in buildApp. */
export interface AppContext {
  config: Config;
  db: Db;
  users: UsersStore;
  sessions: SessionsStore;
  chat: ChatStore;
  realtime: Realtime;
  /** This node's figures: counted in Prometheus and served at /metrics with METRICS_TOKEN set; without it, `noMetrics` counts nothing. */
  metrics: Metrics;
  /** Builds every rate limit: memory for one node, Redis for several (lib/limiter.ts). */
  limiters: LimiterFactory;
  /** REDIS_URL: the shared Redis of several nodes; unset on a single node. */
  redis?: RedisLink;
  /** Web Push to sessions that have no live socket (features/push). */
  push: PushNotifier;
  /** Set when Parley runs coturn itself (TURN_MODE=auto without TURN_URLS). */
  managedTurn?: ManagedTurn;
}

export interface ManagedTurn {
  secret: string;
  /** TURN URLs for a browser that reached Parley at `hostname`: coturn runs on the same host. */
  urlsFor(hostname: string): string[];
}
