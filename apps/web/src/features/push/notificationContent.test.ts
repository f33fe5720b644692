import { describe, expect, it } from 'vitest';
import { messageNotification, missedNotification, ringingNotification } from './notificationContent.ts';

const callId = '6f1c9a53-3d0e-4a8e-9a57-7b1d2a1f0c11';

describe('what the service worker shows', () => {
  it('rings with the caller, the kind, Answer and Decline, under the call’s tag', () => {
    expect(ringingNotification({ type: 'call.ringing', callId, fromName: 'Dana Doctor', kind: 'video', expiresAt: 0 })).toEqual({
      title: 'Dana Doctor is calling',
      body: 'Video call · Parley',
      tag: `call:${callId}`,
      requireInteraction: true,
      actions: [
        { action: 'answer', title: 'Answer' },
        { action: 'decline', title: 'Decline' },
      ],
      data: { kind: 'call', callId },
    });
  });

  it('replaces it with a missed call under the same tag, without actions', () => {
    const n = missedNotification({ type: 'call.closed', callId, fromName: 'Dana Doctor', kind: 'audio', missed: true });
    expect(n).toMatchObject({ title: 'Missed call from Dana Doctor', body: 'Audio call · Parley', tag: `call:${callId}`, actions: [] });
  });

  it('names who wrote, not what, unless the server sent a preview', () => {
    const base = { type: 'message.new' as const, conversationId: callId, fromName: 'Dana Doctor' };
    expect(messageNotification(base)).toMatchObject({ title: 'New message from Dana Doctor', body: 'Open Parley to read it', tag: `conversation:${callId}` });
    expect(messageNotification({ ...base, preview: 'Lunch?' }).body).toBe('Lunch?');
  });
});
