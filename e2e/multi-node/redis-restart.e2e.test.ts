// Issue #8, test 5: Redis restarted. The nodes say so in their logs and health, keep running, and
// recover when it returns: fan-out between nodes and presence work again.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster, type ClusterSocket } from '../../apps/server/src/testing/cluster.ts';

async function health(url: string): Promise<{ status: number; body: { status: string; database: string; redis: string } }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as { status: string; database: string; redis: string } };
}

async function until(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function nextMessage(socket: ClusterSocket, body: string, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`"${body}" not delivered live within ${ms} ms`)), ms);
    socket.on('message.new', (e) => {
      if (e.message.body === body) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

describe('several nodes: Redis restarted', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('nodes report Redis down separately from the database, keep serving, and recover when it returns', { timeout: 90_000 }, async () => {
    const [a, b] = cluster.nodes as [NonNullable<Cluster['nodes'][0]>, NonNullable<Cluster['nodes'][0]>];
    for (const n of [a, b]) expect(await health(n.url)).toEqual({ status: 200, body: { status: 'ok', database: 'ok', redis: 'ok' } });
    const alex = await cluster.login('admin@example.com');
    const dana = await cluster.login('doctor@example.com');
    const danaId = (await cluster.request('GET', '/api/me', { cookie: dana })).body.user.id;
    const conv = (await cluster.request('POST', '/api/conversations', { cookie: alex, body: { userId: danaId } })).body.conversation.id;
    // Alex through nginx (node A), Dana straight on node B: every live event crosses Redis.
    const onA = await cluster.connect(alex, randomUUID());
    const onB = await cluster.connect(dana, randomUUID(), b.url);
    const send = async (body: string) => {
      const delivered = nextMessage(onB, body);
      const ack = await onA.timeout(3000).emitWithAck('message.send', { id: randomUUID(), conversationId: conv, body });
      expect(ack.ok).toBe(true);
      await delivered;
    };
    await send('before the restart');

    await cluster.redis.kill();
    for (const n of [a, b]) {
      await until(`${n.name} reports Redis unreachable`, async () => (await health(n.url)).body.redis === 'unreachable');
      expect(await health(n.url)).toEqual({ status: 503, body: { status: 'unavailable', database: 'ok', redis: 'unreachable' } });
      expect(n.output()).toContain('redis unreachable');
    }
    // Still serving: a message is stored (its live copy to the other node waits for Redis).
    const during = await onA.timeout(3000).emitWithAck('message.send', { id: randomUUID(), conversationId: conv, body: 'while Redis is down' });
    expect(during.ok).toBe(true);

    await cluster.redis.start();
    for (const n of [a, b]) {
      await until(`${n.name} healthy again`, async () => (await health(n.url)).status === 200);
      expect(n.output()).toContain('redis reachable again');
    }
    // Fan-out works again: a message from A reaches B live, and B follows A's presence across nodes.
    await until('fan-out between the nodes again', async () => {
      try {
        await send(`after the restart ${randomUUID()}`);
        return true;
      } catch {
        return false;
      }
    });
    const alexId = (await cluster.request('GET', '/api/me', { cookie: alex })).body.user.id;
    await until('presence counts back in Redis', async () => {
      const ack = await onB.timeout(2000).emitWithAck('presence.subscribe', { userIds: [alexId] });
      return ack.ok && ack.online[alexId] === true;
    });
    const offline = new Promise<void>((resolve) => onB.on('presence', (e) => e.userId === alexId && !e.online && resolve()));
    onA.disconnect();
    await offline;
    for (const n of [a, b]) expect(n.output()).not.toMatch(/uncaught|unhandled/i);
  });
});
