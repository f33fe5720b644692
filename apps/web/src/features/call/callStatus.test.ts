import { describe, expect, it } from 'vitest';
import { formatTimer, phaseText, transportText } from './callStatus.ts';

describe('call status', () => {
  it('formats the timer as m:ss', () => {
    expect(formatTimer(0)).toBe('0:00');
    expect(formatTimer(7_900)).toBe('0:07');
    expect(formatTimer(750_000)).toBe('12:30');
    expect(formatTimer(3_725_000)).toBe('1:02:05');
    expect(formatTimer(-5)).toBe('0:00');
  });

  it('names the phase the way the caller experiences it', () => {
    expect(phaseText('preparing', 'outgoing', false)).toBe('Calling…');
    expect(phaseText('outgoing', 'outgoing', false)).toBe('Calling…');
    expect(phaseText('outgoing', 'outgoing', true)).toBe('Ringing');
    expect(phaseText('connecting', 'incoming', false)).toBe('Connecting…');
    expect(phaseText('connected', 'outgoing', true)).toBe('Connected');
    expect(phaseText('reconnecting', 'incoming', false)).toBe('Reconnecting…');
  });

  it('words the transport like the field report', () => {
    expect(transportText('connected', 'connected')).toBe('ICE: connected · Connection: connected');
  });
});
