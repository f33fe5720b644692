import { LIMITS } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer } from '../../testing/harness.ts';

describe('people search and the admin API', () => {
  let s: TestServer;
  let admin: string;
  let doctor: string;
  beforeAll(async () => {
    s = await startTestServer();
    admin = await s.login('admin@example.com');
    doctor = await s.login('doctor@example.com');
  });
  afterAll(async () => s?.close());

  it('finds people by name, email or role, never yourself, with presence', async () => {
    const byName = await s.request('GET', '/api/users?q=noor', { cookie: doctor });
    expect(byName.body.users.map((u: { name: string }) => u.name)).toEqual(['Noor Nurse']);
    const byRole = await s.request('GET', '/api/users?q=admin', { cookie: doctor });
    expect(byRole.body.users).toEqual([expect.objectContaining({ name: 'Alex Admin', role: 'admin', online: false })]);
    const all = await s.request('GET', '/api/users', { cookie: doctor });
    expect(all.body.users.map((u: { name: string }) => u.name)).toEqual(['Alex Admin', 'Noor Nurse']);
    const sock = await s.connect(admin);
    const online = await s.request('GET', '/api/users?q=alex', { cookie: doctor });
    expect(online.body.users[0].online).toBe(true);
    sock.disconnect();
    expect((await s.request('GET', `/api/users?q=${'x'.repeat(LIMITS.searchQueryMax + 1)}`, { cookie: doctor })).status).toBe(400);
    expect((await s.request('GET', '/api/users?q=a&extra=1', { cookie: doctor })).status).toBe(400);
  });

  it('lets only admins reach the admin API', async () => {
    expect((await s.request('GET', '/api/admin/users', { cookie: doctor })).status).toBe(403);
    const r = await s.request('POST', '/api/admin/users', { cookie: doctor, body: { name: 'Eve', email: 'eve@example.com', role: 'admin', password: 'password1' } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
    expect((await s.request('GET', '/api/admin/users', { cookie: admin })).body.users).toHaveLength(3);
  });

  it('creates a user who can then sign in, and refuses bad or duplicate input', async () => {
    const body = { name: 'Sam Nurse', email: 'sam@example.com', role: 'nurse', password: 'sam-initial-pw' };
    const created = await s.request('POST', '/api/admin/users', { cookie: admin, body });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ name: 'Sam Nurse', role: 'nurse', active: true });
    expect((await s.request('POST', '/api/admin/users', { cookie: admin, body })).status).toBe(409);
    await s.login('sam@example.com', 'sam-initial-pw');
    const bad = [
      { ...body, email: 'not-an-email' },
      { ...body, email: 'x@example.com', role: 'surgeon' },
      { ...body, email: 'y@example.com', password: 'short' },
      { ...body, email: 'z@example.com', name: '' },
      { ...body, email: 'w@example.com', isAdmin: true },
    ];
    for (const b of bad) {
      const r = await s.request('POST', '/api/admin/users', { cookie: admin, body: b });
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(Object.keys(r.body.error.fields).length).toBeGreaterThan(0);
    }
    expect((await s.request('GET', '/api/admin/users', { cookie: admin })).body.users).toHaveLength(4);
  });

  it('changes a role, resets a password (signing that person out), and deactivates (disconnecting them)', async () => {
    const list = (await s.request('GET', '/api/admin/users', { cookie: admin })).body.users as { id: string; email: string }[];
    const sam = list.find((u) => u.email === 'sam@example.com')!;
    const r = await s.request('PATCH', `/api/admin/users/${sam.id}`, { cookie: admin, body: { role: 'doctor' } });
    expect(r.body.user.role).toBe('doctor');

    const samCookie = await s.login('sam@example.com', 'sam-initial-pw');
    expect((await s.request('POST', `/api/admin/users/${sam.id}/password`, { cookie: admin, body: { password: 'brand-new-pw' } })).status).toBe(204);
    expect((await s.request('GET', '/api/me', { cookie: samCookie })).status).toBe(401);
    expect((await s.request('POST', '/api/auth/login', { body: { email: 'sam@example.com', password: 'sam-initial-pw' } })).status).toBe(401);
    const samAgain = await s.login('sam@example.com', 'brand-new-pw');

    const socket = await s.connect(samAgain);
    const ended = nextEvent(socket, 'session.ended');
    const off = await s.request('PATCH', `/api/admin/users/${sam.id}`, { cookie: admin, body: { active: false } });
    expect(off.body.user.active).toBe(false);
    expect(await ended).toEqual({ reason: 'deactivated' });
    expect((await s.request('GET', '/api/me', { cookie: samAgain })).status).toBe(401);
    const login = await s.request('POST', '/api/auth/login', { body: { email: 'sam@example.com', password: 'brand-new-pw' } });
    expect(login.status).toBe(403);
    expect(login.body.error.message).toMatch(/deactivated/);
    // Nobody finds a deactivated person, and nobody can open a conversation with them.
    expect((await s.request('GET', '/api/users?q=sam', { cookie: doctor })).body.users).toEqual([]);
    const open = await s.request('POST', '/api/conversations', { cookie: doctor, body: { userId: sam.id } });
    expect(open.status).toBe(403);
    expect(open.body.error.code).toBe('recipient_inactive');
  });

  it('keeps an admin from locking themself out, and reports unknown users', async () => {
    const me = (await s.request('GET', '/api/me', { cookie: admin })).body.user;
    expect((await s.request('PATCH', `/api/admin/users/${me.id}`, { cookie: admin, body: { active: false } })).status).toBe(403);
    expect((await s.request('PATCH', `/api/admin/users/${me.id}`, { cookie: admin, body: { role: 'nurse' } })).status).toBe(403);
    const ghost = '00000000-0000-4000-8000-000000000000';
    expect((await s.request('PATCH', `/api/admin/users/${ghost}`, { cookie: admin, body: { role: 'nurse' } })).status).toBe(404);
    expect((await s.request('PATCH', `/api/admin/users/not-a-uuid`, { cookie: admin, body: { role: 'nurse' } })).status).toBe(400);
    expect((await s.request('PATCH', `/api/admin/users/${ghost}`, { cookie: admin, body: {} })).status).toBe(400);
  });
});
