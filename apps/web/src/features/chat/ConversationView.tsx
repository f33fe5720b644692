import type { ReactNode } from 'react';
import type { PublicUser } from '@parley/protocol';
import { Avatar } from '../../components/Avatar.tsx';
import { ROLE_LABELS } from '../../lib/format.ts';
import { isOnline, type ChatClient, type ChatState } from './chatClient.ts';
import { Composer } from './Composer.tsx';
import { MessageLog } from './MessageLog.tsx';
import { useActiveConversation } from './useChat.ts';

interface ConversationViewProps {
  client: ChatClient;
  state: ChatState;
  conversationId: string;
  /** Put the caret in the composer on arrival (opened from the people search). */
  focusComposer?: boolean;
  /** Right-aligned header actions for this peer (the call buttons; composed by the app, not imported here). */
  headerActions?: (peer: PublicUser) => ReactNode;
}

export function ConversationView({ client, state, conversationId, focusComposer = false, headerActions }: ConversationViewProps) {
  useActiveConversation(client, conversationId);
  const conversation = state.conversations[conversationId];
  const thread = state.threads[conversationId];

  if (!conversation) {
    const stillLoading = state.listStatus === 'loading' || thread?.status === 'loading';
    return (
      <div className="pane-empty">
        {stillLoading ? (
          <p>Loading conversation…</p>
        ) : (
          <>
            <h2>Conversation not found</h2>
            <p>{thread?.error ?? 'It may have been removed, or you are not part of it.'}</p>
            <a href="#/">Back to conversations</a>
          </>
        )}
      </div>
    );
  }

  const { peer } = conversation;
  const online = isOnline(state, peer);

  return (
    <div className="conversation">
      <header className="conversation-header">
        <a href="#/" className="back-link">
          <span aria-hidden="true">‹</span>
          <span className="sr-only">Back to conversations</span>
        </a>
        <Avatar name={peer.name} seed={peer.email} size="lg" />
        <div className="conversation-title">
          <h2>{peer.name}</h2>
          <p className="conversation-subtitle">
            <span className={online ? 'presence-label is-online' : 'presence-label'}>{online ? 'Online' : 'Offline'}</span>
            <span aria-hidden="true"> · </span>
            <span>{ROLE_LABELS[peer.role]}</span>
          </p>
        </div>
        {headerActions && <div className="call-actions">{headerActions(peer)}</div>}
      </header>

      <MessageLog
        peerName={peer.name}
        myId={client.me.id}
        conversationId={conversationId}
        thread={thread}
        outbox={state.outbox}
        onLoadEarlier={() => void client.loadEarlier(conversationId)}
        onReload={() => client.loadThread(conversationId)}
        onRetry={(id) => client.retry(id)}
        onDiscard={(id) => client.discard(id)}
      />

      {peer.active ? (
        <Composer autoFocus={focusComposer} onSend={(body) => client.send(conversationId, body)} />
      ) : (
        <p className="composer-disabled">{peer.name}'s account is deactivated. They can no longer receive messages.</p>
      )}
    </div>
  );
}
