import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';

// Issue 10: 1,000 call.invite to an offline user wrote 1,000 history entries in 2.3 s.

const emit = (s: TestSocket, event: string, payload: unknown) => (s.emitWithAck as (e: string, p: unknown) => Promise<any>)(event, payload);

async function setup(env: Record<string, string>) {
  const s = await startTestServer({ fakeClock: true, env });
  const id = async (cookie: string) => (await s.request('GET', '/api/me', { cookie })).body.user.id as string;
  const alex = await s.login('admin@example.com');
  const dana = await s.login('doctor@example.com');
  const noor = await s.login('nurse@example.com');
  const ids = { alex: await id(alex), dana: await id(dana), noor: await id(noor) };
  const a = await s.connect(alex, { deviceId: 'alex-1' });
  const d = await s.connect(dana, { deviceId: 'dana-1' });
  /** Call entries in the conversation between `cookie`'s user and `peerId`. */
  const entries = async (cookie: string, peerId: string) => {
    const conv = (await s.request('GET', '/api/conversations', { cookie })).body.conversations.find((c: any) => c.peer.id === peerId);
    if (!conv) return [];
    const all: any[] = [];
    for (let before: number | undefined; ; ) {
      const page = (await s.request('GET', `/api/conversations/${conv.id}/messages?limit=100${before ? `&before=${before}` : ''}`, { cookie })).body;
      all.unshift(...page.messages);
      if (!page.hasMore || page.messages.length === 0) break;
      before = page.messages[0].seq;
    }
    return all.filter((m: any) => m.kind === 'call');
  };
  /** Fires `n` invites from `sock` to Noor (offline) and sorts the acknowledgements. */
  const flood = async (sock: TestSocket, deviceId: string, n: number) => {
    const acks = await Promise.all(Array.from({ length: n }, () => emit(sock, 'call.invite', { callId: randomUUID(), deviceId, toUserId: ids.noor, kind: 'video' })));
    const limited = acks.filter((x) => !x.ok && x.error.code === 'rate_limited');
    return { ok: acks.filter((x) => x.ok).length, limited, other: acks.filter((x) => !x.ok && x.error.code !== 'rate_limited') };
  };
  return { s, ids, cookies: { alex, dana, noor }, a, d, entries, flood };
}

describe('call caps: invites per person and unanswered-call history per caller and callee', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('1,000 invites to an offline person: 20 go through (CALL_INVITES_PER_MINUTE), the rest are rate_limited with a retry-after; 10 history entries', async () => {
    const t = await setup({});
    s = t.s;
    const { ok, limited, other } = await t.flood(t.a, 'alex-1', 1000);
    const written = (await t.entries(t.cookies.alex, t.ids.noor)).length;
    console.info(`[caps] 1000 call.invite to an offline user: ${ok} accepted, ${limited.length} rate_limited, ${written} history entries`);
    expect({ ok, limited: limited.length, other }).toEqual({ ok: 20, limited: 980, other: [] });
    for (const x of limited) {
      expect(x.error.retryAfter).toBeGreaterThan(0);
      expect(x.error.retryAfter).toBeLessThanOrEqual(60);
    }
    expect(written).toBe(10);
    // The cap is per person: someone else still calls her, and her entry is written.
    expect(await emit(t.d, 'call.invite', { callId: randomUUID(), deviceId: 'dana-1', toUserId: t.ids.noor, kind: 'audio' })).toEqual({ ok: true });
    expect(await t.entries(t.cookies.dana, t.ids.noor)).toHaveLength(1);
    // A minute later Alex may call again; her history with him stays capped for ten minutes.
    t.s.clock!.advance(60_000);
    expect((await t.flood(t.a, 'alex-1', 5)).ok).toBe(5);
    expect(await t.entries(t.cookies.alex, t.ids.noor)).toHaveLength(10);
    t.s.clock!.advance(10 * 60_000);
    expect((await t.flood(t.a, 'alex-1', 1)).ok).toBe(1);
    expect(await t.entries(t.cookies.alex, t.ids.noor)).toHaveLength(11);
  });

  it('with the invite cap raised, the history cap alone still keeps 1,000 unanswered calls to 10 entries, and every caller is still told "unavailable"', async () => {
    const t = await setup({ CALL_INVITES_PER_MINUTE: '10000', CALL_UNANSWERED_ENTRIES_PER_10_MIN: '10' });
    s = t.s;
    let ended = 0;
    t.a.on('call.ended', (e) => {
      if (e.reason === 'unavailable') ended++;
    });
    const { ok } = await t.flood(t.a, 'alex-1', 1000);
    // A round trip, so every call.ended sent before has arrived.
    await emit(t.a, 'call.ringing', { callId: randomUUID(), deviceId: 'alex-1' });
    const written = (await t.entries(t.cookies.alex, t.ids.noor)).length;
    console.info(`[caps] invite cap off: 1000 call.invite accepted ${ok}, call.ended unavailable ${ended}, history entries ${written}`);
    expect({ ok, ended, written }).toEqual({ ok: 1000, ended: 1000, written: 10 });
  });

  it('answered calls are always recorded, beyond the unanswered cap', async () => {
    const t = await setup({ CALL_UNANSWERED_ENTRIES_PER_10_MIN: '1' });
    s = t.s;
    for (let i = 0; i < 3; i++) {
      const callId = randomUUID();
      await emit(t.a, 'call.invite', { callId, deviceId: 'alex-1', toUserId: t.ids.dana, kind: 'audio' });
      await emit(t.d, 'call.accept', { callId, deviceId: 'dana-1' });
      expect(await emit(t.a, 'call.hangup', { callId, deviceId: 'alex-1', reason: 'user_hangup' })).toEqual({ ok: true });
    }
    for (let i = 0; i < 3; i++) {
      const callId = randomUUID();
      await emit(t.a, 'call.invite', { callId, deviceId: 'alex-1', toUserId: t.ids.dana, kind: 'audio' });
      expect(await emit(t.d, 'call.reject', { callId, deviceId: 'dana-1', reason: 'declined' })).toEqual({ ok: true });
    }
    const reasons = (await t.entries(t.cookies.dana, t.ids.alex)).map((m: any) => m.call.reason);
    expect(reasons).toEqual(['user_hangup', 'user_hangup', 'user_hangup', 'declined']);
  });
});
