import { describeCall, type Message } from '@parley/protocol';
import { Avatar } from '../../components/Avatar.tsx';
import { shortTime } from '../../lib/format.ts';
import { routeHref } from '../../lib/route.ts';
import { isOnline, type ChatState } from './chatClient.ts';
import { sortConversations } from './conversations.ts';

interface ConversationListProps {
  state: ChatState;
  activeId: string | null;
  myId: string;
  onRetry: () => void;
}

export function ConversationList({ state, activeId, myId, onRetry }: ConversationListProps) {
  const conversations = sortConversations(Object.values(state.conversations), state.openedAt);

  if (conversations.length === 0) {
    if (state.listStatus === 'loading') return <p className="list-caption">Loading conversations…</p>;
    if (state.listStatus === 'error') {
      return (
        <div className="list-caption">
          <p role="alert">{state.listError}</p>
          <button type="button" className="button-secondary" onClick={onRetry}>
            Try again
          </button>
        </div>
      );
    }
    return <p className="list-caption">No conversations yet. Search for a colleague above to start one.</p>;
  }

  return (
    <nav aria-label="Conversations" className="conversation-nav">
      <ul className="conversation-list">
        {conversations.map((conversation) => {
          const { peer, lastMessage, unread } = conversation;
          const active = conversation.id === activeId;
          return (
            <li key={conversation.id}>
              <a
                href={routeHref({ page: 'chat', conversationId: conversation.id })}
                className={active ? 'conversation-item is-active' : 'conversation-item'}
                aria-current={active ? 'page' : undefined}
              >
                <Avatar name={peer.name} seed={peer.email} online={isOnline(state, peer)} announcePresence />
                <span className="conversation-text">
                  <span className="conversation-top">
                    <span className="conversation-name">{peer.name}</span>
                    {lastMessage && <time dateTime={lastMessage.createdAt}>{shortTime(lastMessage.createdAt)}</time>}
                  </span>
                  <span className="conversation-bottom">
                    <span className="conversation-preview">
                      {lastMessage ? preview(lastMessage, myId) : 'No messages yet'}
                    </span>
                    {unread > 0 && (
                      <span className="unread-badge">
                        {unread > 99 ? '99+' : unread}
                        <span className="sr-only"> unread</span>
                      </span>
                    )}
                  </span>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function preview(message: Message, myId: string): string {
  if (message.kind === 'call' && message.call) return describeCall(message.call, myId);
  return message.senderId === myId ? `You: ${message.body}` : message.body;
}
