import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../../lib/redis.ts';
import { FakeClock } from '../../testing/fake-clock.ts';
import { startRedis, type TestRedis } from '../../testing/redis.ts';
import { RedisQuota } from './call-quota-redis.ts';
import { RedisScheduler } from './call-scheduler-redis.ts';
import { systemClock, timerId } from './call-scheduler.ts';
import type { TimerRef } from './call-types.ts';

const log = pino({ level: 'silent' });
let redis: TestRedis;
const links: RedisLink[] = [];

async function link(): Promise<RedisLink> {
  const l = new RedisLink(redis.url, log);
  links.push(l);
  await l.waitReady(5000);
  return l;
}

/** One node's scheduler on the shared Redis; every firing is recorded with the node's name and the time. */
async function node(name: string, prefix: string, fired: Array<{ node: string; id: string; at: number }>, opts: { leaseMs?: number; onDue?: (t: TimerRef) => Promise<void> } = {}) {
  const l = await link();
  const errors: unknown[] = [];
  const s = new RedisScheduler(l, systemClock, (err) => errors.push(err), { pollMs: 50, leaseMs: opts.leaseMs ?? 5000, prefix });
  s.start(
    opts.onDue ??
      (async (t) => {
        fired.push({ node: name, id: timerId(t), at: Date.now() });
      }),
  );
  return { s, link: l, errors };
}

const until = async (what: string, cond: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const l of links) await l.close();
  await redis?.stop();
});

describe('call timers in Redis, shared by two nodes', () => {
  it('40 timers armed on two nodes each fire exactly once, on one node, not before they are due; a moved one fires at its new time, a cancelled one never', async () => {
    const prefix = `sched:${randomUUID()}:`;
    const fired: Array<{ node: string; id: string; at: number }> = [];
    const a = await node('A', prefix, fired);
    const b = await node('B', prefix, fired);
    try {
      const due = new Map<string, number>();
      const start = Date.now();
      for (let i = 0; i < 40; i++) {
        const t: TimerRef = { kind: 'grace', callId: `c${i}`, device: `u${i}:d${i}` };
        const at = start + 300 + i * 10;
        due.set(timerId(t), at);
        await (i % 2 ? a : b).s.schedule(t, at);
      }
      const moved: TimerRef = { kind: 'ring', callId: 'moved' };
      await a.s.schedule(moved, start + 200);
      await b.s.schedule(moved, start + 900);
      due.set(timerId(moved), start + 900);
      const cancelled: TimerRef = { kind: 'ring', callId: 'cancelled' };
      await a.s.schedule(cancelled, start + 400);
      await b.s.cancel(cancelled);

      await until('every timer fired', () => fired.length >= 41);
      await sleep(500);
      const perTimer = new Map<string, number>();
      for (const f of fired) perTimer.set(f.id, (perTimer.get(f.id) ?? 0) + 1);
      const byNode = { A: fired.filter((f) => f.node === 'A').length, B: fired.filter((f) => f.node === 'B').length };
      console.info(`[scheduler] 41 timers on 2 nodes: ${fired.length} firings (A ${byNode.A}, B ${byNode.B}), ${[...perTimer.values()].filter((n) => n > 1).length} fired twice`);
      expect(fired).toHaveLength(41);
      expect([...perTimer.keys()].sort()).toEqual([...due.keys()].sort());
      expect([...perTimer.values()].every((n) => n === 1)).toBe(true);
      for (const f of fired) expect(f.at).toBeGreaterThanOrEqual(due.get(f.id)!);
      expect(perTimer.has(timerId(cancelled))).toBe(false);
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    } finally {
      a.s.close();
      b.s.close();
    }
  });

  it('timers armed by a node that dies before they are due fire once, on the node that is left', async () => {
    const prefix = `sched:${randomUUID()}:`;
    const fired: Array<{ node: string; id: string; at: number }> = [];
    const a = await node('A', prefix, fired);
    const b = await node('B', prefix, fired);
    try {
      const start = Date.now();
      for (let i = 0; i < 20; i++) await a.s.schedule({ kind: 'ring', callId: `armed-by-a-${i}` }, start + 600 + i * 5);
      // "SIGKILL": A stops polling and its connection drops, well before anything is due.
      a.s.close();
      a.link.commands.disconnect();
      expect(fired).toHaveLength(0);
      await until('the dead node’s timers fired', () => fired.length >= 20);
      await sleep(500);
      console.info(`[scheduler] 20 timers armed by a node killed before they were due: ${fired.length} firings, all on ${[...new Set(fired.map((f) => f.node))].join(',')}`);
      expect(fired).toHaveLength(20);
      expect(new Set(fired.map((f) => f.id)).size).toBe(20);
      expect(fired.every((f) => f.node === 'B')).toBe(true);
    } finally {
      b.s.close();
    }
  });

  it('a timer whose node died while running it is taken over once its lease ends', async () => {
    const prefix = `sched:${randomUUID()}:`;
    const fired: Array<{ node: string; id: string; at: number }> = [];
    let startedOnA = 0;
    // A takes the timer and never finishes (it "dies" mid-run).
    const a = await node('A', prefix, fired, { leaseMs: 400, onDue: () => ((startedOnA++, new Promise<void>(() => undefined))) });
    await a.s.schedule({ kind: 'grace', callId: 'stuck', device: 'u:d' }, Date.now() + 50);
    await until('A took the timer', () => startedOnA === 1);
    a.s.close();
    a.link.commands.disconnect();
    const b = await node('B', prefix, fired, { leaseMs: 400 });
    try {
      await until('B took it over', () => fired.length >= 1);
      await sleep(600);
      expect(fired.map((f) => f.node)).toEqual(['B']);
    } finally {
      b.s.close();
    }
  });
});

describe('call caps in Redis', () => {
  it('a sliding window per key on the injected clock says when there is room again', async () => {
    const T = 1_700_000_000_000;
    const clock = new FakeClock(T);
    const quota = new RedisQuota(await link(), clock, `quota:${randomUUID()}:`);
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: true });
    clock.advance(10_000);
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: true });
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: false, retryAfterMs: 50_000 });
    expect(await quota.take('other', 2, 60_000)).toEqual({ ok: true });
    clock.advance(50_000);
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: true });
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: false, retryAfterMs: 10_000 });
  });

  it('two nodes share one budget: of 60 invites at once, 20 are counted', async () => {
    const prefix = `quota:${randomUUID()}:`;
    const [qa, qb] = [new RedisQuota(await link(), systemClock, prefix), new RedisQuota(await link(), systemClock, prefix)];
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? qa : qb).take('invite:alex', 20, 60_000)));
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    for (const r of results) if (!r.ok) expect(r.retryAfterMs).toBeGreaterThan(0);
  });
});
