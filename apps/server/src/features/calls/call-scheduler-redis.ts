import type { RedisLink } from '../../lib/redis.ts';
import type { TimerRef } from './call-types.ts';
import { timerId, type CallScheduler, type Clock } from './call-scheduler.ts';

/**
 * Keys, under one prefix:
 *   due     sorted set: timer id → due time (ms)
 *   leased  sorted set: timer id → end of the lease of the node running it
 *   refs    hash: timer id → TimerRef as JSON
 * Each node polls: one script moves what is due from `due` to `leased` and hands it to that node
 * only, so a timer runs on one node. The node runs it and then drops the lease. A node that dies
 * between the two leaves a lease that expires, and the next poll on any node takes it over: a timer
 * armed or held by a dead node still fires. The lifecycle ignores a timer its call's phase no longer
 * accepts, so the one case of running twice (a node that died mid-run) changes nothing the second time.
 */

/** KEYS due, leased, refs; ARGV id, at, json. */
const SCHEDULE = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1`;

/** KEYS due, leased, refs; ARGV id. */
const CANCEL = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`;

/** KEYS due, leased, refs; ARGV now, lease end, limit → id, json, id, json, … leased to the caller. */
const CLAIM = `
local out = {}
local function lease(id)
  redis.call('ZADD', KEYS[2], ARGV[2], id)
  table.insert(out, id)
  table.insert(out, redis.call('HGET', KEYS[3], id) or '')
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do lease(id) end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  redis.call('ZREM', KEYS[1], id)
  lease(id)
end
return out`;

/** KEYS due, leased, refs; ARGV id: the run is over; its ref goes unless the timer was scheduled again meanwhile. */
const DONE = `
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 1`;

export interface RedisSchedulerOptions {
  /** How often each node looks for due timers armed anywhere (a node also wakes at the due times it armed itself). */
  pollMs: number;
  /** How long a node may take to run a timer before another node may take it over. */
  leaseMs: number;
  prefix: string;
}

const DEFAULTS: RedisSchedulerOptions = { pollMs: 500, leaseMs: 15_000, prefix: 'parley:timers:' };

/** Call timers shared by every node (REDIS_URL): a sorted set polled with a lease. */
export class RedisScheduler implements CallScheduler {
  private readonly opts: RedisSchedulerOptions;
  private readonly keys: [string, string, string];
  private onDue: ((timer: TimerRef) => Promise<void>) | undefined;
  private interval: NodeJS.Timeout | undefined;
  private readonly wakes = new Set<NodeJS.Timeout>();
  private polling: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly redis: RedisLink,
    private readonly clock: Clock,
    private readonly onError: (err: unknown, timer?: TimerRef) => void,
    opts: Partial<RedisSchedulerOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    const p = this.opts.prefix;
    this.keys = [`${p}due`, `${p}leased`, `${p}refs`];
  }

  private run(script: string, args: Array<string | number>): Promise<unknown> {
    return this.redis.commands.eval(script, 3, ...this.keys, ...args);
  }

  start(onDue: (timer: TimerRef) => Promise<void>): void {
    this.onDue = onDue;
    this.interval = setInterval(() => void this.poll(), this.opts.pollMs);
    this.interval.unref();
  }

  async schedule(timer: TimerRef, at: number): Promise<void> {
    await this.run(SCHEDULE, [timerId(timer), at, JSON.stringify(timer)]);
    // Wake at the due time instead of up to one poll later; any node's poll would also find it.
    const wake = setTimeout(() => {
      this.wakes.delete(wake);
      void this.poll();
    }, Math.max(0, at - this.clock.now()) + 5);
    wake.unref();
    this.wakes.add(wake);
  }

  async cancel(timer: TimerRef): Promise<void> {
    await this.run(CANCEL, [timerId(timer)]);
  }

  /** Runs what is due now (on this node: the rest was leased to others). One poll at a time; a poll asked for meanwhile runs after. */
  poll(): Promise<void> {
    if (this.closed || !this.onDue) return Promise.resolve();
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.again = false;
        await this.claimAndRun();
      } while (this.again && !this.closed);
    })().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async claimAndRun(): Promise<void> {
    if (!this.redis.up) return;
    let leased: string[];
    try {
      const now = this.clock.now();
      leased = (await this.run(CLAIM, [now, now + this.opts.leaseMs, 100])) as string[];
    } catch (err) {
      // Redis away: the timers wait in it, and the next poll after it returns runs them.
      this.onError(err);
      return;
    }
    const runs: Promise<void>[] = [];
    for (let i = 0; i < leased.length; i += 2) {
      const id = leased[i]!;
      const json = leased[i + 1]!;
      runs.push(this.fire(id, json));
    }
    await Promise.all(runs);
  }

  private async fire(id: string, json: string): Promise<void> {
    let timer: TimerRef | undefined;
    try {
      if (json) {
        timer = JSON.parse(json) as TimerRef;
        await this.onDue!(timer);
      }
    } catch (err) {
      this.onError(err, timer);
    }
    try {
      await this.run(DONE, [id]);
    } catch (err) {
      // The lease expires and another node runs it again; the lifecycle ignores what is no longer due.
      this.onError(err, timer);
    }
  }

  /** This node stops polling; its timers stay in Redis for the other nodes. */
  close(): void {
    this.closed = true;
    clearInterval(this.interval);
    for (const w of this.wakes) clearTimeout(w);
    this.wakes.clear();
  }
}
