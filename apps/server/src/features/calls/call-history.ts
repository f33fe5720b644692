import type { FastifyBaseLogger } from 'fastify';
import type { ChatStore } from '../chat/chat-store.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import type { HistoryEntry } from './call-types.ts';
import type { CallQuota } from './call-quota.ts';

/** Window of the cap on unanswered-call entries per caller and callee. */
export const UNANSWERED_WINDOW_MS = 10 * 60_000;

/**
 * Writes each call's end into the two people's conversation (message id = call id, worded per
 * viewer by describeCall) and sends it to both. One caller can only add so many unanswered calls
 * (missed, declined, busy, unavailable) to one person's history per ten minutes: beyond that the
 * calls are still refused or ended as usual, but leave no entry. Answered calls are always kept;
 * they need the callee to take part.
 */
export class CallHistory {
  constructor(
    private readonly chat: ChatStore,
    private readonly realtime: Realtime,
    private readonly quota: CallQuota,
    private readonly unansweredPer10Min: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  async write(entry: HistoryEntry): Promise<void> {
    try {
      if (entry.durationS === null) {
        const room = await this.quota.take(`history:${entry.callerId}:${entry.calleeId}`, this.unansweredPer10Min, UNANSWERED_WINDOW_MS);
        if (!room.ok) {
          this.log.info({ callId: entry.callId, event: 'history_capped', caller: entry.callerId, callee: entry.calleeId, outcome: entry.reason }, 'call history capped');
          return;
        }
      }
      const { callId, kind, callerId, reason, durationS, quality } = entry;
      const message = await this.chat.appendCall({ callId, kind, callerId, reason, durationS, quality }, entry.calleeId);
      this.realtime.toUsers(entry.callerId, entry.calleeId).emit('message.new', { message });
    } catch (err) {
      this.log.error({ err, callId: entry.callId }, 'could not write the call into the history');
    }
  }
}
