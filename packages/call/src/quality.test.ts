import { describe, expect, it } from 'vitest';
import {
  intervalDetails,
  QualityMeter,
  readSample,
  type StatsSample,
} from './quality.ts';

/** A report shaped like Chrome's: one transport, its selected pair, candidates, audio and video RTP. */
function chromeReport(o: {
  local: Record<string, unknown>;
  remote: Record<string, unknown>;
  rtt?: number;
  audioIn?: { lost: number; received: number; bytes: number };
  videoIn?: { lost: number; received: number; bytes: number };
  sent?: number;
}): Map<string, unknown> {
  const stats: Record<string, unknown>[] = [
    { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP1', dtlsState: 'connected' },
    { id: 'CP0', type: 'candidate-pair', localCandidateId: 'Lhost', remoteCandidateId: 'Rhost', state: 'failed', nominated: false },
    {
      id: 'CP1',
      type: 'candidate-pair',
      localCandidateId: 'L1',
      remoteCandidateId: 'R1',
      state: 'succeeded',
      nominated: true,
      ...(o.rtt !== undefined ? { currentRoundTripTime: o.rtt } : {}),
    },
    { id: 'Lhost', type: 'local-candidate', candidateType: 'host', protocol: 'udp', address: '10.0.0.2' },
    { id: 'Rhost', type: 'remote-candidate', candidateType: 'host', protocol: 'udp', address: '10.0.1.2' },
    { id: 'L1', type: 'local-candidate', ...o.local },
    { id: 'R1', type: 'remote-candidate', ...o.remote },
  ];
  if (o.audioIn) stats.push({ id: 'IA', type: 'inbound-rtp', kind: 'audio', packetsLost: o.audioIn.lost, packetsReceived: o.audioIn.received, bytesReceived: o.audioIn.bytes });
  if (o.videoIn) stats.push({ id: 'IV', type: 'inbound-rtp', kind: 'video', packetsLost: o.videoIn.lost, packetsReceived: o.videoIn.received, bytesReceived: o.videoIn.bytes });
  if (o.sent !== undefined) stats.push({ id: 'OA', type: 'outbound-rtp', kind: 'audio', bytesSent: o.sent / 2 }, { id: 'OV', type: 'outbound-rtp', kind: 'video', bytesSent: o.sent / 2 });
  return new Map(stats.map((s) => [s.id as string, s]));
}

const host = { candidateType: 'host', protocol: 'udp' };
const srflx = { candidateType: 'srflx', protocol: 'udp' };

describe('readSample', () => {
  it('reads a direct UDP path, its RTT and the summed RTP counters', () => {
    const sample = readSample(
      chromeReport({ local: srflx, remote: host, rtt: 0.048, audioIn: { lost: 2, received: 98, bytes: 4000 }, videoIn: { lost: 0, received: 400, bytes: 300_000 }, sent: 250_000 }),
      1_000,
    );
    expect(sample).toEqual({
      at: 1_000,
      path: 'direct',
      protocol: 'udp',
      rttMs: 48,
      packetsLost: 2,
      packetsReceived: 498,
      bytesReceived: 304_000,
      bytesSent: 250_000,
      peerHeard: 0,
    });
  });

  it('calls a pair relayed when the local candidate is a relay, with the protocol to the TURN server', () => {
    const tls = readSample(chromeReport({ local: { candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' }, remote: srflx }), 0);
    expect(tls).toMatchObject({ path: 'relay', protocol: 'tls' });
    const tcp = readSample(chromeReport({ local: { candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp' }, remote: host }), 0);
    expect(tcp).toMatchObject({ path: 'relay', protocol: 'tcp' });
  });

  it('calls a pair relayed when only the remote candidate is a relay', () => {
    const s = readSample(chromeReport({ local: { candidateType: 'host', protocol: 'tcp' }, remote: { candidateType: 'relay', protocol: 'udp' } }), 0);
    expect(s).toMatchObject({ path: 'relay', protocol: 'tcp' });
  });

  it('finds Firefox’s selected pair (no selectedCandidatePairId) and tolerates a report with no pair yet', () => {
    const firefox = new Map<string, unknown>([
      ['p', { id: 'p', type: 'candidate-pair', selected: true, localCandidateId: 'l', remoteCandidateId: 'r', currentRoundTripTime: 0.02 }],
      ['l', { id: 'l', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'udp' }],
      ['r', { id: 'r', type: 'remote-candidate', candidateType: 'host', protocol: 'udp' }],
    ]);
    expect(readSample(firefox, 5)).toMatchObject({ path: 'relay', protocol: 'udp', rttMs: 20 });
    expect(readSample(new Map(), 5)).toMatchObject({ path: null, protocol: null, rttMs: null, packetsReceived: 0 });
  });

  it('does not count negative packetsLost (duplicates) as negative loss', () => {
    const s = readSample(chromeReport({ local: host, remote: host, audioIn: { lost: -3, received: 100, bytes: 1 } }), 0);
    expect(s.packetsLost).toBe(0);
  });
});

const sample = (at: number, o: Partial<StatsSample> = {}): StatsSample => ({
  at,
  path: 'direct',
  protocol: 'udp',
  rttMs: 40,
  packetsLost: 0,
  packetsReceived: 0,
  bytesReceived: 0,
  bytesSent: 0,
  peerHeard: 0,
  ...o,
});

describe('intervalDetails', () => {
  it('gives loss and bitrates over the interval between two samples', () => {
    const before = sample(10_000, { packetsLost: 10, packetsReceived: 990, bytesReceived: 1_000_000, bytesSent: 500_000 });
    const after = sample(12_000, { packetsLost: 24, packetsReceived: 1_076, bytesReceived: 1_125_000, bytesSent: 550_000, rttMs: 52 });
    // 14 lost of 100 expected; 125 000 bytes in 2 s = 500 kbit/s; 50 000 bytes = 200 kbit/s.
    expect(intervalDetails(before, after)).toEqual({ path: 'direct', protocol: 'udp', rttMs: 52, lossPct: 14, inKbps: 500, outKbps: 200 });
  });

  it('has no rates or loss from a single sample, nor loss when no packet was expected', () => {
    expect(intervalDetails(null, sample(0))).toMatchObject({ lossPct: null, inKbps: null, outKbps: null, rttMs: 40 });
    expect(intervalDetails(sample(0), sample(1_000)).lossPct).toBeNull();
  });

  it('treats a counter that went down (a replaced stream) as restarted, not as negative traffic', () => {
    const d = intervalDetails(sample(0, { bytesSent: 900_000 }), sample(1_000, { bytesSent: 25_000 }));
    expect(d.outKbps).toBe(200);
  });
});

/** Samples a second apart with `lossPerSecond` of every 100 packets lost and `rttMs` of delay. */
function feed(meter: QualityMeter, from: number, seconds: number, lossPerSecond: number, rttMs: number, start = { lost: 0, received: 0 }) {
  const counters = { ...start };
  for (let i = 0; i < seconds; i++) {
    counters.lost += lossPerSecond;
    counters.received += 100 - lossPerSecond;
    meter.add(sample(from + i * 1000, { packetsLost: counters.lost, packetsReceived: counters.received, rttMs }));
  }
  return counters;
}

describe('QualityMeter', () => {
  it('warns about loss above 10 % only once it has lasted about 3 s, and stops when it is over', () => {
    const meter = new QualityMeter();
    let c = feed(meter, 0, 3, 0, 40);
    expect(meter.warning).toBeNull();
    c = feed(meter, 3_000, 2, 14, 40, c);
    // Two bad seconds: not yet.
    expect(meter.warning).toBeNull();
    c = feed(meter, 5_000, 1, 14, 40, c);
    expect(meter.warning).toEqual({ lossPct: 14, rttMs: null });
    // The warning stays put while the problem lasts, so its words are not re-announced every second.
    const shown = meter.warning;
    c = feed(meter, 6_000, 1, 30, 40, c);
    expect(meter.warning).toBe(shown);
    feed(meter, 7_000, 1, 0, 40, c);
    expect(meter.warning).toBeNull();
  });

  it('warns about a delay above 1 s sustained for 3 s', () => {
    const meter = new QualityMeter();
    feed(meter, 0, 1, 0, 40);
    feed(meter, 1_000, 2, 0, 1_400, { lost: 0, received: 100 });
    expect(meter.warning).toBeNull();
    feed(meter, 3_000, 1, 0, 1_400, { lost: 0, received: 300 });
    expect(meter.warning).toEqual({ lossPct: null, rttMs: 1_400 });
  });

  it('ignores a single bad second', () => {
    const meter = new QualityMeter();
    let c = feed(meter, 0, 2, 0, 40);
    c = feed(meter, 2_000, 1, 50, 2_000, c);
    feed(meter, 3_000, 5, 0, 40, c);
    expect(meter.warning).toBeNull();
  });

  it('summarises the call: last path, average RTT, loss over the whole call', () => {
    const meter = new QualityMeter();
    expect(meter.summary()).toBeNull();
    meter.add(sample(0, { path: null, protocol: null, rttMs: null }));
    expect(meter.summary()).toBeNull();
    meter.add(sample(1_000, { path: 'relay', protocol: 'tcp', rttMs: 40, packetsLost: 1, packetsReceived: 199 }));
    meter.add(sample(2_000, { path: 'relay', protocol: 'tcp', rttMs: 60, packetsLost: 1, packetsReceived: 399 }));
    meter.add(sample(3_000, { path: 'relay', protocol: 'tcp', rttMs: 50, packetsLost: 2, packetsReceived: 998 }));
    expect(meter.summary()).toEqual({ path: 'relay', protocol: 'tcp', rttMs: 50, lossPct: 0.2 });
    expect(meter.details).toMatchObject({ path: 'relay', protocol: 'tcp', rttMs: 50 });
    expect(meter.details?.lossPct).toBeCloseTo(0.167, 2);
  });

  it('ignores a sample that is not newer than the last one', () => {
    const meter = new QualityMeter();
    meter.add(sample(1_000, { rttMs: 40 }));
    meter.add(sample(1_000, { rttMs: 4_000 }));
    expect(meter.summary()?.rttMs).toBe(40);
  });

  it('carries a one-way fact in the summary only when there is one', () => {
    const meter = new QualityMeter();
    meter.add(sample(1_000, { path: 'direct', protocol: 'udp', rttMs: 10, packetsReceived: 100 }));
    expect(meter.summary()).toEqual({ path: 'direct', protocol: 'udp', rttMs: 10, lossPct: 0 });
    expect(meter.summary('inbound')).toEqual({ path: 'direct', protocol: 'udp', rttMs: 10, lossPct: 0, oneWay: 'inbound' });
  });
});

describe('readSample and the peer receiver reports', () => {
  it('sums remote-inbound-rtp packetsReceived and roundTripTimeMeasurements as what the peer heard', () => {
    const report = new Map<string, unknown>([
      ['RA', { id: 'RA', type: 'remote-inbound-rtp', kind: 'audio', roundTripTimeMeasurements: 7 }],
      ['RV', { id: 'RV', type: 'remote-inbound-rtp', kind: 'video', packetsReceived: 30 }],
    ]);
    expect(readSample(report, 0).peerHeard).toBe(37);
    expect(readSample(new Map(), 0).peerHeard).toBe(0);
  });
});
