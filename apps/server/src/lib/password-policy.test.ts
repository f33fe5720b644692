import { describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../features/users/demo-users.ts';
import { startTestServer } from '../testing/harness.ts';
import { dictionary } from '@zxcvbn-ts/language-common';
import { isCommonPassword, passwordProblem } from './password-policy.ts';

describe('password policy (issue #10, defect 7)', () => {
  it.each([
    ['password', /at least 12/],
    ['        ', /at least 12/],
    ['\0\0\0\0\0\0\0\0', /at least 12/],
    [' '.repeat(12), /not only spaces or control/],
    ['\0'.repeat(12), /not only spaces or control/],
    ['\t\n\u00a0\u2003'.repeat(3), /not only spaces or control/],
    ['aaaaaaaaaaaa', /same few characters/],
    ['password1234', /most common/],
    ['Password1234!', /most common/],
    ['qwertyuiop123', /most common/],
    ['x'.repeat(201), /at most 200/],
  ])('refuses %j', (pw, why) => {
    expect(passwordProblem(pw)).toMatch(why);
  });

  it('finds every password of the package\'s list in the compact table, lower-cased, and nothing beside them', () => {
    const list = dictionary['passwords-common'];
    expect(list.length).toBeGreaterThan(40_000);
    const missing = list.filter((p) => !isCommonPassword(p.toLowerCase()));
    expect(missing).toEqual([]);
    const listed = new Set(list.map((p) => p.toLowerCase()));
    // Neighbours of listed words (one character more or less) that the list does not hold.
    const near = list.slice(0, 2000).flatMap((p) => [`${p.toLowerCase()}~`, p.toLowerCase().slice(0, -1)]).filter((p) => p && !listed.has(p));
    expect(near.length).toBeGreaterThan(500);
    expect(near.filter((p) => isCommonPassword(p))).toEqual([]);
    expect(isCommonPassword('')).toBe(false);
  });

  it.each([[DEMO_PASSWORD], ['correct horse battery staple'], ['Ünïcödé pässwörd 7']])('accepts %j', (pw) => {
    expect(passwordProblem(pw)).toBeUndefined();
  });

  it('refuses weak passwords with a clear message when an admin creates or resets, and when a person changes theirs', async () => {
    const s = await startTestServer();
    try {
      const admin = await s.login('admin@example.com');
      const create = (password: string) => s.request('POST', '/api/admin/users', { cookie: admin, body: { name: 'Weak', email: 'weak@example.com', role: 'nurse', password } });
      for (const pw of ['password', ' '.repeat(8), '\0'.repeat(8), 'password1234']) {
        const r = await create(pw);
        expect(r.status, JSON.stringify(pw)).toBe(400);
        expect(r.body.error.code).toBe('bad_request');
        expect(r.body.error.fields.password).toMatch(/at least 12|spaces or control|most common/);
        expect(r.body.error.message).toMatch(/^Invalid user: password: /);
      }
      const created = await create('a sound passphrase 42');
      expect(created.status).toBe(201);
      const id = created.body.user.id;
      const reset = await s.request('POST', `/api/admin/users/${id}/password`, { cookie: admin, body: { password: 'password1234' } });
      expect(reset).toMatchObject({ status: 400, body: { error: { code: 'bad_request', fields: { password: expect.stringMatching(/most common/) } } } });
      const me = await s.login('weak@example.com', 'a sound passphrase 42');
      const change = (currentPassword: string, newPassword: string) => s.request('POST', '/api/auth/password', { cookie: me, body: { currentPassword, newPassword } });
      expect((await change('a sound passphrase 42', 'iloveyou')).body.error.fields.newPassword).toMatch(/at least 12/);
      expect((await change('not my password!!', 'another sound phrase')).status).toBe(401);
      expect((await change('a sound passphrase 42', 'another sound phrase')).status).toBe(204);
      expect((await s.request('GET', '/api/me', { cookie: me })).status).toBe(200); // this device stays signed in
      await s.login('weak@example.com', 'another sound phrase');
    } finally {
      await s.close();
    }
  });
});

describe('the first admin in production (issue #10, defect 7)', () => {
  it('comes from PARLEY_ADMIN_EMAIL / PARLEY_ADMIN_PASSWORD, whose password must pass the policy', async () => {
    const { ConfigError, loadConfig } = await import('../env.ts');
    expect(() => loadConfig({ PARLEY_ADMIN_EMAIL: 'it@clinic.example', PARLEY_ADMIN_PASSWORD: 'password1234' })).toThrow(ConfigError);
    expect(() => loadConfig({ PARLEY_ADMIN_EMAIL: 'it@clinic.example', PARLEY_ADMIN_PASSWORD: 'password1234' })).toThrow(/PARLEY_ADMIN_PASSWORD: is one of the most common/);
    expect(() => loadConfig({ PARLEY_ADMIN_EMAIL: 'it@clinic.example' })).toThrow(/PARLEY_ADMIN_PASSWORD: PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD go together/);
    expect(loadConfig({ NODE_ENV: 'production', PARLEY_DEMO_USERS: '1' }).demoUsers).toBe(false);
    const s = await startTestServer({ env: { PARLEY_ADMIN_EMAIL: 'IT@clinic.example', PARLEY_ADMIN_PASSWORD: 'a long clinic passphrase' } });
    try {
      const admin = await s.login('it@clinic.example', 'a long clinic passphrase');
      expect((await s.request('GET', '/api/me', { cookie: admin })).body.user).toMatchObject({ role: 'admin', name: 'Administrator' });
      // The database was not empty any more: no demo account with its public password.
      expect((await s.request('POST', '/api/auth/login', { body: { email: 'admin@example.com', password: DEMO_PASSWORD } })).status).toBe(401);
    } finally {
      await s.close();
    }
  });
});
