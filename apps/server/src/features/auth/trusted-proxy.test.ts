import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../env.ts';
import { startTestServer, type TestServer } from '../../testing/harness.ts';

describe('trusted proxies only (issue #10, defect 4)', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it.each([['1'], ['true'], ['*']])('refuses TRUST_PROXY=%s, which would trust every hop, with a message saying what to set', (value) => {
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY: no longer accepts 1\/true .* e\.g\. 127\.0\.0\.1 or 10\.0\.0\.0\/8/);
  });

  it('takes addresses and CIDRs, and refuses anything else', () => {
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1' }).trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(loadConfig({}).trustProxy).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toEqual([]);
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.example' })).toThrow(/TRUST_PROXY: must be addresses or CIDRs/);
  });

  it.each([[undefined], ['10.0.0.0/8']])('ignores X-Forwarded-For from a peer that is not a trusted proxy (TRUST_PROXY=%s): the throttle keys on the real address', async (trust) => {
    s = await startTestServer({ env: trust ? { TRUST_PROXY: trust } : {} });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await s.request('POST', '/api/auth/login', {
        body: { email: 'nurse@example.com', password: `guess-${i}` },
        headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
      });
      statuses.push(r.status);
    }
    console.log(`forged X-Forwarded-For from an untrusted peer (TRUST_PROXY=${trust ?? ''}): ${statuses.join(' ')}`);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });
});
