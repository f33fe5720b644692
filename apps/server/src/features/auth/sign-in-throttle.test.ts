import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../users/demo-users.ts';
import { startTestServer, type TestServer } from '../../testing/harness.ts';

// The test server trusts loopback as its proxy, so X-Forwarded-For stands for the client address.
describe('sign-in throttling under parallel guessing (issue #10, defects 1 and 5)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ env: { TRUST_PROXY: '127.0.0.1' } });
  });
  afterAll(async () => s?.close());

  const signIn = async (email: string, password: string, ip: string) => {
    const t0 = performance.now();
    const r = await s.request('POST', '/api/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': ip } });
    return { status: r.status, ms: performance.now() - t0, retryAfter: Number(r.headers.get('retry-after') ?? 0), body: r.body };
  };

  it('throttle race: 100 parallel wrong guesses verify at most 5; a clean address still signs in quickly meanwhile', async () => {
    // Idle sign-in time, measured in this run (median of 3) to compare with.
    const idle: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await signIn('doctor@example.com', DEMO_PASSWORD, `198.51.100.${10 + i}`);
      expect(r.status).toBe(200);
      idle.push(r.ms);
    }
    idle.sort((a, b) => a - b);
    const idleMs = idle[1]!;

    const t0 = performance.now();
    const attempts = Array.from({ length: 100 }, (_, i) => signIn('nurse@example.com', `wrong-guess-${i}`, '203.0.113.66'));
    const burst = Promise.all(attempts);
    await Promise.race(attempts); // the server has the burst: the first guess is answered
    const clean = await signIn('nurse@example.com', DEMO_PASSWORD, '198.51.100.99');
    const results = await burst;
    const burstMs = performance.now() - t0;
    const verified = results.filter((r) => r.status === 401).length;
    const limited = results.filter((r) => r.status === 429).length;
    const then = await signIn('nurse@example.com', DEMO_PASSWORD, '203.0.113.66');
    console.log(
      `throttle race: ${verified} verified (401), ${limited} × 429; right password from the guessing address afterwards: ${then.status}; ` +
        `burst answered in ${burstMs.toFixed(0)} ms; clean-address sign-in during the burst ${clean.ms.toFixed(0)} ms vs idle ${idleMs.toFixed(0)} ms (ratio ${(clean.ms / idleMs).toFixed(1)})`,
    );
    expect(verified).toBeLessThanOrEqual(5);
    expect(verified + limited).toBe(100);
    expect(results.filter((r) => r.status === 429).every((r) => r.retryAfter > 0)).toBe(true);
    expect(then.status).toBe(429);
    expect(clean.status).toBe(200);
    expect(clean.ms / idleMs).toBeLessThan(8);
  });

  it('many failures on an account slow only the addresses that failed: the real person from a clean address signs in', async () => {
    const account = 'admin@example.com';
    // 20 wrong guesses from 4 addresses: the per-account threshold.
    for (let a = 0; a < 4; a++) for (let i = 0; i < 5; i++) expect((await signIn(account, `guess-${a}-${i}`, `192.0.2.${a + 1}`)).status).toBe(401);
    // A guessing address is held off, with Retry-After, even with the right password …
    const attacker = await signIn(account, DEMO_PASSWORD, '192.0.2.1');
    expect(attacker.status).toBe(429);
    expect(attacker.body.error).toMatchObject({ code: 'rate_limited' });
    expect(attacker.body.error.retryAfter).toBe(attacker.retryAfter);
    // … a fresh guessing address gets one try before it is held off too (the account is under attack) …
    expect((await signIn(account, 'guess-fresh', '192.0.2.77')).status).toBe(401);
    expect((await signIn(account, 'guess-fresh-2', '192.0.2.77')).status).toBe(429);
    // … and the real person, from an address that never failed, signs in at once.
    const real = await signIn(account, DEMO_PASSWORD, '198.51.100.200');
    console.log(`lock-out: after 21 failures on the account, the right password from a clean address: ${real.status}; from a guessing address: ${attacker.status} (Retry-After ${attacker.retryAfter} s)`);
    expect(real.status).toBe(200);
  });
});
