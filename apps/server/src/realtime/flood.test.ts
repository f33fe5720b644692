import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestSocket } from '../testing/harness.ts';

interface FloodCounts {
  sent: number;
  ok: number;
  rateLimited: number;
  otherError: number;
  noAck: number;
  connects: number;
  refusedConnects: number;
  disconnects: number;
}

const PASSWORD = 'Flood-test passphrase 2026';
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

/** Rate limits on socket events (issue #10, defect 3): one client floods, another pair is not slowed. */
describe('socket floods', () => {
  let s: TestServer;
  let cookies: { doctor: string; dave: string };
  /** The other pairs: four senders, each with a conversation with dave. */
  let senderAccounts: Array<{ cookie: string; conversationId: string }>;
  let ids: Record<string, string>;
  const idOf = (name: string) => ids[name]!;
  let conv: { flood: string };

  beforeAll(async () => {
    s = await startTestServer({ env: { RATE_LIMIT_INVITE: '10/20' } });
    const admin = await s.login('admin@example.com');
    ids = {};
    for (const name of ['carol', 'erin', 'frank', 'gina', 'dave']) {
      const r = await s.request('POST', '/api/admin/users', { cookie: admin, body: { name, email: `${name}@example.com`, role: 'nurse', password: PASSWORD } });
      expect(r.status).toBe(201);
      ids[name] = r.body.user.id;
    }
    cookies = { doctor: await s.login('doctor@example.com'), dave: await s.login('dave@example.com', PASSWORD) };
    const nurseId = (await s.request('GET', '/api/me', { cookie: await s.login('nurse@example.com') })).body.user.id;
    conv = {
      flood: (await s.request('POST', '/api/conversations', { cookie: cookies.doctor, body: { userId: nurseId } })).body.conversation.id,
    };
    senderAccounts = [];
    for (const name of ['carol', 'erin', 'frank', 'gina']) {
      const cookie = await s.login(`${name}@example.com`, PASSWORD);
      const conversationId = (await s.request('POST', '/api/conversations', { cookie, body: { userId: idOf('dave') } })).body.conversation.id;
      senderAccounts.push({ cookie, conversationId });
    }
  }, 60_000);
  afterAll(async () => s?.close());

  /** Delivery time (send → the receiver's message.new) of `n` paced messages from a rotation of senders. */
  async function deliveries(senders: Array<{ socket: TestSocket; conversationId: string }>, receiver: TestSocket, n: number): Promise<number[]> {
    const waiting = new Map<string, (t: number) => void>();
    const onNew = ({ message }: { message: { id: string } }) => waiting.get(message.id)?.(performance.now());
    receiver.on('message.new', onNew);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const { socket, conversationId } = senders[i % senders.length]!;
      const id = randomUUID();
      const got = new Promise<number>((resolve, reject) => {
        waiting.set(id, resolve);
        setTimeout(() => reject(new Error(`message ${i} not delivered within 10 s`)), 10_000).unref();
      });
      const t0 = performance.now();
      const ack = await socket.emitWithAck('message.send', { id, conversationId, body: `measure ${i}` });
      expect(ack.ok, JSON.stringify(ack)).toBe(true);
      times.push((await got) - t0);
      waiting.delete(id);
      await new Promise((r) => setTimeout(r, 20));
    }
    receiver.off('message.new', onNew);
    return times;
  }

  function flood(cookie: string, event: string, payload: object, durationMs: number): Promise<FloodCounts> {
    const worker = new Worker(new URL('../testing/flooder.mjs', import.meta.url), {
      workerData: { url: s.url, cookie, event, payload, durationMs, sockets: 4, burst: 50, deviceId: 'flooder-device' },
    });
    return new Promise((resolve, reject) => {
      worker.once('message', (m: FloodCounts) => {
        resolve(m);
        void worker.terminate();
      });
      worker.once('error', reject);
    });
  }

  // A p99 over 120 deliveries on a 2-core machine shared with other test files is noisy: up to two
  // more tries, each with a fresh flooder session (the last one is cooling down) and sender sockets;
  // four sender accounts keep three tries within each sender's per-user chat budget.
  it('a client flooding message.send is limited, and another pair’s delivery p99 stays within 2× its unloaded p99', { retry: 2, timeout: 60_000 }, async () => {
    const flooder = await s.login('doctor@example.com');
    const dave = await s.connect(cookies.dave);
    const senders = async () => Promise.all(senderAccounts.map(async ({ cookie, conversationId }) => ({ socket: await s.connect(cookie), conversationId })));
    // Every socket is connected before the flood: the measurement runs while it goes on.
    const [quiet, busy, after] = [await senders(), await senders(), await senders()];
    // The unloaded baseline is measured before and after the flood, so a slower machine halfway
    // through (other tests run beside this one) shifts both sides of the ratio alike.
    const before = await deliveries(quiet, dave, 60);
    const flooding = flood(flooder, 'message.send', { conversationId: conv.flood, body: 'flood' }, 8_000);
    await new Promise((r) => setTimeout(r, 1000)); // the flood is under way
    const t0 = performance.now();
    const loaded = await deliveries(busy, dave, 120);
    const loadedMs = performance.now() - t0;
    const counts = await flooding;
    const unloaded = [...before, ...(await deliveries(after, dave, 60))];
    const stored = (await s.request('GET', `/api/conversations/${conv.flood}/messages?limit=100`, { cookie: cookies.doctor })).body.messages.length;
    const [u, l] = [p99(unloaded), p99(loaded)];
    console.log(
      `message.send flood: ${JSON.stringify(counts)}; stored ${stored}${stored === 100 ? '+' : ''} | ` +
        `other pair delivery p99 unloaded ${u.toFixed(1)} ms, during the flood ${l.toFixed(1)} ms, ratio ${(l / u).toFixed(2)} (measured over ${loadedMs.toFixed(0)} ms of the 8 s flood)`,
    );
    expect(counts.rateLimited).toBeGreaterThan(0);
    expect(counts.ok).toBeLessThanOrEqual(200 * 2); // the per-user budget per 10 s window (an 8 s flood spans at most two)
    expect(loadedMs).toBeLessThan(7000); // the loaded phase ran inside the flood
    expect(l / u).toBeLessThanOrEqual(2);
  });

  it('a client flooding call.invite is limited', async () => {
    // Another flooder: the first one's session is cooling down after its sockets were dropped.
    const counts = await flood(await s.login('nurse@example.com'), 'call.invite', { deviceId: 'flooder-device', toUserId: idOf('dave'), kind: 'audio' }, 3_000);
    console.log(`call.invite flood: ${JSON.stringify(counts)}`);
    expect(counts.rateLimited).toBeGreaterThan(0);
    expect(counts.ok + counts.otherError).toBeLessThanOrEqual(20 * 2);
    // The server still serves the flooder's victim: a normal message goes through.
    const dave = await s.connect(cookies.dave);
    const { cookie, conversationId } = senderAccounts[0]!;
    expect((await deliveries([{ socket: await s.connect(cookie), conversationId }], dave, 1)).length).toBe(1);
  }, 30_000);
});

