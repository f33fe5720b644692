import { useCallback, useState, type ReactNode } from 'react';
import type { PublicUser } from '@parley/protocol';
import { errorMessage } from '../../lib/http.ts';
import { navigate } from '../../lib/useHashRoute.ts';
import type { ChatClient } from './chatClient.ts';
import { ConversationList } from './ConversationList.tsx';
import { ConversationView } from './ConversationView.tsx';
import { PeopleResults } from './PeopleResults.tsx';
import { useChatState, useUnreadTitle } from './useChat.ts';

interface ChatPageProps {
  client: ChatClient;
  /** From the route; null shows the list alone (on a phone) or a welcome panel. */
  conversationId: string | null;
  /** Extra actions for an open conversation's header (the app puts the call buttons here). */
  headerActions?: (peer: PublicUser) => ReactNode;
}

export function ChatPage({ client, conversationId, headerActions }: ChatPageProps) {
  const state = useChatState(client);
  useUnreadTitle(state);
  const [query, setQuery] = useState('');
  const [opening, setOpening] = useState<string | null>(null);
  const [openError, setOpenError] = useState<string | null>(null);
  // The search result that had focus is gone once the conversation opens: focus its composer instead.
  const [focusComposerOf, setFocusComposerOf] = useState<string | null>(null);
  const watchPeople = useCallback((userIds: readonly string[]) => client.watchPeople(userIds), [client]);

  async function openWith(person: PublicUser) {
    setOpening(person.id);
    setOpenError(null);
    try {
      const id = await client.openWith(person.id);
      setQuery('');
      setFocusComposerOf(id);
      navigate({ page: 'chat', conversationId: id });
    } catch (err) {
      setOpenError(errorMessage(err));
    } finally {
      setOpening(null);
    }
  }

  return (
    <div className={conversationId ? 'chat has-open' : 'chat'}>
      <aside className="sidebar">
        <div className="sidebar-search">
          <label htmlFor="people-search" className="sr-only">
            Search people
          </label>
          <input
            id="people-search"
            type="search"
            className="search-input"
            placeholder="Search people by name, email or role"
            autoComplete="off"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setQuery('');
            }}
          />
        </div>
        {state.connection !== 'connected' && (
          <p className="connection-banner" role="status">
            {state.connection === 'connecting' ? 'Connecting…' : 'Reconnecting… Messages you write are sent when the connection is back.'}
          </p>
        )}
        {state.incompatible && (
          <p className="connection-banner is-warning" role="alert">
            Parley was updated. <a href="./">Reload the page</a> to keep messaging.
          </p>
        )}
        {openError && (
          <p className="inline-error" role="alert">
            {openError}
          </p>
        )}
        {query.trim() ? (
          <PeopleResults query={query} state={state} opening={opening} onPick={(person) => void openWith(person)} watch={watchPeople} />
        ) : (
          <ConversationList state={state} activeId={conversationId} myId={client.me.id} onRetry={() => client.reloadList()} />
        )}
      </aside>
      <section className="pane" aria-label="Conversation">
        {conversationId ? (
          <ConversationView
            key={conversationId}
            client={client}
            state={state}
            conversationId={conversationId}
            focusComposer={focusComposerOf === conversationId}
            headerActions={headerActions}
          />
        ) : (
          <div className="pane-empty">
            <div className="pane-empty-art" aria-hidden="true" />
            <h2>Your messages</h2>
            <p>Pick a conversation, or search for a colleague to start one.</p>
          </div>
        )}
      </section>
    </div>
  );
}
