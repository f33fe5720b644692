import { describe, expect, it } from 'vitest';
import { foundKinds, type GatheredCandidate } from './candidates.ts';
import { kindRows, relayRttText, turnUrlLine } from './presentation.ts';

const c = (type: GatheredCandidate['type'], relayProtocol: GatheredCandidate['relayProtocol'] = null): GatheredCandidate => ({
  type,
  protocol: 'udp',
  relayProtocol,
  address: null,
  port: null,
  url: null,
  atMs: 0,
});

describe('kindRows', () => {
  it('tells found, not found and not configured apart', () => {
    const rows = kindRows(foundKinds([c('host'), c('relay', 'udp')]), ['stun:s:3478', 'turn:t:3478', 'turn:t:3478?transport=tcp']);
    expect(rows.map((r) => `${r.label}: ${r.state}`)).toEqual([
      'Local network address (host): found',
      'Public address (srflx, via STUN): missing',
      'Relay over UDP: found',
      'Relay over TCP: missing',
      'Relay over TLS: not_configured',
    ]);
    expect(kindRows(foundKinds([c('host')]), [])[1]?.state).toBe('not_configured');
  });
});

describe('words', () => {
  it('words a TURN URL result and the round trip, saying how it was measured', () => {
    expect(turnUrlLine({ url: 'turn:t:3478', transport: 'udp', status: 'rejected', errorText: 'Unauthorized' })).toBe(
      'turn:t:3478 — the relay rejected the credentials (Unauthorized)',
    );
    expect(relayRttText({ method: 'relay-pair', rttMs: 24, pairRttMs: 48, relayProtocol: 'udp' })).toBe('24 ms (measured through the relay over UDP)');
    expect(relayRttText({ method: 'estimate', rttMs: 15, firstRelayMs: 30, note: '' })).toMatch(/^at most about 15 ms \(estimate: could not measure/);
    expect(relayRttText({ method: 'none', note: 'Could not measure: no relay reachable' })).toBe('Could not measure: no relay reachable');
  });
});
