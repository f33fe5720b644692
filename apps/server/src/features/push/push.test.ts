import { randomUUID } from 'node:crypto';
import dns from 'node:dns/promises';
import os from 'node:os';
import { io as ioClient } from 'socket.io-client';
import webpush from 'web-push';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, nextEvent, startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';
import { LocalPushService, type TestSubscription } from '../../testing/local-push-service.ts';

const RING_S = 3;
const who = { alex: 'admin@example.com', dana: 'doctor@example.com', noor: 'nurse@example.com' } as const;
type Who = keyof typeof who;

describe.each(DB_KINDS)('web push on %s, against a local push service', (kind) => {
  let push: LocalPushService;
  let s: TestServer;
  const ids = {} as Record<Who, string>;

  beforeAll(async () => {
    push = await LocalPushService.start();
    s = await startTestServer({ kind, env: { CALL_RING_TIMEOUT_S: String(RING_S), PUSH_ALLOW_LOCAL_ENDPOINTS: '1' }, app: { pushCa: push.ca } });
    for (const w of Object.keys(who) as Who[]) {
      const cookie = await s.login(who[w]);
      ids[w] = (await s.request('GET', '/api/me', { cookie })).body.user.id;
    }
  });
  afterAll(async () => {
    await s?.close();
    await push?.close();
  });
  afterEach(() => expect(push.errors).toEqual([]));

  /** A signed-in browser with a push subscription and, by default, no socket: its page is closed. */
  async function closedBrowser(w: Who): Promise<{ cookie: string; sub: TestSubscription }> {
    const cookie = await s.login(who[w]);
    const sub = push.subscribe();
    const res = await s.request('POST', '/api/push/subscriptions', { cookie, body: { ...sub, expirationTime: null } });
    expect(res.status).toBe(204);
    return { cookie, sub };
  }
  async function caller(w: Who) {
    const cookie = await s.login(who[w]);
    const deviceId = `${w}-${randomUUID().slice(0, 8)}`;
    const socket = await s.connect(cookie, { deviceId });
    return { socket, deviceId, cookie, emit: (event: string, p: object) => (socket.emitWithAck as (e: string, p: unknown) => Promise<any>)(event, { deviceId, ...p }) };
  }
  const forEndpoint = (sub: TestSubscription, type: string) => (r: { endpoint: string; payload: any }) => r.endpoint === sub.endpoint && r.payload.type === type;

  it('keeps one VAPID key pair across restarts and gives browsers only the public half', async () => {
    const { cookie } = await closedBrowser('noor');
    const config = await s.request('GET', '/api/push/config', { cookie });
    expect(config.status).toBe(200);
    expect(config.body).toEqual({ publicKey: expect.stringMatching(/^[A-Za-z0-9_-]{87}$/), subscribed: true });
    const row = await s.ctx.db.selectFrom('vapid_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.public_key).toBe(config.body.publicKey);
    expect(JSON.stringify(config.body)).not.toContain(row.private_key);
    expect((await s.request('GET', '/api/push/config')).status).toBe(401);

    // The same database after a restart: the same keys, so existing subscriptions stay valid.
    const again = await startTestServer({ database: s.ctx.config.database });
    try {
      const c2 = await again.login(who.noor);
      expect((await again.request('GET', '/api/push/config', { cookie: c2 })).body.publicKey).toBe(config.body.publicKey);
    } finally {
      await again.close();
    }
  });

  it('uses VAPID keys from the environment instead', async () => {
    const keys = webpush.generateVAPIDKeys();
    const other = await startTestServer({ kind, env: { VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey } });
    try {
      const c = await other.login(who.noor);
      expect((await other.request('GET', '/api/push/config', { cookie: c })).body.publicKey).toBe(keys.publicKey);
      expect(await other.ctx.db.selectFrom('vapid_keys').selectAll().execute()).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('rings a closed browser by push: urgent, for the ring timeout, one topic per call; cancel turns it into a missed call', async () => {
    const dana = await caller('dana');
    const noor = await closedBrowser('noor');
    const callId = randomUUID();
    // No socket of Noor's is connected, yet the call rings (it would end "unavailable" without push).
    expect(await dana.emit('call.invite', { callId, toUserId: ids.noor, kind: 'video' })).toEqual({ ok: true });
    const ring = await push.next(forEndpoint(noor.sub, 'call.ringing'));
    expect(ring.payload).toEqual({ type: 'call.ringing', callId, fromName: 'Dana Doctor', kind: 'video', expiresAt: expect.any(Number) });
    expect((ring.payload as any).expiresAt - Date.now()).toBeGreaterThan(0);
    expect(ring.ttl).toBeGreaterThanOrEqual(RING_S - 1);
    expect(ring.ttl).toBeLessThanOrEqual(RING_S);
    expect(ring.urgency).toBe('high');
    expect(ring.topic).toBe(callId.replaceAll('-', ''));
    expect(ring.contentEncoding).toBe('aes128gcm');
    const publicKey = (await s.request('GET', '/api/push/config', { cookie: noor.cookie })).body.publicKey;
    expect(ring.vapid).toMatchObject({ aud: push.url, publicKey, sub: expect.stringMatching(/^mailto:|^https:/) });

    expect(await dana.emit('call.cancel', { callId, reason: 'cancelled' })).toEqual({ ok: true });
    const closed = await push.next(forEndpoint(noor.sub, 'call.closed'));
    expect(closed.payload).toEqual({ type: 'call.closed', callId, fromName: 'Dana Doctor', kind: 'video', missed: true });
    expect(closed.topic).toBe(ring.topic);
    expect(closed.urgency).toBe('high');
    // A missed call is news for a day; the ringing push itself was only worth the ring timeout.
    expect(closed.ttl).toBeGreaterThan(ring.ttl);
  });

  it('pushes only to sessions with no live socket, and a device that connects while it rings gets the invite', async () => {
    const dana = await caller('dana');
    const open = await closedBrowser('noor');
    const closed = await closedBrowser('noor');
    const openSocket = await s.connect(open.cookie, { deviceId: 'noor-open' });
    const callId = randomUUID();
    const invitedOpen = nextEvent(openSocket, 'call.invite');
    expect(await dana.emit('call.invite', { callId, toUserId: ids.noor, kind: 'audio' })).toEqual({ ok: true });
    await invitedOpen;
    await push.next(forEndpoint(closed.sub, 'call.ringing'));

    // The closed browser is woken by the push: its page connects and is rung like any device.
    const woken: TestSocket = ioClient(s.url, { transports: ['websocket'], extraHeaders: { cookie: closed.cookie, origin: s.url }, auth: { deviceId: 'noor-woken' }, reconnection: false, forceNew: true });
    // Listening before it connects, as the app does: the invite comes with the connection.
    const invite = await nextEvent(woken, 'call.invite');
    expect(invite).toEqual({ callId, fromUserId: ids.dana, fromDeviceId: dana.deviceId, kind: 'audio', fromName: 'Dana Doctor' });
    const accepted = nextEvent(dana.socket, 'call.accept');
    const elsewhere = nextEvent(openSocket, 'call.answered_elsewhere');
    expect(await (woken.emitWithAck as any)('call.accept', { deviceId: 'noor-woken', callId })).toEqual({ ok: true });
    expect(await accepted).toMatchObject({ callId, fromDeviceId: 'noor-woken' });
    await elsewhere;
    // Answered: the notification closes, and it was not missed.
    expect((await push.next(forEndpoint(closed.sub, 'call.closed'))).payload).toMatchObject({ callId, missed: false });
    await s.push.settled();
    expect(push.all(open.sub.endpoint)).toEqual([]);
    // A ringing push that reaches another of Noor's browsers late asks: answered, so not missed,
    // during the call and after it.
    const status = async (cookie: string) => (await s.request('GET', `/api/calls/${callId}/ringing`, { cookie })).body;
    expect(await status(open.cookie)).toEqual({ ringing: false, missed: false });
    // Ended: its history entry (sent to both people once stored) is what the answer now comes from.
    const entry = nextEvent(dana.socket, 'message.new');
    await dana.emit('call.hangup', { callId, reason: 'user_hangup' });
    expect((await entry).message).toMatchObject({ id: callId, kind: 'call' });
    expect(await status(open.cookie)).toEqual({ ringing: false, missed: false });
    // Only the callee learns how it ended: to anyone else the call is unknown, which reads as missed.
    expect(await status(dana.cookie)).toEqual({ ringing: false, missed: true });
    expect(await status(await s.login(who.alex))).toEqual({ ringing: false, missed: true });
    woken.disconnect();
    openSocket.disconnect();
  });

  it('declines from the notification over REST, as a device would, and times out into a missed call', async () => {
    const dana = await caller('dana');
    const noor = await closedBrowser('noor');
    const callId = randomUUID();
    expect(await dana.emit('call.invite', { callId, toUserId: ids.noor, kind: 'audio' })).toEqual({ ok: true });
    await push.next(forEndpoint(noor.sub, 'call.ringing'));
    expect((await s.request('GET', `/api/calls/${callId}/ringing`, { cookie: noor.cookie })).body).toEqual({ ringing: true, missed: false });
    // Writes from another site are refused, like every other write.
    expect((await s.request('POST', `/api/calls/${callId}/decline`, { cookie: noor.cookie, headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect((await s.request('POST', `/api/calls/${callId}/decline`)).status).toBe(401);
    // Only the callee declines.
    const other = await s.login(who.alex);
    expect((await s.request('POST', `/api/calls/${callId}/decline`, { cookie: other })).status).toBe(403);

    const rejected = nextEvent(dana.socket, 'call.reject');
    expect((await s.request('POST', `/api/calls/${callId}/decline`, { cookie: noor.cookie, headers: { origin: s.url } })).status).toBe(204);
    expect(await rejected).toMatchObject({ callId, fromUserId: ids.noor, reason: 'declined' });
    expect((await push.next(forEndpoint(noor.sub, 'call.closed'))).payload).toMatchObject({ callId, missed: false });
    // Declined: over, and not a missed call.
    expect((await s.request('GET', `/api/calls/${callId}/ringing`, { cookie: noor.cookie })).body).toEqual({ ringing: false, missed: false });
    expect((await s.request('POST', `/api/calls/${callId}/decline`, { cookie: noor.cookie })).status).toBe(404);

    const late = randomUUID();
    const ended = nextEvent(dana.socket, 'call.ended', (RING_S + 3) * 1000);
    expect(await dana.emit('call.invite', { callId: late, toUserId: ids.noor, kind: 'video' })).toEqual({ ok: true });
    expect(await ended).toEqual({ callId: late, reason: 'no_answer' });
    expect((await push.next(forEndpoint(noor.sub, 'call.closed'))).payload).toMatchObject({ callId: late, missed: true });
    expect((await s.request('GET', `/api/calls/${late}/ringing`, { cookie: noor.cookie })).body).toEqual({ ringing: false, missed: true });
  }, 20_000);

  it.each([410, 404])('removes a subscription the push service says is gone (%i), and then the callee is unavailable', async (status) => {
    const dana = await caller('dana');
    // Only this browser of Alex's is subscribed.
    const alex = await closedBrowser('alex');
    push.respondWith(alex.sub.endpoint, status);
    const callId = randomUUID();
    expect(await dana.emit('call.invite', { callId, toUserId: ids.alex, kind: 'audio' })).toEqual({ ok: true });
    await push.next(forEndpoint(alex.sub, 'call.ringing'));
    await dana.emit('call.cancel', { callId, reason: 'cancelled' });
    await s.push.settled();
    expect((await s.request('GET', '/api/push/config', { cookie: alex.cookie })).body.subscribed).toBe(false);
    const next = randomUUID();
    const ended = nextEvent(dana.socket, 'call.ended');
    expect(await dana.emit('call.invite', { callId: next, toUserId: ids.alex, kind: 'audio' })).toEqual({ ok: true });
    expect(await ended).toEqual({ callId: next, reason: 'unavailable' });
  });

  it('notifies a new message without its text, collapsed per conversation', async () => {
    const dana = await caller('dana');
    const noor = await closedBrowser('noor');
    const conversationId = (await s.request('POST', '/api/conversations', { cookie: await s.login(who.dana), body: { userId: ids.noor } })).body.conversation.id;
    const ack = await dana.socket.emitWithAck('message.send', { id: randomUUID(), conversationId, body: 'Bed 4: potassium 6.1' } as never);
    expect(ack).toMatchObject({ ok: true });
    const msg = await push.next(forEndpoint(noor.sub, 'message.new'));
    expect(msg.payload).toEqual({ type: 'message.new', conversationId, fromName: 'Dana Doctor' });
    expect(msg.body.toString('latin1')).not.toContain('potassium');
    expect(msg.topic).toBe(conversationId.replaceAll('-', ''));
    expect(msg.urgency).toBe('normal');
  });

  it('stores subscriptions per session: sign-out and deactivation remove them; bad endpoints are refused', async () => {
    const a = await closedBrowser('noor');
    const b = await closedBrowser('noor');
    expect((await s.request('POST', '/api/auth/logout', { cookie: a.cookie })).status).toBe(204);
    const left = await s.ctx.db.selectFrom('push_subscriptions').select('endpoint').where('user_id', '=', ids.noor).execute();
    expect(left.map((r) => r.endpoint)).toContain(b.sub.endpoint);
    expect(left.map((r) => r.endpoint)).not.toContain(a.sub.endpoint);

    // The browser unsubscribes itself.
    expect((await s.request('DELETE', '/api/push/subscriptions', { cookie: b.cookie, body: { endpoint: b.sub.endpoint } })).status).toBe(204);
    expect((await s.request('GET', '/api/push/config', { cookie: b.cookie })).body.subscribed).toBe(false);

    const bad = (endpoint: string) => s.request('POST', '/api/push/subscriptions', { cookie: b.cookie, body: { endpoint, keys: push.subscribe().keys } });
    expect((await bad('http://push.example/abc')).status).toBe(400);
    expect((await bad('not a url')).status).toBe(400);
    expect((await s.request('POST', '/api/push/subscriptions', { cookie: b.cookie, body: { endpoint: 'https://push.example/a', keys: { p256dh: 'x y', auth: 'z' } } })).status).toBe(400);

    // Deactivation signs every session out, and their subscriptions go with them.
    const admin = await s.login(who.alex);
    const c = await closedBrowser('noor');
    expect((await s.request('PATCH', `/api/admin/users/${ids.noor}`, { cookie: admin, body: { active: false } })).status).toBe(200);
    expect(await s.ctx.db.selectFrom('push_subscriptions').select('endpoint').where('endpoint', '=', c.sub.endpoint).execute()).toEqual([]);
    expect((await s.request('PATCH', `/api/admin/users/${ids.noor}`, { cookie: admin, body: { active: true } })).status).toBe(200);
  });
});

describe('push endpoints', () => {
  it('refuses loopback and private endpoints unless PUSH_ALLOW_LOCAL_ENDPOINTS=1', async () => {
    const s = await startTestServer();
    try {
      const cookie = await s.login(who.noor);
      const keys = { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' };
      for (const endpoint of ['https://127.0.0.1:9/x', 'https://localhost/x', 'https://[::1]/x', 'https://10.1.2.3/x', 'https://192.168.1.1/x']) {
        const res = await s.request('POST', '/api/push/subscriptions', { cookie, body: { endpoint, keys } });
        expect(res.status, endpoint).toBe(400);
      }
      expect((await s.request('POST', '/api/push/subscriptions', { cookie, body: { endpoint: 'https://push.example.org/x', keys } })).status).toBe(204);

      // A name, not an address, that resolves to this machine: this machine's own name does
      // (/etc/hosts; in a container, its private address).
      const own = (await dns.lookup(os.hostname(), { all: true })).map((a) => a.address);
      expect(own.every((a) => /^(127\.|10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.|::1$|f[cd])/.test(a)), `${os.hostname()} → ${own.join(', ')}`).toBe(true);
      const res = await s.request('POST', '/api/push/subscriptions', { cookie, body: { endpoint: `https://${os.hostname()}/x`, keys } });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/cannot resolve to a loopback or private address/);
    } finally {
      await s.close();
    }
  });

  it('refuses at sending time too: a stored endpoint whose name now points inside is never posted to', async () => {
    const push = await LocalPushService.start();
    const deliver = async (env: Record<string, string>) => {
      const s = await startTestServer({ env: { CALL_RING_TIMEOUT_S: '5', ...env }, app: { pushCa: push.ca } });
      try {
        const noor = await s.login(who.noor);
        const noorId = (await s.request('GET', '/api/me', { cookie: noor })).body.user.id as string;
        const session = await s.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', noorId).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
        // Stored as it would have been while `localhost` still named a public address (DNS changes).
        const sub = push.subscribe({ host: 'localhost' });
        await s.push.store.save(session.id, noorId, sub);
        const dana = await s.connect(await s.login(who.dana), { deviceId: 'dana-1' });
        const callId = randomUUID();
        const dial = (e: string, p: object) => (dana.emitWithAck as (e: string, p: unknown) => Promise<unknown>)(e, { deviceId: 'dana-1', callId, ...p });
        expect(await dial('call.invite', { toUserId: noorId, kind: 'audio' })).toEqual({ ok: true });
        await dial('call.cancel', { reason: 'cancelled' });
        await s.push.settled();
        return push.all(sub.endpoint).map((r) => (r.payload as { type: string }).type);
      } finally {
        await s.close();
      }
    };
    try {
      // The same set-up reaches the push service when local endpoints are allowed…
      expect(await deliver({ PUSH_ALLOW_LOCAL_ENDPOINTS: '1' })).toEqual(['call.ringing', 'call.closed']);
      // …and, by default, the connection's own DNS answer stops it.
      expect(await deliver({})).toEqual([]);
      expect(push.errors).toEqual([]);
    } finally {
      await push.close();
    }
  });
});

describe('PUSH_PREVIEWS=1', () => {
  it('puts the message text in the notification', async () => {
    const push = await LocalPushService.start();
    const s = await startTestServer({ env: { PUSH_PREVIEWS: '1', PUSH_ALLOW_LOCAL_ENDPOINTS: '1' }, app: { pushCa: push.ca } });
    try {
      const noor = await s.login(who.noor);
      const noorId = (await s.request('GET', '/api/me', { cookie: noor })).body.user.id;
      const sub = push.subscribe();
      expect((await s.request('POST', '/api/push/subscriptions', { cookie: noor, body: sub })).status).toBe(204);
      const dana = await s.login(who.dana);
      const conversationId = (await s.request('POST', '/api/conversations', { cookie: dana, body: { userId: noorId } })).body.conversation.id;
      const socket = await s.connect(dana);
      await socket.emitWithAck('message.send', { id: randomUUID(), conversationId, body: 'Lunch at one?' } as never);
      expect((await push.next((r) => r.endpoint === sub.endpoint)).payload).toEqual({ type: 'message.new', conversationId, fromName: 'Dana Doctor', preview: 'Lunch at one?' });
      expect(push.errors).toEqual([]);
    } finally {
      await s.close();
      await push.close();
    }
  });
});
