import type { Generated } from 'kysely';

/** Timestamps are milliseconds since the epoch; booleans are 0/1 (one representation for SQLite and PostgreSQL). */
export interface UsersTable {
  id: string;
  email: string;
  name: string;
  role: string;
  password_hash: string;
  active: number;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the cookie token: a leaked database does not leak live sessions. */
  id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  /** Last sign of use (a request, a socket connect or event), written at most once per IDLE_TOUCH_MS. */
  last_seen_at: number;
}

export interface ConversationsTable {
  id: string;
  /** The two member ids, sorted and joined: one 1:1 conversation per pair. */
  pair_key: string;
  last_seq: Generated<number>;
  last_message_at: number | null;
  created_at: number;
}

export interface ConversationMembersTable {
  conversation_id: string;
  user_id: string;
  read_seq: Generated<number>;
}

export interface MessagesTable {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  body: string;
  /** 'text' or 'call'. */
  kind: Generated<string>;
  /** CallRecord as JSON for kind 'call'. */
  call_json: string | null;
  created_at: number;
}

/** The server's VAPID key pair, base64url (web-push's format). One row, id 1. */
export interface VapidKeysTable {
  id: number;
  public_key: string;
  private_key: string;
  created_at: number;
}

/** One browser's push subscription, owned by the auth session that stored it. */
export interface PushSubscriptionsTable {
  endpoint: string;
  session_id: string;
  user_id: string;
  p256dh: string;
  auth: string;
  created_at: number;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  conversations: ConversationsTable;
  conversation_members: ConversationMembersTable;
  messages: MessagesTable;
  vapid_keys: VapidKeysTable;
  push_subscriptions: PushSubscriptionsTable;
}
