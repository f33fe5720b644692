// The chat's state as React renders it, and what a ChatClient is built with (chatClient.ts).
import type { Conversation, Message, PublicUser, SessionEndedEvent } from '@parley/protocol';
import type { RealtimeSocket } from '../../lib/realtime.ts';
import type { OutboxEntry } from './outbox.ts';

/** The app's shared socket (lib/realtime.ts); the chat only attaches and removes its own listeners. */
export type ChatSocket = RealtimeSocket;

/** `reconnecting` covers every state between losing the socket and getting it back. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

export interface Thread {
  /** Stored messages, seq order, no duplicates. */
  readonly messages: readonly Message[];
  /** Older messages exist on the server. */
  readonly hasMore: boolean;
  readonly status: 'loading' | 'ready' | 'error';
  readonly loadingEarlier: boolean;
  readonly error: string | null;
}

export interface ChatState {
  readonly connection: ConnectionState;
  /** The server speaks a newer protocol: this tab must be reloaded. */
  readonly incompatible: boolean;
  readonly listStatus: 'loading' | 'ready' | 'error';
  readonly listError: string | null;
  readonly conversations: Readonly<Record<string, Conversation>>;
  /** When a conversation without messages was opened here; places it in the list. */
  readonly openedAt: Readonly<Record<string, number>>;
  readonly threads: Readonly<Record<string, Thread>>;
  readonly outbox: readonly OutboxEntry[];
  /** Presence heard live since the socket (re)connected; wins over the snapshot in a summary. */
  readonly presence: Readonly<Record<string, boolean>>;
}

export type SessionEndReason = SessionEndedEvent['reason'] | 'unauthenticated';

export interface ChatClientOptions {
  me: PublicUser;
  /** The app's socket; its owner connects it (useRealtimeSocket), tests pass a fake. */
  socket: ChatSocket;
}

/** Whether a person is online: the live presence event if one came, else the server's snapshot. */
export function isOnline(state: ChatState, user: PublicUser): boolean {
  return state.presence[user.id] ?? user.online;
}
