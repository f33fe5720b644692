import type { CreateUserRequest } from '@parley/protocol';
import type { UsersStore } from './users-store.ts';

export const DEMO_PASSWORD = 'parley-demo-pass';

export const DEMO_USERS: CreateUserRequest[] = [
  { name: 'Alex Admin', email: 'admin@example.com', role: 'admin', password: DEMO_PASSWORD },
  { name: 'Dana Doctor', email: 'doctor@example.com', role: 'doctor', password: DEMO_PASSWORD },
  { name: 'Noor Nurse', email: 'nurse@example.com', role: 'nurse', password: DEMO_PASSWORD },
];

/** Creates the demo accounts when there are no users at all. Returns those created. */
export async function seedDemoUsers(users: UsersStore): Promise<CreateUserRequest[]> {
  if ((await users.count()) > 0) return [];
  for (const u of DEMO_USERS) await users.create(u);
  return DEMO_USERS;
}

/** Creates the first admin from PARLEY_ADMIN_EMAIL / PARLEY_ADMIN_PASSWORD when there are no users at all. */
export async function seedFirstAdmin(users: UsersStore, admin: { name: string; email: string; password: string }): Promise<boolean> {
  if ((await users.count()) > 0) return false;
  await users.create({ ...admin, role: 'admin' });
  return true;
}
