import type { PublicUser } from '@parley/protocol';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { errorMessage, isAbort } from '../../lib/http.ts';
import type { RealtimeSocket } from '../../lib/realtime.ts';
import { searchPeople } from './chatApi.ts';
import { ChatClient, type ChatState, type SessionEndReason } from './chatClient.ts';
import { totalUnread } from './conversations.ts';

/**
 * One ChatClient for the signed-in person, listening on the app's socket while the component using
 * this is mounted. Mount it above the pages so presence and the outbox survive the admin page.
 */
export function useChatClient(
  me: PublicUser,
  socket: RealtimeSocket,
  onSessionEnded: (reason: SessionEndReason) => void,
): ChatClient {
  // Constructing opens nothing; the effect starts and stops listening.
  const [client] = useState(() => new ChatClient({ me, socket }));

  useEffect(() => client.onSessionEnded(onSessionEnded), [client, onSessionEnded]);

  useEffect(() => {
    const onVisibility = () => client.setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', onVisibility);
    onVisibility();
    client.start();
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      client.stop();
    };
  }, [client]);

  return client;
}

export function useChatState(client: ChatClient): ChatState {
  return useSyncExternalStore(client.subscribe, client.getState);
}

/** Tells the client which conversation is on screen, so arriving messages are marked read. */
export function useActiveConversation(client: ChatClient, conversationId: string | null): void {
  useEffect(() => {
    client.setActive(conversationId);
    return () => client.setActive(null);
  }, [client, conversationId]);
}

/** "(3) Parley" in the tab while messages wait to be read. */
export function useUnreadTitle(state: ChatState): void {
  const unread = totalUnread(Object.values(state.conversations));
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
    return () => {
      document.title = 'Parley';
    };
  }, [unread]);
}

export type PeopleSearch =
  | { status: 'idle' }
  | { status: 'searching'; users: readonly PublicUser[] }
  | { status: 'done'; users: readonly PublicUser[] }
  | { status: 'error'; error: string };

interface SearchAnswer {
  query: string;
  users: readonly PublicUser[];
  error: string | null;
}

const SEARCH_DEBOUNCE_MS = 200;

/** Colleagues matching the query, debounced; an older answer never replaces a newer one. */
export function usePeopleSearch(query: string): PeopleSearch {
  const q = query.trim();
  const [answer, setAnswer] = useState<SearchAnswer>({ query: '', users: [], error: null });

  useEffect(() => {
    if (!q) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      searchPeople(q, controller.signal).then(
        (users) => setAnswer({ query: q, users, error: null }),
        (err: unknown) => {
          if (!isAbort(err)) setAnswer({ query: q, users: [], error: errorMessage(err) });
        },
      );
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [q]);

  if (!q) return { status: 'idle' };
  if (answer.query !== q) return { status: 'searching', users: answer.users };
  if (answer.error !== null) return { status: 'error', error: answer.error };
  return { status: 'done', users: answer.users };
}
