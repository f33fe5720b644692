import type { CallKind } from '@parley/protocol';
import { pushTag, type PushPayload } from '@parley/protocol/push-payload';

/** What a notification's click needs to know (Notification.data). */
export type NotificationData = { kind: 'call'; callId: string } | { kind: 'missed'; callId: string } | { kind: 'message'; conversationId: string };

/** One notification as the service worker shows it: `showNotification(title, options)`. */
export interface NotificationSpec {
  title: string;
  body: string;
  tag: string;
  requireInteraction: boolean;
  actions: { action: 'answer' | 'decline'; title: string }[];
  data: NotificationData;
}

const KIND_WORDS: Record<CallKind, string> = { audio: 'Audio call', video: 'Video call' };

type Ringing = Extract<PushPayload, { type: 'call.ringing' }>;
type Closed = Extract<PushPayload, { type: 'call.closed' }>;
type NewMessage = Extract<PushPayload, { type: 'message.new' }>;

/** "Dana Doctor is calling" · "Video call", with Answer and Decline, until answered or closed. */
export function ringingNotification(p: Ringing): NotificationSpec {
  return {
    title: `${p.fromName} is calling`,
    body: `${KIND_WORDS[p.kind]} · Parley`,
    tag: pushTag.call(p.callId),
    requireInteraction: true,
    actions: [
      { action: 'answer', title: 'Answer' },
      { action: 'decline', title: 'Decline' },
    ],
    data: { kind: 'call', callId: p.callId },
  };
}

/** Replaces a call's notification when nobody answered it (same tag). */
export function missedNotification(p: Ringing | Closed): NotificationSpec {
  return {
    title: `Missed call from ${p.fromName}`,
    body: `${KIND_WORDS[p.kind]} · Parley`,
    tag: pushTag.call(p.callId),
    requireInteraction: false,
    actions: [],
    data: { kind: 'missed', callId: p.callId },
  };
}

/** One per conversation (tag): a newer message replaces the older notification. No text unless the server sends a preview. */
export function messageNotification(p: NewMessage): NotificationSpec {
  return {
    title: `New message from ${p.fromName}`,
    body: p.preview ?? 'Open Parley to read it',
    tag: pushTag.conversation(p.conversationId),
    requireInteraction: false,
    actions: [],
    data: { kind: 'message', conversationId: p.conversationId },
  };
}
