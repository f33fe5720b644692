import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../../lib/redis.ts';
import { startRedis, type TestRedis } from '../../testing/redis.ts';
import { step } from './call-lifecycle.ts';
import { RedisCallRegistry } from './call-registry-redis.ts';
import { InMemoryCallRegistry, type CallRegistry, type ResumeClaim } from './call-registry.ts';
import type { ActiveCall } from './call-types.ts';

const log = pino({ level: 'silent' });
const CFG = { ringTimeoutMs: 45_000, reconnectGraceMs: 10_000, preconnect: true };

function ringing(callerId: string, calleeId: string, id = randomUUID()): ActiveCall {
  return {
    id,
    kind: 'audio',
    caller: { userId: callerId, name: 'Caller', deviceId: `${callerId}-phone` },
    callee: { userId: calleeId, name: 'Callee' },
    phase: 'ringing',
    createdAt: 1000,
    lost: [],
    invited: [`${calleeId}-phone`, `${calleeId}-laptop`],
    rev: 1,
  };
}

function claim(callId: string, from: string, peer: string): ResumeClaim {
  return { callId, nonce: randomUUID(), from: { userId: from, deviceId: 'd1', name: 'F' }, role: 'caller', peer: { userId: peer, deviceId: 'd2', name: 'P' }, kind: 'video', answeredAt: 5 };
}

let redis: TestRedis;
const links: RedisLink[] = [];
/** A registry as one node sees it: its own connection to the shared Redis, one prefix per test. */
async function redisNode(prefix: string): Promise<CallRegistry> {
  const link = new RedisLink(redis.url, log);
  links.push(link);
  await link.waitReady(5000);
  return new RedisCallRegistry(link, prefix);
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const l of links) await l.close();
  await redis?.stop();
});

const kinds: Array<[string, () => Promise<CallRegistry>]> = [
  ['in memory', async () => new InMemoryCallRegistry()],
  ['in Redis', () => redisNode(`t:${randomUUID()}:`)],
];