describe('normal use never meets the limits', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ env: { RATE_LIMIT_INVITE: '10/20' } });
  });
  afterAll(async () => s?.close());

  it('10 devices, typing fast, a call’s ICE burst and stats every second: no rate_limited', async () => {
    const [doctor, nurse] = [await s.login('doctor@example.com'), await s.login('nurse@example.com')];
    const nurseId = (await s.request('GET', '/api/me', { cookie: nurse })).body.user.id;
    const conversationId = (await s.request('POST', '/api/conversations', { cookie: doctor, body: { userId: nurseId } })).body.conversation.id;
    // Ten devices of one person, each signed in, each catching up and reading.
    const devices: TestSocket[] = [];
    for (let i = 0; i < 10; i++) devices.push(await s.connect(await s.login('doctor@example.com'), { deviceId: `device-${i}` }));
    const acks: Array<{ ok: boolean; error?: { code: string } }> = [];
    acks.push(...(await Promise.all(devices.map((d) => d.emitWithAck('chat.sync', { cursors: {} })))));
    // Typing fast: 30 messages in 3 s from one device, every device marking them read.
    for (let i = 0; i < 30; i++) {
      acks.push(await devices[0]!.emitWithAck('message.send', { id: randomUUID(), conversationId, body: `quick ${i}` }));
      if (i % 3 === 0) acks.push(...(await Promise.all(devices.map((d) => d.emitWithAck('conversation.read', { conversationId, seq: i + 1 })))));
      await new Promise((r) => setTimeout(r, 100));
    }
    // A call's ICE burst: 80 candidates in one second, and stats every second for 10 s (sent at once here).
    const ice = { callId: randomUUID(), deviceId: 'device-1', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 } };
    acks.push(...(await Promise.all(Array.from({ length: 80 }, () => devices[1]!.emitWithAck('call.ice', ice)))));
    const stats = { callId: ice.callId, deviceId: 'device-1', quality: {} };
    acks.push(...(await Promise.all(Array.from({ length: 10 }, () => devices[1]!.emitWithAck('call.stats', stats)))));
    const limited = acks.filter((a) => !a.ok && a.error?.code === 'rate_limited').length;
    console.log(`normal use: ${acks.length} events from 10 devices, ${limited} rate_limited`);
    expect(acks.length).toBe(10 + 30 + 10 * 10 + 80 + 10);
    expect(limited).toBe(0);
  }, 60_000);
});
