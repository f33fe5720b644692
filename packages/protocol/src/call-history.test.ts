import { describe, expect, it } from 'vitest';
import { describeCall, formatDuration } from './call-history.ts';
import type { CallRecord } from './chat.ts';

const caller = '11111111-1111-4111-8111-111111111111';
const callee = '22222222-2222-4222-8222-222222222222';
const rec = (p: Partial<CallRecord>): CallRecord => ({ callId: '33333333-3333-4333-8333-333333333333', kind: 'video', callerId: caller, reason: 'user_hangup', durationS: null, ...p });

describe('call history wording', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(192)).toBe('3:12');
    expect(formatDuration(3725)).toBe('1:02:05');
  });

  it('words each outcome from each side', () => {
    expect(describeCall(rec({ durationS: 192, kind: 'audio' }), caller)).toBe('Audio call · 3:12');
    expect(describeCall(rec({ durationS: 192 }), callee)).toBe('Video call · 3:12');
    expect(describeCall(rec({ reason: 'no_answer' }), callee)).toBe('Missed video call');
    expect(describeCall(rec({ reason: 'no_answer' }), caller)).toBe('Video call · no answer');
    expect(describeCall(rec({ reason: 'cancelled' }), callee)).toBe('Missed video call');
    expect(describeCall(rec({ reason: 'unavailable' }))).toBe('Missed video call');
    expect(describeCall(rec({ reason: 'declined' }), callee)).toBe('Declined video call');
    expect(describeCall(rec({ reason: 'declined' }), caller)).toBe('Video call · declined');
    expect(describeCall(rec({ reason: 'busy' }), caller)).toBe('Video call · busy');
    expect(describeCall(rec({ reason: 'media_failed' }), caller)).toBe('Video call · camera or microphone unavailable');
    expect(describeCall(rec({ reason: 'peer_disconnected', durationS: 65 }), caller)).toBe('Video call · 1:05 · connection lost');
  });
});
