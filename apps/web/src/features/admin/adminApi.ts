import {
  MeResponse,
  UsersResponse,
  type CreateUserRequest,
  type PublicUser,
  type UpdateUserRequest,
} from '@parley/protocol';
import { request } from '../../lib/http.ts';

/** Everyone, including deactivated accounts. */
export async function listUsers(): Promise<PublicUser[]> {
  return (await request('/api/admin/users', { schema: UsersResponse })).users;
}

export async function createUser(body: CreateUserRequest): Promise<PublicUser> {
  // The answer is `{ user }`, the same shape as MeResponse.
  return (await request('/api/admin/users', { method: 'POST', body, schema: MeResponse })).user;
}

export async function updateUser(id: string, body: UpdateUserRequest): Promise<PublicUser> {
  return (await request(`/api/admin/users/${encodeURIComponent(id)}`, { method: 'PATCH', body, schema: MeResponse })).user;
}

export async function resetPassword(id: string, password: string): Promise<void> {
  await request(`/api/admin/users/${encodeURIComponent(id)}/password`, { method: 'POST', body: { password } });
}
