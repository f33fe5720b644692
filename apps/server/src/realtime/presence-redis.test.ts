import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../lib/redis.ts';
import { startRedis, type TestRedis } from '../testing/redis.ts';
import { RedisPresenceStore } from './presence-redis.ts';

const log = pino({ level: 'silent' });
const FAST = { heartbeatMs: 100, ttlMs: 400 };
const until = async (cond: () => Promise<boolean> | boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('presence counted in Redis across nodes', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  async function node() {
    const link = new RedisLink(redis.url, log);
    await link.waitReady(5000);
    return { link, store: new RedisPresenceStore(link, log, FAST) };
  }

  it('a person is online while any node has a socket; first and last transitions happen once across nodes', async () => {
    const a = await node();
    const b = await node();
    try {
      expect(await a.store.add('u1', 'dev-1')).toBe(true);
      expect(await b.store.add('u1', 'dev-1')).toBe(false);
      expect([...(await b.store.online(['u1', 'u2']))]).toEqual(['u1']);
      expect(await a.store.remove('u1', 'dev-1')).toBe(false);
      expect(await b.store.remove('u1', 'dev-1')).toBe(true);
      expect((await a.store.online(['u1'])).size).toBe(0);
      // Devices across nodes: each node sees the other's.
      await a.store.add('u2', 'phone');
      await b.store.add('u2', 'laptop');
      expect([...(await a.store.devices('u2'))].sort()).toEqual(['laptop', 'phone']);
      await b.store.remove('u2', 'laptop');
      expect([...(await a.store.devices('u2'))]).toEqual(['phone']);
      await a.store.remove('u2', 'phone');
      expect((await b.store.devices('u2')).size).toBe(0);
      // Many sockets at once on two nodes: the count ends at zero with exactly one "last".
      const adds = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).store.add('u3', 'dev-1')));
      expect(adds.filter(Boolean)).toHaveLength(1);
      const removes = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).store.remove('u3', 'dev-1')));
      expect(removes.filter(Boolean)).toHaveLength(1);
    } finally {
      await a.store.close();
      await b.store.close();
      await a.link.close();
      await b.link.close();
    }
  });

  it("a node that dies without a word (no close, no heartbeat) has its people taken offline once, by another node", async () => {
    const a = await node();
    const b = await node();
    const c = await node();
    const offline: string[][] = [];
    const gone: string[] = [];
    b.store.onOffline((ids, devices) => (offline.push(ids), gone.push(...devices.map((d) => `${d.userId}/${d.deviceId}`))));
    c.store.onOffline((ids, devices) => (offline.push(ids), gone.push(...devices.map((d) => `${d.userId}/${d.deviceId}`))));
    try {
      await a.store.add('dies-with-a', 'dev-1');
      await a.store.add('also-on-b', 'phone');
      await b.store.add('also-on-b', 'laptop');
      // The same device with a socket on each node (a tab reconnected to B before A was found dead).
      await a.store.add('also-on-b', 'tablet');
      await b.store.add('also-on-b', 'tablet');
      // "SIGKILL": A's process stops; its timer and connections just vanish.
      (a.store as unknown as { timer: NodeJS.Timeout }).timer.close();
      a.link.commands.disconnect();
      await until(async () => (await b.store.online(['dies-with-a'])).size === 0);
      expect([...(await b.store.online(['also-on-b']))]).toEqual(['also-on-b']);
      await new Promise((r) => setTimeout(r, 300));
      expect(offline).toEqual([['dies-with-a']]);
      // Each device that lost its last socket with A is reported once; those still on B are not.
      expect(gone.sort()).toEqual(['also-on-b/phone', 'dies-with-a/dev-1']);
      expect([...(await c.store.devices('also-on-b'))].sort()).toEqual(['laptop', 'tablet']);
      expect((await c.store.devices('dies-with-a')).size).toBe(0);
    } finally {
      await b.store.close();
      await c.store.close();
      await a.link.close();
      await b.link.close();
      await c.link.close();
    }
  });

  it('after Redis restarts empty, each node puts its own counts back', async () => {
    const a = await node();
    try {
      await a.store.add('survivor', 'dev-1');
      await redis.kill();
      // While Redis is away the node answers from its own sockets.
      expect([...(await a.store.online(['survivor']))]).toEqual(['survivor']);
      await redis.start();
      await until(async () => a.link.up);
      await until(async () => Number(await a.link.commands.hget('parley:presence:total', 'survivor')) === 1);
      expect(Number(await a.link.commands.hget('parley:presence:dev:survivor', 'dev-1'))).toBe(1);
    } finally {
      await a.store.close();
      await a.link.close();
    }
  });
});
