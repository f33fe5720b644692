import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../testing/harness.ts';

describe('sign-in, sessions and cookies', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  it('signs in with email and password and sets an HttpOnly, SameSite=Lax session cookie', async () => {
    const res = await s.request('POST', '/api/auth/login', { body: { email: ' Doctor@Example.com ', password: 'parley-demo-pass' } });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ name: 'Dana Doctor', email: 'doctor@example.com', role: 'doctor' });
    expect(res.body.user.password_hash).toBeUndefined();
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^parley_session=[\w-]{40,};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // plain http in this test; https sets Secure
    const me = await s.request('GET', '/api/me', { cookie: cookie.split(';')[0] });
    expect(me.body.user.email).toBe('doctor@example.com');
  });

  it('answers a wrong password and an unknown account the same way', async () => {
    const wrong = await s.request('POST', '/api/auth/login', { body: { email: 'nurse@example.com', password: 'nope' } });
    const unknown = await s.request('POST', '/api/auth/login', { body: { email: 'ghost@example.com', password: 'nope' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.code).toBe('unauthenticated');
  });

  it('rejects malformed sign-in bodies with 400 and the field', async () => {
    for (const body of [{ email: 5, password: 'x' }, { email: 'a@b.co' }, { email: 'a@b.co', password: 'x', admin: true }, [], 'x']) {
      const r = await s.request('POST', '/api/auth/login', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('bad_request');
    }
    const bad = await s.request('POST', '/api/auth/login', { raw: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
  });

  it('refuses requests without a session with 401', async () => {
    for (const [m, p] of [['GET', '/api/me'], ['GET', '/api/users?q=a'], ['GET', '/api/conversations'], ['POST', '/api/auth/logout']] as const) {
      const r = await s.request(m, p, { cookie: 'parley_session=forged-token' });
      expect(r.status, p).toBe(401);
      expect(r.body.error.code).toBe('unauthenticated');
    }
  });

  it('signs out: the cookie stops working and the sockets of that session are disconnected', async () => {
    const cookie = await s.login('nurse@example.com');
    const other = await s.login('nurse@example.com'); // another device, another session
    const socket = await s.connect(cookie);
    const otherSocket = await s.connect(other);
    const ended = new Promise((r) => socket.once('session.ended', r));
    const gone = new Promise((r) => socket.once('disconnect', r));
    expect((await s.request('POST', '/api/auth/logout', { cookie })).status).toBe(204);
    expect(await ended).toEqual({ reason: 'signed_out' });
    await gone;
    expect((await s.request('GET', '/api/me', { cookie })).status).toBe(401);
    expect((await s.request('GET', '/api/me', { cookie: other })).status).toBe(200);
    expect(otherSocket.connected).toBe(true);
  });

  it('throttles repeated failures per account and address, without locking out another account', async () => {
    const attempt = (email: string, password: string) => s.request('POST', '/api/auth/login', { body: { email, password } });
    for (let i = 0; i < 5; i++) expect((await attempt('victim@example.com', `guess${i}`)).status).toBe(401);
    const blocked = await attempt('victim@example.com', 'guess5');
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    // The throttle is per account at this address: another account signs in fine.
    expect((await attempt('admin@example.com', 'parley-demo-pass')).status).toBe(200);
  });

  it('refuses cross-origin writes', async () => {
    const r = await s.request('POST', '/api/auth/login', { body: { email: 'admin@example.com', password: 'parley-demo-pass' }, headers: { origin: 'https://evil.example' } });
    expect(r.status).toBe(403);
    const same = await s.request('POST', '/api/auth/login', { body: { email: 'admin@example.com', password: 'parley-demo-pass' }, headers: { origin: s.url } });
    expect(same.status).toBe(200);
  });

  it('reports health and unknown routes as JSON', async () => {
    expect(await s.request('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await s.request('GET', '/api/nope')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('answers 503 on /healthz when the database is gone, and keeps serving', async () => {
    const other = await startTestServer();
    try {
      await other.ctx.db.destroy();
      expect(await other.request('GET', '/healthz')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
      const login = await other.request('POST', '/api/auth/login', { body: { email: 'admin@example.com', password: 'parley-demo-pass' } });
      expect(login).toMatchObject({ status: 500, body: { error: { code: 'internal' } } });
      expect((await other.request('GET', '/healthz')).status).toBe(503);
    } finally {
      await other.close().catch(() => undefined);
    }
  });
});
