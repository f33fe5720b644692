// Issue #8, test 4: 1,000 messages from 10 clients while a node is killed. Every one is stored
// exactly once and delivered to its recipient, counted. Real PostgreSQL, Redis, nginx, and Parley's
// own processes; the clients do what the web app does: resend the same id until acknowledged, and
// catch up with chat.sync after a reconnect.
import { randomUUID } from 'node:crypto';
import type { Message } from '@parley/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster, type ClusterSocket } from '../../apps/server/src/testing/cluster.ts';

const CLIENTS = 10;
const PER_CLIENT = 100;
const KILL_AFTER = 300; // acknowledged messages, of 1,000

interface Client {
  index: number;
  userId: string;
  socket: ClusterSocket;
  conversationId: string;
  /** Ids of the partner's messages this client holds (live or caught up). */
  received: Set<string>;
  highestSeq: number;
  reconnects: number;
  /** Holds a message of the conversation, received live, caught up or acknowledged. */
  take(m: Message): void;
}

describe('several nodes: messages while a node is killed', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2, balance: 'round-robin' });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('stores each of 1,000 messages from 10 clients exactly once and delivers every one', { timeout: 120_000 }, async () => {
    const admin = await cluster.login('admin@example.com');
    const people: Array<{ id: string; cookie: string }> = [];
    for (let i = 0; i < CLIENTS; i++) {
      const email = `person${i}@multi.example`;
      const res = await cluster.request('POST', '/api/admin/users', { cookie: admin, body: { name: `Person ${i}`, email, role: 'nurse', password: 'multi-node-test-pass' } });
      expect(res.status).toBe(201);
      people.push({ id: res.body.user.id, cookie: await cluster.login(email, 'multi-node-test-pass') });
    }
    // Pairs (0,1), (2,3), …: each client writes to its partner.
    const conversations: string[] = [];
    for (let i = 0; i < CLIENTS; i += 2) {
      const res = await cluster.request('POST', '/api/conversations', { cookie: people[i]!.cookie, body: { userId: people[i + 1]!.id } });
      conversations.push(res.body.conversation.id);
    }

    const clients: Client[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const socket = await cluster.connect(people[i]!.cookie, randomUUID());
      const c: Client = {
        index: i,
        userId: people[i]!.id,
        socket,
        conversationId: conversations[Math.floor(i / 2)]!,
        received: new Set(),
        highestSeq: 0,
        reconnects: 0,
        take: (m) => {
          if (m.conversationId !== c.conversationId) return;
          c.highestSeq = Math.max(c.highestSeq, m.seq);
          if (m.senderId !== c.userId) c.received.add(m.id);
        },
      };
      const take = c.take;
      socket.on('message.new', (e) => take(e.message));
      socket.io.on('reconnect', () => {
        c.reconnects++;
        // What the web app does after a reconnect: ask for everything after the highest seq held.
        void socket
          .timeout(5000)
          .emitWithAck('chat.sync', { cursors: { [c.conversationId]: c.highestSeq } })
          .then((r) => r.ok && r.messages.forEach(take))
          .catch(() => undefined);
      });
      clients.push(c);
    }

    const [nodeA] = cluster.nodes;
    let acked = 0;
    let resent = 0;
    let killed: Promise<void> | undefined;
    const sentIds = new Map<number, string[]>();

    // Each client sends its 100 messages one after another; a send without an acknowledgement is
    // resent with the same id once the socket is back (the web app's outbox).
    await Promise.all(
      clients.map(async (c) => {
        const ids: string[] = [];
        sentIds.set(c.index, ids);
        for (let n = 0; n < PER_CLIENT; n++) {
          const id = randomUUID();
          ids.push(id);
          for (let attempt = 0; ; attempt++) {
            if (attempt > 0) resent++;
            if (!c.socket.connected) await new Promise<void>((r) => c.socket.once('connect', () => r()));
            try {
              const res = await c.socket.timeout(2000).emitWithAck('message.send', { id, conversationId: c.conversationId, body: `client ${c.index} message ${n}` });
              // As the web app does: the sending socket has its message in the acknowledgement only.
              if (res.ok) {
                c.take(res.message);
                break;
              }
              throw new Error(`refused: ${JSON.stringify(res)}`);
            } catch (err) {
              if (String(err).includes('refused')) throw err;
              if (attempt > 50) throw new Error(`message ${n} of client ${c.index} never acknowledged`, { cause: err });
            }
          }
          acked++;
          if (acked === KILL_AFTER) killed = nodeA!.kill();
          await new Promise((r) => setTimeout(r, 5));
        }
      }),
    );
    await killed;
    expect(killed, 'node A was killed mid-run').toBeDefined();

    // Stored exactly once: 1,000 rows, 1,000 distinct ids and bodies, 100 per sender.
    const db = new pg.Client(cluster.databaseUrl);
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number; ids: number; bodies: number }>("select count(*)::int as n, count(distinct id)::int as ids, count(distinct body)::int as bodies from messages where kind = 'text'");
      expect(rows[0]).toEqual({ n: CLIENTS * PER_CLIENT, ids: CLIENTS * PER_CLIENT, bodies: CLIENTS * PER_CLIENT });
      const perSender = await db.query<{ n: number }>("select count(*)::int as n from messages where kind = 'text' group by sender_id");
      expect(perSender.rows.map((r) => r.n)).toEqual(Array(CLIENTS).fill(PER_CLIENT));
    } finally {
      await db.end();
    }

    // Delivered: every client holds each of its partner's 100 messages (live, or caught up).
    const deadline = Date.now() + 10_000;
    const missing = () => clients.reduce((sum, c) => sum + sentIds.get(c.index ^ 1)!.filter((id) => !c.received.has(id)).length, 0);
    while (missing() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(missing()).toBe(0);
    // The kill was felt: the clients that were on node A reconnected (through nginx, to B).
    const movedOver = clients.filter((c) => c.reconnects > 0).length;
    expect(movedOver).toBeGreaterThan(0);
    expect(movedOver).toBeLessThan(CLIENTS);
    console.log(`[multi-node] 1,000 messages: ${movedOver} of ${CLIENTS} clients moved to node B, ${resent} resends, all stored once and delivered`);
  });
});
