import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisLink } from '../lib/redis.ts';
import type { PresenceStore } from './presence.ts';

const P = 'parley:presence:';
const TOTAL = `${P}total`;
const NODES = `${P}nodes`;
const nodeKey = (node: string) => `${P}node:${node}`;
const aliveKey = (node: string) => `${P}alive:${node}`;

// Each script runs atomically in Redis: two nodes racing on one person's count, or on sweeping a
// dead node, cannot interleave.

/** KEYS total, node hash, nodes; ARGV user, node → the person's count on all nodes. */
const ADD = `
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)`;

/** KEYS total, node hash; ARGV user → the count left on all nodes, or -1 when this node had not counted it. */
const REMOVE = `
local n = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
if n < 0 then return -1 end
local t = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if t <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) return 0 end
return t`;

/** KEYS total, node hash, nodes, alive; ARGV node, ttl ms, then user, count pairs: replaces this node's share. */
const SYNC = `
local old = redis.call('HGETALL', KEYS[2])
for i = 1, #old, 2 do
  local t = redis.call('HINCRBY', KEYS[1], old[i], -tonumber(old[i + 1]))
  if t <= 0 then redis.call('HDEL', KEYS[1], old[i]) end
end
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[1], ARGV[i], tonumber(ARGV[i + 1]))
end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
return 1`;

/** KEYS nodes, alive; ARGV node, ttl → 0 when this node's share is gone (swept, or Redis restarted). */
const HEARTBEAT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1`;

/** KEYS total, nodes; ARGV key prefix → people who went offline with the nodes whose heartbeat expired. */
const SWEEP = `
local offline = {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[1] .. 'alive:' .. node) == 0 then
    local h = redis.call('HGETALL', ARGV[1] .. 'node:' .. node)
    for i = 1, #h, 2 do
      local t = redis.call('HINCRBY', KEYS[1], h[i], -tonumber(h[i + 1]))
      if t <= 0 then
        redis.call('HDEL', KEYS[1], h[i])
        table.insert(offline, h[i])
      end
    end
    redis.call('DEL', ARGV[1] .. 'node:' .. node)
    redis.call('SREM', KEYS[2], node)
  end
end
return offline`;

/**
 * Presence across nodes. Each node keeps its own counts in a hash of its own and adds them to a
 * shared total, atomically. A node that dies without saying so (SIGKILL, a lost machine) stops
 * renewing its heartbeat key; the first node to sweep after it expires takes that node's counts off
 * the totals, once, and tells the followers of whoever went offline. A node whose share vanished
 * (Redis restarted empty, or it was swept while stalled) puts its own counts back. While Redis is
 * unreachable, lookups fall back to this node's own sockets.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly nodeId = randomUUID();
  private readonly local = new Map<string, number>();
  private readonly offlineListeners: Array<(userIds: string[]) => void> = [];
  private readonly timer: NodeJS.Timeout;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisLink,
    private readonly log: FastifyBaseLogger,
    private readonly opts: { heartbeatMs: number; ttlMs: number } = { heartbeatMs: 3000, ttlMs: 10_000 },
  ) {
    redis.onReady(() => void this.sync());
    this.timer = setInterval(() => void this.tick(), opts.heartbeatMs);
    this.timer.unref();
  }

  private run(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.redis.commands.eval(script, keys.length, ...keys, ...args);
  }

  async add(userId: string): Promise<boolean> {
    this.local.set(userId, (this.local.get(userId) ?? 0) + 1);
    const total = Number(await this.run(ADD, [TOTAL, nodeKey(this.nodeId), NODES], [userId, this.nodeId]));
    return total === 1;
  }

  async remove(userId: string): Promise<boolean> {
    const n = (this.local.get(userId) ?? 1) - 1;
    if (n > 0) this.local.set(userId, n);
    else this.local.delete(userId);
    const left = Number(await this.run(REMOVE, [TOTAL, nodeKey(this.nodeId)], [userId]));
    return left === 0;
  }

  async online(userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    try {
      const counts = await this.redis.commands.hmget(TOTAL, ...userIds);
      return new Set(userIds.filter((id, i) => Number(counts[i] ?? 0) > 0 || this.local.has(id)));
    } catch {
      return new Set(userIds.filter((id) => this.local.has(id)));
    }
  }

  onOffline(listener: (userIds: string[]) => void): void {
    this.offlineListeners.push(listener);
  }

  /** Puts this node's counts back as they are now (after Redis returned, or on start). */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        const pairs = [...this.local].flatMap(([u, n]) => [u, n]);
        await this.run(SYNC, [TOTAL, nodeKey(this.nodeId), NODES, aliveKey(this.nodeId)], [this.nodeId, this.opts.ttlMs, ...pairs]);
        this.log.info({ node: this.nodeId, people: this.local.size }, 'presence counts of this node written to redis');
      } catch (err) {
        this.log.warn({ err }, 'presence counts not written to redis; retrying at the next heartbeat');
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  private async tick(): Promise<void> {
    if (!this.redis.up) return;
    try {
      const alive = Number(await this.run(HEARTBEAT, [NODES, aliveKey(this.nodeId)], [this.nodeId, this.opts.ttlMs]));
      if (alive === 0) await this.sync();
      const offline = (await this.run(SWEEP, [TOTAL, NODES], [P])) as string[];
      if (offline.length > 0) {
        this.log.info({ people: offline.length }, 'presence: a node stopped; its people went offline');
        for (const l of this.offlineListeners) l(offline);
      }
    } catch (err) {
      this.log.debug({ err }, 'presence heartbeat failed');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    // A clean stop takes this node's share off at once instead of waiting for the sweep.
    try {
      this.local.clear();
      if (this.redis.up) {
        await this.run(SYNC, [TOTAL, nodeKey(this.nodeId), NODES, aliveKey(this.nodeId)], [this.nodeId, 1]);
        await this.redis.commands.srem(NODES, this.nodeId);
      }
    } catch {
      /* the sweep removes it */
    }
  }
}
