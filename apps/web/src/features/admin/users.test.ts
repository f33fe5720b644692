import { CreateUserRequest, type PublicUser } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { fieldErrors, sortUsers, upsertUser } from './users.ts';

const user = (name: string, active = true, id = name): PublicUser => ({
  id,
  name,
  email: `${name.toLowerCase()}@clinic.test`,
  role: 'nurse',
  active,
  online: false,
});

describe('fieldErrors', () => {
  it('names the first problem of each field', () => {
    const parsed = CreateUserRequest.safeParse({ name: '', email: 'nope', role: 'nurse', password: 'short' });
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    const errors = fieldErrors(parsed.error.issues);
    expect(Object.keys(errors).sort()).toEqual(['email', 'name', 'password']);
    expect(errors.password).toMatch(/at least 12/);
  });
});

describe('sortUsers / upsertUser', () => {
  it('lists people by name, active or not', () => {
    expect(sortUsers([user('Zoe'), user('Al', false), user('Bea')]).map((u) => u.name)).toEqual(['Al', 'Bea', 'Zoe']);
  });
  it('replaces by id or appends', () => {
    const list = [user('Al'), user('Bea')];
    expect(upsertUser(list, { ...user('Al'), role: 'doctor' })[0]?.role).toBe('doctor');
    expect(upsertUser(list, user('Cy'))).toHaveLength(3);
  });
});
