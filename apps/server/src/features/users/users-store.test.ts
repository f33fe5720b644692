import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/database.ts';
import { AppError } from '../../lib/errors.ts';
import { verifyPassword } from '../../lib/password.ts';
import { DB_KINDS, testDb } from '../../testing/harness.ts';
import { seedDemoUsers } from './demo-users.ts';
import { UsersStore } from './users-store.ts';

describe.each(DB_KINDS)('UsersStore on %s', (kind) => {
  let t: Awaited<ReturnType<typeof testDb>>;
  let users: UsersStore;

  beforeAll(async () => {
    t = await testDb(kind);
    await migrate(t.db);
    await migrate(t.db); // a second run is a no-op
    users = new UsersStore(t.db);
  });
  afterAll(async () => t?.close());

  it('seeds the demo users once, with hashed passwords', async () => {
    expect((await seedDemoUsers(users)).length).toBe(3);
    expect(await seedDemoUsers(users)).toEqual([]);
    const row = await users.byEmail('DOCTOR@example.com');
    expect(row?.name).toBe('Dana Doctor');
    expect(row?.password_hash).toMatch(/^scrypt\$/);
    expect(row?.password_hash).not.toContain('parley-demo-pass');
    expect(await verifyPassword('parley-demo-pass', row!.password_hash)).toBe(true);
    expect(await verifyPassword('parley-demo-pass!', row!.password_hash)).toBe(false);
  });

  it('refuses a second account with the same email, whatever its case', async () => {
    await expect(users.create({ name: 'X', email: 'Admin@Example.com', role: 'nurse', password: 'long enough' })).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(await users.count()).toBe(3);
  });

  it('searches active people by name, email or role, case-insensitively, never wildcards', async () => {
    const alex = (await users.byEmail('admin@example.com'))!;
    const created = await users.create({ name: 'Percy 50%_Off', email: 'percy@example.com', role: 'nurse', password: 'long enough' });
    const names = async (q: string) => (await users.search(q, alex.id)).map((u) => u.name);
    expect(await names('dana')).toEqual(['Dana Doctor']);
    expect(await names('NURSE')).toEqual(['Noor Nurse', 'Percy 50%_Off']);
    expect(await names('doctor@')).toEqual(['Dana Doctor']);
    expect(await names('50%')).toEqual(['Percy 50%_Off']);
    expect(await names('%')).toEqual(['Percy 50%_Off']);
    expect(await names('_')).toEqual(['Percy 50%_Off']);
    expect(await names('alex')).toEqual([]); // not yourself
    await users.update(created.id, { active: false });
    expect(await names('percy')).toEqual([]);
  });

  it('updates role and activity, and reports unknown ids', async () => {
    const noor = (await users.byEmail('nurse@example.com'))!;
    const u = await users.update(noor.id, { role: 'doctor' });
    expect(u.role).toBe('doctor');
    await expect(users.update('00000000-0000-4000-8000-000000000000', { role: 'nurse' })).rejects.toBeInstanceOf(AppError);
    await users.setPassword(noor.id, 'a new password');
    expect(await verifyPassword('a new password', (await users.byId(noor.id))!.password_hash)).toBe(true);
  });
});
