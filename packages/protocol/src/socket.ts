import type { ClientToServerCallEvents, ServerToClientCallEvents } from './call.ts';
import type { Ack } from './common.ts';
import type { PublicUser } from './users.ts';
import type {
  Message,
  PresenceEvent,
  PresenceSnapshot,
  ReadEvent,
  SessionEndedEvent,
  SyncResult,
} from './chat.ts';

/**
 * Events a client emits. Payloads are typed `unknown` on purpose: the server safeParses every one
 * with the schema named in the comment; the types here describe the acknowledgement.
 */
export interface ClientToServerEvents extends ClientToServerCallEvents {
  /** Payload: SendMessage. Idempotent on `id`. */
  'message.send': (payload: unknown, ack: (res: Ack<{ message: Message }>) => void) => void;
  /** Payload: MarkRead. */
  'conversation.read': (payload: unknown, ack: (res: Ack<{ unread: number }>) => void) => void;
  /** Payload: SyncRequest. */
  'chat.sync': (payload: unknown, ack: (res: Ack<SyncResult>) => void) => void;
  /** Payload: PresenceSubscription. Follow these people's presence; the ack says who is online now. */
  'presence.subscribe': (payload: unknown, ack: (res: Ack<PresenceSnapshot>) => void) => void;
  /** Payload: PresenceSubscription. */
  'presence.unsubscribe': (payload: unknown, ack: (res: Ack) => void) => void;
}

export interface ServerToClientEvents extends ServerToClientCallEvents {
  /** Sent once on connect. */
  hello: (e: { protocolVersion: number; user: PublicUser }) => void;
  /** A message stored in one of the user's conversations (also echoed to the sender's other devices). */
  'message.new': (e: { message: Message }) => void;
  /** The user read up to `seq` on one device; the others update their unread count. */
  'conversation.read': (e: ReadEvent) => void;
  /** A followed person's first device connected or last one left (presence.subscribe). */
  'presence': (e: PresenceEvent) => void;
  /** The session was signed out or the account deactivated; the server disconnects right after. */
  'session.ended': (e: SessionEndedEvent) => void;
}
