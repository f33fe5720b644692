import { END_REASONS } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { closesAtOnce, DIAGNOSIS_DETAIL, endText } from './endReasons.ts';

const caller = { direction: 'outgoing', peerName: 'Dana Doctor' } as const;
const callee = { direction: 'incoming', peerName: 'Dana Doctor' } as const;

describe('end reason texts', () => {
  it('words every reason the caller can see', () => {
    expect(endText('declined', caller)).toBe('Declined');
    expect(endText('busy', caller)).toBe('Busy');
    expect(endText('no_answer', caller)).toBe('No answer');
    expect(endText('unavailable', caller)).toBe('Unavailable — Dana Doctor is not online');
    expect(endText('media_failed', caller)).toBe('Call failed: camera or microphone unavailable');
    expect(endText('connection_failed', caller)).toBe('Call failed: could not connect');
    expect(endText('peer_disconnected', caller)).toBe("Call ended: Dana Doctor's connection was lost");
    expect(endText('user_hangup', caller)).toBe('Call ended');
  });

  it('tells the callee about a call they missed', () => {
    expect(endText('cancelled', callee)).toBe('Missed call');
    expect(endText('no_answer', callee)).toBe('Missed call');
    expect(endText('answered_elsewhere', callee)).toBe('Answered on another device');
    expect(closesAtOnce('answered_elsewhere')).toBe(true);
    expect(closesAtOnce('declined')).toBe(false);
  });

  it('says what to do when the media path failed, from the diagnosis', () => {
    expect(endText('connection_failed', { ...caller, diagnosis: 'no_turn' })).toBe(
      "Can't reach the relay (TURN) server — calls between different networks need one",
    );
    expect(endText('connection_failed', { ...callee, diagnosis: 'turn_unreachable' })).toContain("Can't reach the relay (TURN) server");
    expect(endText('connection_failed', { ...caller, diagnosis: 'no_pair' })).toBe(
      "Reached the relay server, but no connection could be made with Dana Doctor's device — their network may block it",
    );
    expect(DIAGNOSIS_DETAIL.no_turn).toMatch(/ask an administrator/);
    expect(endText('connection_failed', { ...caller, diagnosis: null })).toBe('Call failed: could not connect');
  });

  it('has a non-empty text for every reason on both sides', () => {
    for (const reason of END_REASONS) {
      expect(endText(reason, caller)).not.toBe('');
      expect(endText(reason, callee)).not.toBe('');
    }
  });
});
