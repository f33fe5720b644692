import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../testing/redis.ts';
import { redisLimiters } from './limiter-redis.ts';
import { RedisLink } from './redis.ts';

const log = pino({ level: 'silent' });

describe('limits counted in Redis, shared by every node', () => {
  let redis: TestRedis;
  const links: RedisLink[] = [];
  const node = async () => {
    const l = new RedisLink(redis.url, log);
    links.push(l);
    await l.waitReady(5000);
    return redisLimiters(l);
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const l of links) await l.close();
    await redis?.stop();
  });

  it('two nodes spend one budget: of 30 attempts at once, 10 are allowed; a reward gives one back; peek and delete see the shared count', async () => {
    const spec = { name: `signin_${randomUUID().slice(0, 8)}`, points: 10, durationS: 60 };
    const [a, b] = [(await node())(spec), (await node())(spec)];
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).consume('dana@example.com')));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    for (const r of results.filter((x) => !x.allowed)) expect(r.retryAfterMs).toBeGreaterThan(0);
    expect((await b.peek('dana@example.com')).consumed).toBe(30);
    await a.reward('dana@example.com', 21);
    expect((await b.consume('dana@example.com')).allowed).toBe(true);
    expect((await a.consume('dana@example.com')).allowed).toBe(false);
    await b.delete('dana@example.com');
    expect((await a.peek('dana@example.com')).consumed).toBe(0);
    // Another key has its own budget.
    expect((await a.consume('noor@example.com')).allowed).toBe(true);
  });

  it('while Redis is away each node counts in its own memory instead of failing, and Redis counts again when it returns', async () => {
    const spec = { name: `rest_${randomUUID().slice(0, 8)}`, points: 3, durationS: 60 };
    const limiters = await node();
    const l = limiters(spec);
    expect((await l.consume('1.2.3.4')).allowed).toBe(true);
    await redis.kill();
    const during = [];
    for (let i = 0; i < 4; i++) during.push((await l.consume('1.2.3.4')).allowed);
    // The insurance limiter starts from zero and still enforces the budget.
    expect(during).toEqual([true, true, true, false]);
    await redis.start();
    const deadline = Date.now() + 10_000;
    while (!links.at(-1)!.up) {
      if (Date.now() > deadline) throw new Error('no reconnect to Redis');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Redis restarted empty: a fresh count, in Redis (another node sees it).
    expect((await l.consume('1.2.3.4')).allowed).toBe(true);
    expect((await (await node())(spec).peek('1.2.3.4')).consumed).toBe(1);
  });
});
