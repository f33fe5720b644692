import { z } from 'zod';
import { CallKind, CallQuality, EndReason } from './call.ts';
import { Id, LIMITS } from './common.ts';
import { PublicUser } from './users.ts';

export const MessageBody = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(LIMITS.messageBodyMax, `must be at most ${LIMITS.messageBodyMax} characters`);

/** What a call left in the conversation's history; each viewer words it from their side. */
export const CallRecord = z.object({
  callId: Id,
  kind: CallKind,
  callerId: Id,
  reason: EndReason,
  /** Seconds from answer to end; null when it was never answered. */
  durationS: z.number().int().nonnegative().nullable(),
  /** How the media travelled (direct or relayed, round-trip time, loss), when a device reported it. */
  quality: CallQuality.nullable().optional(),
});
export type CallRecord = z.infer<typeof CallRecord>;

export const Message = z.object({
  /** Chosen by the sending client (a UUID); the idempotency key of the send. */
  id: Id,
  conversationId: Id,
  /** 1, 2, 3… within the conversation, in the order the server stored them. */
  seq: z.number().int().positive(),
  senderId: Id,
  /** For a call entry, a neutral wording such as "Video call · 3:12" or "Missed audio call". */
  body: z.string(),
  /** `text`: sent by a person; `call`: written by the server when a call ends (senderId is the caller). */
  kind: z.enum(['text', 'call']),
  call: CallRecord.nullable(),
  /** ISO 8601, server time. */
  createdAt: z.string(),
});
export type Message = z.infer<typeof Message>;

export const Conversation = z.object({
  id: Id,
  peer: PublicUser,
  lastMessage: Message.nullable(),
  /** Highest seq stored in the conversation (0 when empty). */
  lastSeq: z.number().int().nonnegative(),
  /** Messages from the peer after this user's read mark. */
  unread: z.number().int().nonnegative(),
});
export type Conversation = z.infer<typeof Conversation>;

export const ConversationsResponse = z.object({ conversations: z.array(Conversation) });
export type ConversationsResponse = z.infer<typeof ConversationsResponse>;

export const OpenConversationRequest = z.strictObject({ userId: Id });
export const ConversationResponse = z.object({ conversation: Conversation });
export type ConversationResponse = z.infer<typeof ConversationResponse>;

export const ConversationParams = z.strictObject({ id: Id });

const Seq = z.coerce.number().int().nonnegative();
/** `before`: older than this seq (paging back); `after`: newer than this seq (catching up). */
export const MessagesQuery = z
  .strictObject({
    before: Seq.optional(),
    after: Seq.optional(),
    limit: z.coerce.number().int().min(1).max(LIMITS.pageSizeMax).default(50),
  })
  .refine((q) => q.before === undefined || q.after === undefined, { message: 'give before or after, not both' });

export const MessagesResponse = z.object({
  /** Oldest first. */
  messages: z.array(Message),
  /** More messages exist beyond this page in the direction asked. */
  hasMore: z.boolean(),
});
export type MessagesResponse = z.infer<typeof MessagesResponse>;

// ---- socket payloads ----

export const SendMessage = z.strictObject({ id: Id, conversationId: Id, body: MessageBody });
export type SendMessage = z.infer<typeof SendMessage>;

export const MarkRead = z.strictObject({ conversationId: Id, seq: z.number().int().nonnegative() });
export type MarkRead = z.infer<typeof MarkRead>;

/** For each conversation the client holds, the highest seq it has; the server answers with what is newer. */
export const SyncRequest = z.strictObject({
  cursors: z
    .record(Id, z.number().int().nonnegative())
    .refine((r) => Object.keys(r).length <= LIMITS.syncCursorsMax, {
      message: `at most ${LIMITS.syncCursorsMax} cursors`,
    }),
});
export type SyncRequest = z.infer<typeof SyncRequest>;

export const SyncResult = z.object({
  conversations: z.array(Conversation),
  /** Messages newer than the cursors, oldest first, per conversation at most one page. */
  messages: z.array(Message),
  /** Conversations that had more missed messages than one page: refetch them. */
  truncated: z.array(Id),
});
export type SyncResult = z.infer<typeof SyncResult>;

export const ReadEvent = z.object({ conversationId: Id, seq: z.number().int(), unread: z.number().int() });
export type ReadEvent = z.infer<typeof ReadEvent>;

export const PresenceEvent = z.object({ userId: Id, online: z.boolean() });
export type PresenceEvent = z.infer<typeof PresenceEvent>;

/** `presence.subscribe` / `presence.unsubscribe`: the people whose presence this socket shows. */
export const PresenceSubscription = z.strictObject({ userIds: z.array(Id).min(1).max(LIMITS.presenceBatchMax) });
export type PresenceSubscription = z.infer<typeof PresenceSubscription>;

/** The acknowledgement of `presence.subscribe`: who of them is online now (later changes come as `presence`). */
export const PresenceSnapshot = z.object({ online: z.record(z.string(), z.boolean()) });
export type PresenceSnapshot = z.infer<typeof PresenceSnapshot>;

export const SessionEndedEvent = z.object({ reason: z.enum(['signed_out', 'deactivated', 'expired']) });
export type SessionEndedEvent = z.infer<typeof SessionEndedEvent>;
