import type { FastifyBaseLogger } from 'fastify';
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Redis } from 'ioredis';

/**
 * The node's connections to Redis (REDIS_URL): one for commands (presence, rate limits, calls) that
 * fails fast while Redis is away instead of queueing, and one for socket.io's adapter. ioredis
 * reconnects by itself; this tracks whether Redis is up, says so in the log once per change, and
 * tells listeners when it is back, so the node can put its share of the shared state back.
 */
export class RedisLink {
  readonly commands: Redis;
  readonly adapter: Redis;
  #up = false;
  #everUp = false;
  #closed = false;
  #complained = false;
  readonly #onReady = new Set<() => void>();

  constructor(
    readonly url: string,
    private readonly log: FastifyBaseLogger,
  ) {
    const retryStrategy = (times: number) => Math.min(100 * times, 1000);
    // ioredis loads only with REDIS_URL: a single node does not keep it resident.
    const { Redis } = createRequire(import.meta.url)('ioredis') as typeof IORedis;
    this.commands = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy, connectionName: 'parley' });
    // The adapter's publisher may queue briefly: a fan-out sent while Redis restarts goes out after.
    this.adapter = new Redis(url, { maxRetriesPerRequest: 2, retryStrategy, connectionName: 'parley-adapter' });
    this.commands.on('ready', () => {
      if (!this.#up) this.log.info({ redis: redact(url) }, this.#everUp ? 'redis reachable again' : 'redis connected');
      this.#up = true;
      this.#everUp = true;
      this.#complained = false;
      for (const l of this.#onReady) l();
    });
    // Once per outage in the log (ioredis retries every second; without a listener it prints each).
    const down = (err?: Error) => {
      if (this.#closed || this.#complained) return;
      this.#complained = true;
      this.#up = false;
      this.log.error({ err, redis: redact(url) }, 'redis unreachable: presence, rate limits, calls and fan-out to other nodes degrade until it returns');
    };
    this.commands.on('error', (err: Error) => down(err));
    this.commands.on('close', () => down());
    this.adapter.on('error', () => undefined);
  }

  get up(): boolean {
    return this.#up;
  }

  /** Runs `fn` whenever the command connection becomes ready (the first time, and after each outage). */
  onReady(fn: () => void): void {
    this.#onReady.add(fn);
  }

  /** Resolves once connected, or rejects after `ms`. */
  async waitReady(ms: number): Promise<void> {
    if (this.#up) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`Redis at ${redact(this.url)} not reachable within ${ms} ms`)), ms);
      this.commands.once('ready', () => (clearTimeout(t), resolve()));
    });
  }

  /** A PING within `ms`; false when Redis does not answer. */
  async ping(ms = 1000): Promise<boolean> {
    if (!this.#up) return false;
    try {
      return await Promise.race([this.commands.ping().then((r) => r === 'PONG'), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.commands.disconnect();
    this.adapter.disconnect();
  }
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable)';
  }
}
