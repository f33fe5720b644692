import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisLink } from '../lib/redis.ts';
import type { PresenceStore, PresentDevice } from './presence.ts';

function bump(map: Map<string, number>, key: string, by: 1 | -1): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

const P = 'parley:presence:';
const TOTAL = `${P}total`;
const NODES = `${P}nodes`;
const nodeKey = (node: string) => `${P}node:${node}`;
const nodeDevicesKey = (node: string) => `${P}nodedev:${node}`;
const aliveKey = (node: string) => `${P}alive:${node}`;
const devicesKey = (userId: string) => `${P}dev:${userId}`;
/** A device in a node's hash: user id (a UUID, no `|`) then device id. */
const field = (userId: string, deviceId: string) => `${userId}|${deviceId}`;

// Each script runs atomically in Redis: two nodes racing on one person's count, or on sweeping a
// dead node, cannot interleave. Per person: `total` (sockets on all nodes) and `dev:<user>` (sockets
// per device on all nodes); per node: `node:<id>` and `nodedev:<id>`, this node's share of both.

/** Lua helper: adds `by` to a hash field, dropping it at zero; returns the new value. */
const BUMP = `
local function bump(key, f, by)
  local n = redis.call('HINCRBY', key, f, by)
  if n <= 0 then redis.call('HDEL', key, f) end
  return n
end
local function split(f)
  local i = string.find(f, '|', 1, true)
  return string.sub(f, 1, i - 1), string.sub(f, i + 1)
end`;

/** KEYS total, node hash, nodes, node devices, person's devices; ARGV user, node, device field, device → the person's count on all nodes. */
const ADD = `${BUMP}
redis.call('SADD', KEYS[3], ARGV[2])
bump(KEYS[2], ARGV[1], 1)
bump(KEYS[4], ARGV[3], 1)
bump(KEYS[5], ARGV[4], 1)
return bump(KEYS[1], ARGV[1], 1)`;

/** KEYS total, node hash, node devices, person's devices; ARGV user, device field, device → the count left on all nodes, or -1 when this node had not counted it. */
const REMOVE = `${BUMP}
if bump(KEYS[3], ARGV[2], -1) >= 0 then bump(KEYS[4], ARGV[3], -1) end
if bump(KEYS[2], ARGV[1], -1) < 0 then return -1 end
local t = bump(KEYS[1], ARGV[1], -1)
if t < 0 then return 0 end
return t`;

/**
 * KEYS total, node hash, nodes, alive, node devices; ARGV node, ttl ms, key prefix, number of person
 * pairs, then person/count pairs, then device-field/count pairs: replaces this node's share.
 */
const SYNC = `${BUMP}
for _, key in ipairs({KEYS[2], KEYS[5]}) do
  local old = redis.call('HGETALL', key)
  for i = 1, #old, 2 do
    if key == KEYS[2] then bump(KEYS[1], old[i], -tonumber(old[i + 1]))
    else local u, d = split(old[i]) bump(ARGV[3] .. 'dev:' .. u, d, -tonumber(old[i + 1])) end
  end
  redis.call('DEL', key)
end
local people = tonumber(ARGV[4])
for i = 5, #ARGV, 2 do
  local n = tonumber(ARGV[i + 1])
  if i < 5 + 2 * people then
    redis.call('HSET', KEYS[2], ARGV[i], n)
    bump(KEYS[1], ARGV[i], n)
  else
    redis.call('HSET', KEYS[5], ARGV[i], n)
    local u, d = split(ARGV[i])
    bump(ARGV[3] .. 'dev:' .. u, d, n)
  end
end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
return 1`;

/** KEYS nodes, alive; ARGV node, ttl → 0 when this node's share is gone (swept, or Redis restarted). */
const HEARTBEAT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1`;

/** KEYS total, nodes; ARGV key prefix → {people who went offline, devices (fields) that lost their last socket} with the nodes whose heartbeat expired. */
const SWEEP = `${BUMP}
local offline, gone = {}, {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[1] .. 'alive:' .. node) == 0 then
    local h = redis.call('HGETALL', ARGV[1] .. 'node:' .. node)
    for i = 1, #h, 2 do
      if bump(KEYS[1], h[i], -tonumber(h[i + 1])) <= 0 then table.insert(offline, h[i]) end
    end
    local d = redis.call('HGETALL', ARGV[1] .. 'nodedev:' .. node)
    for i = 1, #d, 2 do
      local u, dev = split(d[i])
      if bump(ARGV[1] .. 'dev:' .. u, dev, -tonumber(d[i + 1])) <= 0 then table.insert(gone, d[i]) end
    end
    redis.call('DEL', ARGV[1] .. 'node:' .. node, ARGV[1] .. 'nodedev:' .. node)
    redis.call('SREM', KEYS[2], node)
  end
