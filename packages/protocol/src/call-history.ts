import type { EndReason } from './call.ts';
import type { CallRecord } from './chat.ts';

const KIND = { audio: 'audio call', video: 'video call' } as const;
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** 192 → "3:12", 3725 → "1:02:05". */
export function formatDuration(totalS: number): string {
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** Reasons that mean the callee never got to talk. */
const MISSED: ReadonlySet<EndReason> = new Set(['no_answer', 'cancelled', 'unavailable', 'busy']);

/**
 * How a call reads in the history, from the viewer's side: the caller reads "No answer", the callee
 * "Missed video call". `viewerId` undefined gives the neutral wording stored as the message body.
 */
export function describeCall(call: CallRecord, viewerId?: string): string {
  const kind = KIND[call.kind];
  if (call.durationS !== null) {
    const failed = call.reason === 'connection_failed' || call.reason === 'peer_disconnected' ? ' · connection lost' : '';
    return `${cap(kind)} · ${formatDuration(call.durationS)}${failed}`;
  }
  const isCaller = viewerId === call.callerId;
  const isCallee = viewerId !== undefined && !isCaller;
  if (call.reason === 'declined') return isCaller ? `${cap(kind)} · declined` : `Declined ${kind}`;
  if (MISSED.has(call.reason)) {
    if (isCaller) {
      const why = { no_answer: 'no answer', cancelled: 'cancelled', unavailable: 'unavailable', busy: 'busy' }[call.reason as 'busy'];
      return `${cap(kind)} · ${why}`;
    }
    if (isCallee || viewerId === undefined) return `Missed ${kind}`;
  }
  const failures: Partial<Record<EndReason, string>> = {
    media_failed: 'camera or microphone unavailable',
    connection_failed: 'could not connect',
    negotiation_failed: 'could not connect',
    peer_disconnected: 'connection lost',
    internal_error: 'failed',
  };
  return `${cap(kind)} · ${failures[call.reason] ?? 'ended'}`;
}
