// Issue #8, test 2: the ring timeout fires once when the node holding the caller is killed while the
// call rings. The timer was armed by node A in Redis; node B, left alone, fires it: the callee's
// devices stop ringing with no_answer once, one history entry is written, and nobody stays busy.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { until, useCluster } from '../support/cluster.ts';

const RING_TIMEOUT_S = 4;

describe('several nodes: the ring timeout of a killed node', () => {
  const fixture = useCluster({ env: { CALL_RING_TIMEOUT_S: String(RING_TIMEOUT_S) } });

  it('fires once, on the node that is left: no_answer to every callee device, one history entry, nobody busy', { timeout: 90_000 }, async () => {
    const { cluster, nodes: [a, b] } = fixture;
    const alex = await cluster.login('admin@example.com');
    const dana = await cluster.login('doctor@example.com');
    const [alexId, danaId] = [(await cluster.request('GET', '/api/me', { cookie: alex })).body.user.id, (await cluster.request('GET', '/api/me', { cookie: dana })).body.user.id];
    const caller = await cluster.connect(alex, 'alex-phone', a.url);
    // Both of Dana's devices on B.
    const phone = await cluster.connect(dana, 'dana-phone', b.url);
    const laptop = await cluster.connect(dana, 'dana-laptop', b.url);
    await cluster.devicesCounted(danaId, ['dana-phone', 'dana-laptop']);
    const ended: Array<{ device: string; reason: string; callId: string }> = [];
    for (const [name, s] of [['phone', phone], ['laptop', laptop]] as const) s.on('call.ended', (e) => ended.push({ device: name, ...e }));
    const toCaller: string[] = [];
    caller.onAny((event: string, payload: unknown) => toCaller.push(`${event} ${JSON.stringify(payload)}`));
    const rang = Promise.all(
      [phone, laptop].map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`a callee device did not ring; the caller heard: ${toCaller.join(' | ')}`)), 5000);
            s.once('call.invite', () => (clearTimeout(t), resolve()));
          }),
      ),
    );

    const callId = randomUUID();
    expect(await caller.timeout(3000).emitWithAck('call.invite', { callId, deviceId: 'alex-phone', toUserId: danaId, kind: 'audio' })).toEqual({ ok: true });
    await rang;
    expect(await phone.timeout(3000).emitWithAck('call.ringing', { callId, deviceId: 'dana-phone' })).toEqual({ ok: true });
    // The caller's node dies while it rings; it armed the timer.
    await a.kill();
    caller.disconnect();

    await until('the callee hears the call end', () => ended.length >= 2, (RING_TIMEOUT_S + 15) * 1000);
    // Long enough for any second firing (the scheduler polls every 0.5 s; a lease lasts 15 s).
    await new Promise((r) => setTimeout(r, 3_000));
    const fired = b.output().split('\n').filter((l) => l.includes(callId) && l.includes('"event":"timeout"')).length;
    console.log(`[ring timeout] caller's node killed while ringing: call.ended ${JSON.stringify(ended.map((e) => `${e.device}:${e.reason}`))}, timeout fired ${fired}× on B`);
    expect(ended.map((e) => `${e.device}:${e.reason}:${e.callId === callId}`).sort()).toEqual(['laptop:no_answer:true', 'phone:no_answer:true']);
    expect(fired).toBe(1);

    expect((await fixture.callEntries()).map((e) => [e.id, e.reason])).toEqual([[callId, 'no_answer']]);
    // Neither person is held busy by the dead node's call: Dana can call Alex (not "busy").
    const busy = new Promise<boolean>((r) => {
      phone.once('call.busy', () => r(true));
      setTimeout(() => r(false), 1500);
    });
    const again = randomUUID();
    expect(await phone.timeout(3000).emitWithAck('call.invite', { callId: again, deviceId: 'dana-phone', toUserId: alexId, kind: 'audio' })).toEqual({ ok: true });
    expect(await busy).toBe(false);
    await phone.timeout(3000).emitWithAck('call.cancel', { callId: again, deviceId: 'dana-phone', reason: 'cancelled' });
    expect(b.output()).not.toMatch(/uncaught|unhandled/i);
  });
});