describe.each(kinds)('the call registry %s', (_name, make) => {
  it('create claims both people or neither; busy names who and which call; an id cannot be reused', async () => {
    const r = await make();
    const a = ringing('alex', 'dana');
    expect(await r.create(a)).toEqual({ ok: true });
    expect(await r.get(a.id)).toEqual(a);
    expect(await r.callOfUser('alex')).toEqual(a);
    expect(await r.callOfUser('dana')).toEqual(a);
    expect(await r.create({ ...ringing('noor', 'dana'), id: a.id })).toEqual({ ok: false, reason: 'id_taken' });
    expect(await r.create(ringing('noor', 'dana'))).toEqual({ ok: false, reason: 'busy', userId: 'dana', callId: a.id });
    expect(await r.create(ringing('alex', 'noor'))).toEqual({ ok: false, reason: 'busy', userId: 'alex', callId: a.id });
    // The refused calls claimed nobody.
    expect(await r.callOfUser('noor')).toBeUndefined();
    expect(await r.count()).toBe(1);
  });

  it('update and remove are compare-and-set on rev; remove frees both people', async () => {
    const r = await make();
    const a = ringing('alex', 'dana');
    await r.create(a);
    const b = { ...a, phase: 'accepted' as const, callee: { ...a.callee, deviceId: 'dana-phone' }, acceptedAt: 2000, rev: 2 };
    expect(await r.update(b, 1)).toBe(true);
    expect(await r.update({ ...b, rev: 3 }, 1)).toBe(false);
    expect(await r.get(a.id)).toEqual(b);
    expect(await r.remove(a.id, 1)).toBe(false);
    expect(await r.remove(a.id, 2)).toBe(true);
    expect(await r.remove(a.id, 2)).toBe(false);
    expect(await r.get(a.id)).toBeUndefined();
    expect(await r.callOfUser('alex')).toBeUndefined();
    expect(await r.callOfUser('dana')).toBeUndefined();
    expect(await r.count()).toBe(0);
    expect(await r.create(ringing('dana', 'alex'))).toEqual({ ok: true });
  });

  it('keeps fields it does not know (the record is stored as JSON, whole)', async () => {
    const r = await make();
    const a = { ...ringing('alex', 'dana'), offer: { sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', type: 'offer' }, note: 'ünïcode ✓' } as ActiveCall;
    await r.create(a);
    expect(await r.get(a.id)).toEqual(a);
    const b = { ...a, rev: 2 };
    await r.update(b, 1);
    expect(await r.callOfUser('dana')).toEqual(b);
  });

  it('claims: one per call, one per person, taken only with their nonce', async () => {
    const r = await make();
    const c1 = claim('call-1', 'alex', 'dana');
    expect(await r.putClaimIfAbsent(c1)).toBe(true);
    expect(await r.putClaimIfAbsent({ ...claim('call-1', 'noor', 'dana') })).toBe(false);
    expect(await r.getClaim('call-1')).toEqual(c1);
    // Alex's next claim drops his earlier one.
    const c2 = claim('call-2', 'alex', 'noor');
    expect(await r.putClaimIfAbsent(c2)).toBe(true);
    expect(await r.getClaim('call-1')).toBeUndefined();
    expect(await r.takeClaim('call-2', 'not-the-nonce')).toBe(false);
    expect(await r.takeClaim('call-2', c2.nonce)).toBe(true);
    expect(await r.takeClaim('call-2', c2.nonce)).toBe(false);
    expect(await r.getClaim('call-2')).toBeUndefined();
  });
});

describe('two nodes on one Redis racing on the same decisions', () => {
  it('60 answers at once from devices on two nodes (read, step, compare-and-set, retry): one winner, the rest answered elsewhere', async () => {
    const prefix = `race:${randomUUID()}:`;
    const [a, b] = [await redisNode(prefix), await redisNode(prefix)];
    const call = ringing('alex', 'dana');
    expect(await a.create(call)).toEqual({ ok: true });
    const devices = Array.from({ length: 60 }, (_, i) => `dana-device-${i}`);
    // What CallManager.apply does per event, each device through "its" node.
    const answer = async (deviceId: string, i: number): Promise<'won' | 'refused'> => {
      const r = i % 2 ? a : b;
      for (let attempt = 0; attempt < 100; attempt++) {
        const cur = (await r.get(call.id)) ?? null;
        const out = step(cur, { type: 'accept', from: { userId: 'dana', deviceId }, otherDevices: 1 }, 2000, CFG);
        if (out.refusal) return 'refused';
        if (await r.update(out.call!, cur!.rev)) return 'won';
      }
      throw new Error('no decision after 100 tries');
    };
    const outcomes = await Promise.all(devices.map(answer));
    const winners = devices.filter((_, i) => outcomes[i] === 'won');
    console.info(`[registry race] 60 parallel answers on 2 nodes: ${winners.length} won, ${outcomes.filter((o) => o === 'refused').length} refused`);
    expect(winners).toHaveLength(1);
    const stored = await b.get(call.id);
    expect(stored).toMatchObject({ phase: 'accepted', rev: 2, callee: { deviceId: winners[0] } });
  });

  it('glare: 50 pairs of people call each other at the same moment on two nodes; each pair ends up with exactly one call', async () => {
    const prefix = `glare:${randomUUID()}:`;
    const [a, b] = [await redisNode(prefix), await redisNode(prefix)];
    const pairs = Array.from({ length: 50 }, (_, i) => [`p${i}`, `q${i}`] as const);
    const results = await Promise.all(pairs.flatMap(([p, q]) => [a.create(ringing(p, q)), b.create(ringing(q, p))]));
    let one = 0;
    for (let i = 0; i < pairs.length; i++) {
      const [x, y] = [results[2 * i]!, results[2 * i + 1]!];
      if (x.ok !== y.ok) one++;
      // The loser is told whose call is in the way, so its invite can merge into it.
      const loser = x.ok ? y : x;
      if (!loser.ok && loser.reason === 'busy') expect(await a.get(loser.callId)).toBeDefined();
    }
    console.info(`[registry race] 50 glare pairs on 2 nodes: ${one} pairs with exactly one call`);
    expect(one).toBe(50);
    expect(await a.count()).toBe(50);
  });
});
