import {
  ConversationResponse,
  ConversationsResponse,
  MessagesResponse,
  UsersResponse,
  type Conversation,
  type PublicUser,
} from '@parley/protocol';
import { request } from '../../lib/http.ts';

export async function fetchConversations(): Promise<Conversation[]> {
  return (await request('/api/conversations', { schema: ConversationsResponse })).conversations;
}

/** Opens (or finds) the 1:1 conversation with a person. */
export async function openConversation(userId: string): Promise<Conversation> {
  return (await request('/api/conversations', { method: 'POST', body: { userId }, schema: ConversationResponse })).conversation;
}

export type PageCursor = { before: number } | { after: number } | Record<string, never>;

/** One page, oldest first. No cursor: the newest page. */
export function fetchMessages(conversationId: string, cursor: PageCursor, limit = 50): Promise<MessagesResponse> {
  const params = new URLSearchParams({ limit: String(limit) });
  if ('before' in cursor) params.set('before', String(cursor.before));
  if ('after' in cursor) params.set('after', String(cursor.after));
  return request(`/api/conversations/${encodeURIComponent(conversationId)}/messages?${params}`, { schema: MessagesResponse });
}

/** Active colleagues matching a name, email or role; never yourself. */
export async function searchPeople(query: string, signal?: AbortSignal): Promise<PublicUser[]> {
  const params = new URLSearchParams({ q: query });
  return (await request(`/api/users?${params}`, { schema: UsersResponse, ...(signal ? { signal } : {}) })).users;
}

/** Asks the server whether the session still holds; a 401 signs the app out through http.ts. */
export async function checkSession(): Promise<void> {
  await request('/api/me');
}
