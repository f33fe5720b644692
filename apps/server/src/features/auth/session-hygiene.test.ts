import { afterEach, describe, expect, it } from 'vitest';
import { startRedis } from '../../testing/redis.ts';
import { DB_KINDS, nextEvent, startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';

/** Issue #10, session hygiene: rotation at sign-in, sign out everywhere, idle expiry. */
const MINUTE = 60_000;
const IDLE_MINUTES = 15;

const cookieOf = (setCookie: string | null) => (setCookie ?? '').split(';')[0]!;

/** Resolves once `socket` is disconnected (or already is). */
const disconnected = (socket: TestSocket, ms = 3000) =>
  new Promise<string>((resolve, reject) => {
    if (socket.disconnected) return resolve('already');
    const t = setTimeout(() => reject(new Error(`still connected after ${ms} ms`)), ms);
    socket.once('disconnect', (reason) => (clearTimeout(t), resolve(reason)));
  });

describe.each(DB_KINDS)('session hygiene on %s', (kind) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  const signIn = async (server: TestServer, email: string, cookie?: string) => {
    const r = await server.request('POST', '/api/auth/login', { body: { email, password: 'parley-demo-pass' }, ...(cookie ? { cookie } : {}) });
    expect(r.status).toBe(200);
    return cookieOf(r.headers.get('set-cookie'));
  };
  const meStatus = async (server: TestServer, cookie: string) => (await server.request('GET', '/api/me', { cookie })).status;

  it('rotates the session at sign-in: a cookie presented before is never the one after, and stops working', async () => {
    s = await startTestServer({ kind });
    // A value an attacker planted in the browser (session fixation): it never becomes a session.
    const planted = 'parley_session=planted-by-someone-else-0123456789abcdefghijklmnop';
    const first = await signIn(s, 'doctor@example.com', planted);
    expect(first).not.toBe(planted);
    expect(await meStatus(s, planted)).toBe(401);
    // The same browser signs in again (or someone else does on a shared computer): the old session ends, its socket too.
    const socket = await s.connect(first);
    const ended = nextEvent(socket, 'session.ended');
    const second = await signIn(s, 'nurse@example.com', first);
    expect(second).not.toBe(first);
    expect(await ended).toEqual({ reason: 'signed_out' });
    await disconnected(socket);
    expect(await meStatus(s, first)).toBe(401);
    expect((await s.request('GET', '/api/me', { cookie: second })).body.user.email).toBe('nurse@example.com');
    // A wrong password presenting a live cookie ends nothing.
    const wrong = await s.request('POST', '/api/auth/login', { body: { email: 'doctor@example.com', password: 'not-the-password' }, cookie: second });
    expect(wrong.status).toBe(401);
    expect(await meStatus(s, second)).toBe(200);
  });

  it('signs out everywhere: every session and socket of the person ends, nobody else’s', async () => {
    s = await startTestServer({ kind });
    const devices = [await s.login('doctor@example.com'), await s.login('doctor@example.com'), await s.login('doctor@example.com')];
    const sockets = await Promise.all(devices.map((c, i) => s!.connect(c, { deviceId: `device-${i}` })));
    const nurse = await s.login('nurse@example.com');
    const nurseSocket = await s.connect(nurse);
    const ended = sockets.map((socket) => nextEvent(socket, 'session.ended'));

    const r = await s.request('POST', '/api/auth/logout-everywhere', { cookie: devices[1]! });
    expect(r.status).toBe(204);
    expect(r.headers.get('set-cookie')).toMatch(/^parley_session=;/);
    expect(await Promise.all(ended)).toEqual([{ reason: 'signed_out' }, { reason: 'signed_out' }, { reason: 'signed_out' }]);
    await Promise.all(sockets.map((socket) => disconnected(socket)));
    for (const c of devices) expect(await meStatus(s, c)).toBe(401);
    const rows = await s.ctx.db.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id').select('users.email').execute();
    expect(rows.map((x) => x.email)).toEqual(['nurse@example.com']);
    // A socket with an ended session's cookie is refused.
    await expect(s.connect(devices[0]!)).rejects.toThrow(/unauthenticated/);
    expect(nurseSocket.connected).toBe(true);
    expect(await meStatus(s, nurse)).toBe(200);
    // Without a session there is nothing to end.
    expect((await s.request('POST', '/api/auth/logout-everywhere')).status).toBe(401);
  });

  it('SESSION_IDLE_MINUTES is off by default: a session unused for 13 days still works', async () => {
    s = await startTestServer({ kind, fakeClock: true });
    const cookie = await s.login('doctor@example.com');
    s.clock!.advance(13 * 24 * 60 * MINUTE);
    expect(await meStatus(s, cookie)).toBe(200);
  });

  it('slides with each request, writes the last use at most about once a minute, and answers 401 once idle', async () => {
    s = await startTestServer({ kind, fakeClock: true, env: { SESSION_IDLE_MINUTES: String(IDLE_MINUTES) } });
    const cookie = await s.login('doctor@example.com');
    const lastSeen = async () => (await s!.ctx.db.selectFrom('sessions').select('last_seen_at').executeTakeFirstOrThrow()).last_seen_at;
    // 120 requests over two minutes: the stored last use changes a few times, not 120.
    const seen = new Set<number>([await lastSeen()]);
    for (let i = 0; i < 120; i++) {
      s.clock!.advance(1000);
      expect(await meStatus(s, cookie)).toBe(200);
      seen.add(await lastSeen());
    }
    expect(seen.size - 1).toBeGreaterThanOrEqual(1);
    expect(seen.size - 1).toBeLessThanOrEqual(3);
    // Sliding: used every (IDLE − 1) minutes, it outlives several idle periods.
    for (let i = 0; i < 4; i++) {
      s.clock!.advance((IDLE_MINUTES - 1) * MINUTE);
      expect(await meStatus(s, cookie)).toBe(200);
    }
    // Unused for the idle limit (plus the minute the last use may be written late): 401, and no socket either.
    s.clock!.advance((IDLE_MINUTES + 1) * MINUTE);
    expect(await meStatus(s, cookie)).toBe(401);
    await expect(s.connect(cookie)).rejects.toThrow(/unauthenticated/);
  });

  it('socket events count as use; once idle, the session’s sockets get session.ended "expired" no earlier than the limit', async () => {
    // The fake clock does not move the rate limiters' time: 40 minutes of events pass in a second.
    s = await startTestServer({ kind, fakeClock: true, env: { SESSION_IDLE_MINUTES: String(IDLE_MINUTES), RATE_LIMIT_CHAT: '100000/100000' } });
    const cookie = await s.login('doctor@example.com');
    const socket = await s.connect(cookie);
    const other = await s.login('nurse@example.com');
    const otherSocket = await s.connect(other);
    const follow = { userIds: [(await s.request('GET', '/api/me', { cookie: other })).body.user.id as string] };
    // 40 minutes of chatting over the socket only, an event a minute: still signed in.
    for (let i = 0; i < 40; i++) {
      s.clock!.advance(MINUTE);
      await socket.emitWithAck('presence.subscribe', follow);
      await otherSocket.emitWithAck('presence.subscribe', follow);
    }
    expect(await meStatus(s, cookie)).toBe(200); // a use at minute 40
    const lastUse = s.clock!.now();
    let endedAt: number | undefined;
    socket.once('session.ended', (e) => {
      expect(e).toEqual({ reason: 'expired' });
      endedAt = s!.clock!.now();
    });
    // Idle from here; the nurse keeps going. Step a minute at a time so the sweep runs as it would.
    for (let i = 0; i < 3 * IDLE_MINUTES && endedAt === undefined; i++) {
      s.clock!.advance(MINUTE);
      await otherSocket.emitWithAck('presence.subscribe', follow);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(endedAt, 'the idle session was never ended').toBeDefined();
    const idleMinutes = (endedAt! - lastUse) / MINUTE;
    expect(idleMinutes).toBeGreaterThanOrEqual(IDLE_MINUTES);
    expect(idleMinutes).toBeLessThanOrEqual(IDLE_MINUTES + 2);
    await disconnected(socket);
    expect(await meStatus(s, cookie)).toBe(401);
    expect(otherSocket.connected).toBe(true);
    expect(await meStatus(s, other)).toBe(200);
  });
});

describe('sign out everywhere across nodes', () => {
  it('ends the person’s sockets on the other node too (the user’s room goes through the Redis adapter)', async () => {
    const redis = await startRedis();
    const a = await startTestServer({ kind: 'postgres', env: { REDIS_URL: redis.url } });
    const b = await startTestServer({ database: a.ctx.config.database, env: { REDIS_URL: redis.url } });
    try {
      const onA = await a.login('doctor@example.com');
      const onB = await b.login('doctor@example.com');
      const nurse = await b.login('nurse@example.com');
      const socketB = await b.connect(onB);
      const socketA = await a.connect(onA);
      const nurseB = await b.connect(nurse);
      const ended = [nextEvent(socketA, 'session.ended'), nextEvent(socketB, 'session.ended', 5000)];
      expect((await a.request('POST', '/api/auth/logout-everywhere', { cookie: onA })).status).toBe(204);
      expect(await Promise.all(ended)).toEqual([{ reason: 'signed_out' }, { reason: 'signed_out' }]);
      await Promise.all([disconnected(socketA), disconnected(socketB, 5000)]);
      expect((await b.request('GET', '/api/me', { cookie: onB })).status).toBe(401);
      expect(nurseB.connected).toBe(true);
    } finally {
      await b.close();
      await a.close();
      await redis.stop();
    }
  });
});
