import { MeResponse, type PublicUser } from '@parley/protocol';
import { request } from '../../lib/http.ts';

export async function signIn(email: string, password: string): Promise<PublicUser> {
  // A 401 here means wrong credentials, not an ended session.
  const res = await request('/api/auth/login', { method: 'POST', body: { email, password }, schema: MeResponse, sessionRequired: false });
  return res.user;
}

export async function signOut(): Promise<void> {
  await request('/api/auth/logout', { method: 'POST', sessionRequired: false });
}

/** Ends every session of the signed-in person, this one too. */
export async function signOutEverywhere(): Promise<void> {
  await request('/api/auth/logout-everywhere', { method: 'POST', sessionRequired: false });
}

/** The signed-in person, or a RequestError with code `unauthenticated`. */
export async function fetchMe(): Promise<PublicUser> {
  return (await request('/api/me', { schema: MeResponse, sessionRequired: false })).user;
}
