import { describe, expect, it } from 'vitest';
import { formatBitrate, formatDelay, formatPercent, oneWayText, pathText, poorConnectionText } from './quality.ts';

describe('words', () => {
  it('formats the numbers for people', () => {
    expect(pathText('relay')).toBe('Relayed (TURN)');
    expect(pathText('direct')).toBe('Direct');
    expect(formatDelay(48.4)).toBe('48 ms');
    expect(formatDelay(0.2)).toBe('< 1 ms');
    expect(formatDelay(1_420)).toBe('1.4 s');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.24)).toBe('0.2 %');
    expect(formatPercent(14.2)).toBe('14 %');
    expect(formatBitrate(512.4)).toBe('512 kbit/s');
  });

  it('says what is poor about the connection', () => {
    expect(poorConnectionText({ lossPct: 14.2, rttMs: null })).toBe('Poor connection: 14 % packet loss');
    expect(poorConnectionText({ lossPct: null, rttMs: 1_420 })).toBe('Poor connection: 1.4 s delay');
    expect(poorConnectionText({ lossPct: 12, rttMs: 1_000 })).toBe('Poor connection: 12 % packet loss, 1.0 s delay');
  });

  it('says plainly who cannot hear (or see) whom', () => {
    expect(oneWayText('inbound', 'Dana', true)).toBe("You can't hear or see Dana");
    expect(oneWayText('outbound', 'Dana', true)).toBe("Dana can't hear or see you");
    expect(oneWayText('outbound', 'Dana', false)).toBe("Dana can't hear you");
  });
});
