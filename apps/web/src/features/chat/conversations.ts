import type { Conversation, Message } from '@parley/protocol';

/**
 * Takes a conversation summary from the server (list, sync, open) without going back in time:
 * a list fetched before a live message arrived must not undo that message.
 */
export function upsertConversation(held: Conversation | undefined, incoming: Conversation): Conversation {
  if (!held || incoming.lastSeq >= held.lastSeq) return incoming;
  return { ...held, peer: incoming.peer };
}

/** Updates a summary for a message that was stored; counts it as unread when it is the peer's and new. */
export function applyMessage(conversation: Conversation, message: Message, myId: string): Conversation {
  if (message.seq <= conversation.lastSeq) {
    // Already counted by the server; only the preview may be behind (a summary without lastMessage).
    const preview = conversation.lastMessage;
    if (preview && preview.seq >= message.seq) return conversation;
    if (message.seq < conversation.lastSeq) return conversation;
    return { ...conversation, lastMessage: message };
  }
  return {
    ...conversation,
    lastMessage: message,
    lastSeq: message.seq,
    unread: conversation.unread + (message.senderId === myId ? 0 : 1),
  };
}

/** When the conversation last moved: its newest message, else when it was opened here. */
function activity(conversation: Conversation, openedAt: Readonly<Record<string, number>>): number {
  const last = conversation.lastMessage ? Date.parse(conversation.lastMessage.createdAt) : NaN;
  if (!Number.isNaN(last)) return last;
  return openedAt[conversation.id] ?? 0;
}

/** Most recent first, as the sidebar shows them. */
export function sortConversations(
  conversations: Iterable<Conversation>,
  openedAt: Readonly<Record<string, number>> = {},
): Conversation[] {
  return [...conversations].sort((a, b) => activity(b, openedAt) - activity(a, openedAt));
}

/** Messages waiting to be read, across conversations. */
export function totalUnread(conversations: Iterable<Conversation>): number {
  let total = 0;
  for (const conversation of conversations) total += conversation.unread;
  return total;
}
