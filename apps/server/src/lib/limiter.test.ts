import { RateLimiterMemory } from 'rate-limiter-flexible';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryLimiter, wrap, type Limiter } from './limiter.ts';

/** A clock the test moves: Date.now and the storage's expiry timers, which both limiters read. */
function clock(start = 1_700_000_000_000) {
  vi.useFakeTimers({ now: start, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  return { advance: (ms: number) => vi.advanceTimersByTime(ms) };
}
afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryLimiter: one node’s budgets, counted synchronously', () => {
  it('spends a fixed window from the first use; a refused use still counts; the window ends durationS after it started', async () => {
    const c = clock();
    const l = new MemoryLimiter(3, 10);
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(l.consumeNow('s1'));
    expect(seen.map((r) => r.allowed)).toEqual([true, true, true, false, false]);
    expect(seen.map((r) => r.consumed)).toEqual([1, 2, 3, 4, 5]);
    expect(seen[3]!.retryAfterMs).toBe(10_000);
    // Another key has its own budget.
    expect(l.consumeNow('s2').allowed).toBe(true);
    c.advance(9_999);
    const late = l.consumeNow('s1');
    expect(late).toEqual({ allowed: false, consumed: 6, retryAfterMs: 1 });
    c.advance(1);
    expect(l.consumeNow('s1')).toEqual({ allowed: true, consumed: 1, retryAfterMs: 0 });
    expect(await l.peek('s1')).toEqual({ consumed: 1, msLeft: 10_000 });
  });

  it('consume, reward, peek and delete answer as rate-limiter-flexible’s RateLimiterMemory does, step for step', async () => {
    const mine = new MemoryLimiter(2, 60);
    const theirs: Limiter = wrap(new RateLimiterMemory({ keyPrefix: 'x', points: 2, duration: 60 }));
    const steps: Array<(l: Limiter) => Promise<unknown>> = [
      (l) => l.consume('k'),
      (l) => l.consume('k', 2),
      (l) => l.peek('k'),
      (l) => l.reward('k', 2),
      (l) => l.consume('k'),
      (l) => l.peek('k'),
      (l) => l.reward('fresh'),
      (l) => l.peek('fresh'),
      (l) => l.consume('fresh', 3),
      (l) => l.delete('k'),
      (l) => l.peek('k'),
      (l) => l.consume('k'),
    ];
    // retryAfterMs/msLeft: both read the real clock here; compare them to the second.
    const norm = (r: unknown) =>
      r && typeof r === 'object' ? Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'retryAfterMs' || k === 'msLeft' ? Math.round((v as number) / 1000) : v])) : r;
    for (const s of steps) expect(norm(await s(mine))).toEqual(norm(await s(theirs)));
  });

  it('of many uses at once only the budget’s worth are allowed (no await inside a use: atomic in this process)', async () => {
    const l = new MemoryLimiter(10, 60);
    const results = await Promise.all(Array.from({ length: 30 }, () => l.consume('dana@example.com')));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    for (const r of results.filter((x) => !x.allowed)) expect(r.retryAfterMs).toBeGreaterThan(0);
  });

  it('forgets ended windows: a key whose window has ended starts afresh and is no longer held', async () => {
    const c = clock();
    const l = new MemoryLimiter(5, 10);
    for (let i = 0; i < 1000; i++) l.consumeNow(`socket-${i}`);
    const size = () => (l as unknown as { storage: { _storage: Map<string, unknown> } }).storage._storage.size;
    expect(size()).toBe(1000);
    c.advance(10_000);
    l.consumeNow('one-more');
    expect(size()).toBe(1);
    expect(await l.peek('socket-1')).toEqual({ consumed: 0, msLeft: 0 });
  });
});
