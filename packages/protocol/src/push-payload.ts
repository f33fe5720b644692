// The service worker bundles this file alone ('@parley/protocol/push-payload'), so it uses zod/mini
// and imports no other schema: through the package's index, classic zod and all its locales made
// sw.js ~460 KB; this way it is ~20 KB. The server only takes the types.
import * as z from 'zod/mini';
import type { CALL_KINDS } from './call.ts';

/** The call kinds, as call.ts has them (the compiler checks they are the same). */
const KINDS = ['audio', 'video'] as const satisfies typeof CALL_KINDS;
const Kind = z.enum(KINDS);
const Id = z.uuid();

/** What the server pushes; the service worker parses it with this schema. Discriminated on `type`. */
export const PushPayload = z.discriminatedUnion('type', [
  /** A call rings for this person: show Answer / Decline until `expiresAt` (ms since the epoch). */
  z.object({ type: z.literal('call.ringing'), callId: Id, fromName: z.string(), kind: Kind, expiresAt: z.number() }),
  /**
   * The call stopped ringing: close its notification. `missed`: the caller gave up or nobody
   * answered, so "Missed call from …" replaces it; otherwise (answered or declined on a device) it goes.
   */
  z.object({ type: z.literal('call.closed'), callId: Id, fromName: z.string(), kind: Kind, missed: z.boolean() }),
  /** A new message. `preview` only when the server runs with PUSH_PREVIEWS=1. */
  z.object({ type: z.literal('message.new'), conversationId: Id, fromName: z.string(), preview: z.optional(z.string()) }),
]);
export type PushPayload = z.infer<typeof PushPayload>;

/** The notification tag of a call and of a conversation: one notification each, replaced in place. */
export const pushTag = {
  call: (callId: string) => `call:${callId}`,
  conversation: (conversationId: string) => `conversation:${conversationId}`,
};

/** The address a notification's "Answer" opens: the app answers that call once it rings there. */
export const ANSWER_PARAM = 'answer';
