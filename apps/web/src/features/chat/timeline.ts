import { describeCall, type Message } from '@parley/protocol';
import { dayKey } from '../../lib/format.ts';
import { describeCallQuality } from './callQuality.ts';
import type { OutboxEntry } from './outbox.ts';

export type DeliveryStatus = 'sent' | 'sending' | 'failed';

export type TimelineItem =
  | { kind: 'day'; key: string; at: string }
  /**
   * A call that ended, worded from this person's side ("Missed video call", "Audio call · 3:12"),
   * with how its media travelled when a device reported it ("Relayed (TURN) · UDP · 48 ms · 0.2 % loss").
   */
  | { kind: 'call'; key: string; id: string; text: string; quality: string | null; at: string }
  | {
      kind: 'message';
      key: string;
      id: string;
      body: string;
      mine: boolean;
      at: string;
      status: DeliveryStatus;
      error: string | null;
      /** Same sender as the item above, within a few minutes: drawn without a gap. */
      continued: boolean;
    };

const GROUP_WINDOW_MS = 5 * 60_000;

/**
 * What the message log shows for one conversation: stored messages in seq order, then this
 * device's unconfirmed ones in the order they were written, with a separator per day. A pending
 * entry whose message is already stored is left out, so a message never shows twice.
 */
export function buildTimeline(
  messages: readonly Message[],
  outbox: readonly OutboxEntry[],
  conversationId: string,
  myId: string,
): TimelineItem[] {
  const stored = new Set(messages.map((m) => m.id));
  const rows = [
    ...messages.map((m) => ({
      id: m.id,
      body: m.body,
      call: m.kind === 'call' && m.call ? describeCall(m.call, myId) : null,
      quality: m.kind === 'call' && m.call?.quality ? describeCallQuality(m.call.quality) : null,
      senderId: m.senderId,
      at: m.createdAt,
      status: 'sent' as const,
      error: null,
    })),
    ...outbox
      .filter((e) => e.conversationId === conversationId && !stored.has(e.id))
      .map((e) => ({ id: e.id, body: e.body, call: null, quality: null, senderId: myId, at: e.createdAt, status: e.status, error: e.error })),
  ];

  const items: TimelineItem[] = [];
  /** The message a new one may continue; a call entry breaks the run. */
  let previous: (typeof rows)[number] | undefined;
  let lastAt = '';
  for (const row of rows) {
    const day = dayKey(row.at);
    const newDay = items.length === 0 || dayKey(lastAt) !== day;
    lastAt = row.at;
    if (newDay) items.push({ kind: 'day', key: `day-${day}`, at: row.at });
    if (row.call !== null) {
      items.push({ kind: 'call', key: row.id, id: row.id, text: row.call, quality: row.quality, at: row.at });
      previous = undefined;
      continue;
    }
    const continued =
      !newDay &&
      previous !== undefined &&
      previous.senderId === row.senderId &&
      Date.parse(row.at) - Date.parse(previous.at) < GROUP_WINDOW_MS;
    items.push({
      kind: 'message',
      key: row.id,
      id: row.id,
      body: row.body,
      mine: row.senderId === myId,
      at: row.at,
      status: row.status,
      error: row.error,
      continued,
    });
    previous = row;
  }
  return items;
}