end
return {offline, gone}`;

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
  /** This node's sockets per device field (`user|device`). */
  private readonly localDevices = new Map<string, number>();
  private readonly offlineListeners: Array<(userIds: string[], devices: PresentDevice[]) => void> = [];
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

  async add(userId: string, deviceId: string): Promise<boolean> {
    const f = field(userId, deviceId);
    bump(this.local, userId, 1);
    bump(this.localDevices, f, 1);
    const keys = [TOTAL, nodeKey(this.nodeId), NODES, nodeDevicesKey(this.nodeId), devicesKey(userId)];
    const total = Number(await this.resyncOnFailure(this.run(ADD, keys, [userId, this.nodeId, f, deviceId])));
    return total === 1;
  }

  async remove(userId: string, deviceId: string): Promise<boolean> {
    const f = field(userId, deviceId);
    bump(this.local, userId, -1);
    bump(this.localDevices, f, -1);
    const left = Number(await this.resyncOnFailure(this.run(REMOVE, [TOTAL, nodeKey(this.nodeId), nodeDevicesKey(this.nodeId), devicesKey(userId)], [userId, f, deviceId])));
    return left === 0;
  }

  /** A count that did not reach Redis leaves this node's share wrong: it is written again whole, from this node's own counts. */
  private async resyncOnFailure<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (err) {
      if (this.redis.up) void this.sync();
      throw err;
    }
  }

  async devices(userId: string): Promise<Set<string>> {
    const mine = [...this.localDevices.keys()].filter((f) => f.startsWith(`${userId}|`)).map((f) => f.slice(userId.length + 1));
    try {
      return new Set([...(await this.redis.commands.hkeys(devicesKey(userId))), ...mine]);
    } catch {
      return new Set(mine);
    }
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

  onOffline(listener: (userIds: string[], devices: PresentDevice[]) => void): void {
    this.offlineListeners.push(listener);
  }

  /** Puts this node's counts back as they are now (after Redis returned, or on start). */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        await this.write(this.opts.ttlMs);
        this.log.info({ node: this.nodeId, people: this.local.size }, 'presence counts of this node written to redis');
      } catch (err) {
        this.log.warn({ err }, 'presence counts not written to redis; retrying at the next heartbeat');
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /** Replaces this node's share in Redis with its counts as they are now. */
  private async write(ttlMs: number): Promise<void> {
    const people = [...this.local].flatMap(([u, n]) => [u, n]);
    const devices = [...this.localDevices].flatMap(([f, n]) => [f, n]);
    const keys = [TOTAL, nodeKey(this.nodeId), NODES, aliveKey(this.nodeId), nodeDevicesKey(this.nodeId)];
    await this.run(SYNC, keys, [this.nodeId, ttlMs, P, this.local.size, ...people, ...devices]);
  }

  private async tick(): Promise<void> {
    if (!this.redis.up) return;
    try {
      const alive = Number(await this.run(HEARTBEAT, [NODES, aliveKey(this.nodeId)], [this.nodeId, this.opts.ttlMs]));
      if (alive === 0) await this.sync();
      const [offline, gone] = (await this.run(SWEEP, [TOTAL, NODES], [P])) as [string[], string[]];
      if (offline.length > 0 || gone.length > 0) {
        this.log.info({ people: offline.length, devices: gone.length }, 'presence: a node stopped; its people and devices went offline');
        const devices = gone.map((f) => ({ userId: f.slice(0, f.indexOf('|')), deviceId: f.slice(f.indexOf('|') + 1) }));
        for (const l of this.offlineListeners) l(offline, devices);
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
      this.localDevices.clear();
      if (this.redis.up) {
        await this.write(1);
        await this.redis.commands.srem(NODES, this.nodeId);
      }
    } catch {
      /* the sweep removes it */
    }
  }
}
