import type { PublicUser } from '@parley/protocol';

/** Issues of a failed zod parse as `{ field: message }`, first issue per field. */
export function fieldErrors(issues: readonly { path: readonly PropertyKey[]; message: string }[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || 'form';
    errors[key] ??= issue.message;
  }
  return errors;
}

/** By name, as the admin table lists them; deactivating someone does not move their row. */
export function sortUsers(users: readonly PublicUser[]): PublicUser[] {
  return [...users].sort((a, b) => a.name.localeCompare(b.name) || a.email.localeCompare(b.email));
}

/** Replaces a user by id, or adds it. */
export function upsertUser(users: readonly PublicUser[], user: PublicUser): PublicUser[] {
  return users.some((u) => u.id === user.id) ? users.map((u) => (u.id === user.id ? user : u)) : [...users, user];
}
