import { describe, expect, it } from 'vitest';
import { describeCallQuality } from './callQuality.ts';

describe('describeCallQuality', () => {
  it('words the path, protocol, average round trip and loss of a call', () => {
    expect(describeCallQuality({ path: 'relay', protocol: 'udp', rttMs: 48.4, lossPct: 0.24 })).toBe('Relayed (TURN) · UDP · 48 ms · 0.2 % loss');
    expect(describeCallQuality({ path: 'direct', protocol: 'tcp', rttMs: 3, lossPct: 0 })).toBe('Direct · TCP · 3 ms · 0 % loss');
    expect(describeCallQuality({ path: 'relay', protocol: 'tls', rttMs: null, lossPct: 14.2 })).toBe('Relayed (TURN) · TLS · 14 % loss');
    expect(describeCallQuality({ path: 'direct', protocol: 'udp', rttMs: null, lossPct: null })).toBe('Direct · UDP');
    expect(describeCallQuality({ path: 'direct', protocol: 'udp', rttMs: 12, lossPct: 0, oneWay: 'inbound' })).toBe('Direct · UDP · 12 ms · 0 % loss · one-way media');
  });
});
