/*
 * How a call's media travels, from the peer connection's getStats(): the selected candidate pair
 * (direct or relayed, over what), its round-trip time, inbound packet loss and the bitrates. Plain
 * functions over a stats report, so the maths is tested on canned reports (quality.test.ts). The
 * app renders the numbers in its own words.
 */

import type { CallQuality } from '@parley/protocol';
import {
  numberField as num,
  pairCandidates,
  selectedPair,
  statsEntries as entries,
  stringField as str,
  type StatsEntry,
  type StatsReportLike,
} from './stats.ts';

export type { StatsReportLike };

export type MediaPath = CallQuality['path'];
export type MediaProtocol = CallQuality['protocol'];

/** One reading of the counters, at `at` (ms). Counters are totals since the streams started. */
export interface StatsSample {
  at: number;
  /** Null until a candidate pair is selected. */
  path: MediaPath | null;
  protocol: MediaProtocol | null;
  /** Round-trip time of the selected pair (currentRoundTripTime), in ms. */
  rttMs: number | null;
  packetsLost: number;
  packetsReceived: number;
  bytesReceived: number;
  bytesSent: number;
  /**
   * What the peer's receiver reports (RTCP) say it got from us: remote-inbound-rtp packetsReceived
   * where the browser fills it, plus roundTripTimeMeasurements (one per report block). It grows
   * only while the peer hears us; 0 where the implementation reports neither.
   */
  peerHeard: number;
}

/** What "Call details" shows, for the last interval between two samples. */
export interface CallDetails {
  path: MediaPath | null;
  protocol: MediaProtocol | null;
  rttMs: number | null;
  /** Inbound packets lost in the last interval, in percent; null when none arrived or were lost. */
  lossPct: number | null;
  inKbps: number | null;
  outKbps: number | null;
}

/** Loss above this share of packets, sustained, shows the poor-connection warning. */
export const POOR_LOSS_PCT = 10;
/** Round-trip time above this, sustained, shows the poor-connection warning. */
export const POOR_RTT_MS = 1_000;
/** How long a bad reading must last before the warning shows: a single bad second is not news. */
export const POOR_SUSTAIN_MS = 3_000;

const PROTOCOLS: readonly string[] = ['udp', 'tcp', 'tls'];
const asProtocol = (value: string | null): MediaProtocol | null =>
  value !== null && PROTOCOLS.includes(value.toLowerCase()) ? (value.toLowerCase() as MediaProtocol) : null;

/** Direct or relayed, and over what: for a local relay candidate the transport to the TURN server. */
export function pathOf(report: StatsReportLike, pair: StatsEntry): { path: MediaPath; protocol: MediaProtocol | null } {
  const { local, remote } = pairCandidates(report, pair);
  const localRelay = str(local, 'candidateType') === 'relay';
  const relay = localRelay || str(remote, 'candidateType') === 'relay';
  const protocol = localRelay
    ? (asProtocol(str(local, 'relayProtocol')) ?? asProtocol(str(local, 'protocol')))
    : (asProtocol(str(pair, 'protocol')) ?? asProtocol(str(local, 'protocol')));
  return { path: relay ? 'relay' : 'direct', protocol };
}

/** Reads one sample from a getStats() report. */
export function readSample(report: StatsReportLike, at: number): StatsSample {
  const pair = selectedPair(report);
  const route = pair ? pathOf(report, pair) : null;
  const rtt = num(pair, 'currentRoundTripTime');
  let packetsLost = 0;
  let packetsReceived = 0;
  let bytesReceived = 0;
  let bytesSent = 0;
  for (const inbound of entries(report, 'inbound-rtp')) {
    // packetsLost may go negative with duplicates (RFC 3550); that is not "less than no loss".
    packetsLost += Math.max(0, num(inbound, 'packetsLost') ?? 0);
    packetsReceived += num(inbound, 'packetsReceived') ?? 0;
    bytesReceived += num(inbound, 'bytesReceived') ?? 0;
  }
  for (const outbound of entries(report, 'outbound-rtp')) bytesSent += num(outbound, 'bytesSent') ?? 0;
  let peerHeard = 0;
  for (const remote of entries(report, 'remote-inbound-rtp')) {
    peerHeard += (num(remote, 'packetsReceived') ?? 0) + (num(remote, 'roundTripTimeMeasurements') ?? 0);
  }
  return {
    at,
    path: route?.path ?? null,
    protocol: route?.protocol ?? null,
    rttMs: rtt === null ? null : rtt * 1000,
    packetsLost,
    packetsReceived,
    bytesReceived,
    bytesSent,
    peerHeard,
  };
}

/** A counter's growth; a counter that went down (a stream was replaced) counts as a fresh start. */
export const delta = (now: number, before: number): number => (now >= before ? now - before : now);

/** Loss share in percent of what should have arrived; null when nothing was expected. */
export function lossPercent(lost: number, received: number): number | null {
  const expected = lost + received;
  return expected > 0 ? Math.min(100, (lost * 100) / expected) : null;
}

/** The details for the interval from `previous` to `current` (rates need two samples). */
export function intervalDetails(previous: StatsSample | null, current: StatsSample): CallDetails {
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  const rate = (now: number, before: number) => (seconds > 0 ? (delta(now, before) * 8) / 1000 / seconds : null);
  return {
    path: current.path,
    protocol: current.protocol,
    rttMs: current.rttMs,
    lossPct:
      previous && seconds > 0
        ? lossPercent(delta(current.packetsLost, previous.packetsLost), delta(current.packetsReceived, previous.packetsReceived))
        : null,
    inKbps: previous ? rate(current.bytesReceived, previous.bytesReceived) : null,
    outKbps: previous ? rate(current.bytesSent, previous.bytesSent) : null,
  };
}

/** A poor connection: loss above POOR_LOSS_PCT and/or delay above POOR_RTT_MS, sustained. Null fields are fine. */
export interface QualityWarning {
  lossPct: number | null;
  rttMs: number | null;
}

/**
 * A call's measurements over time: feed it a sample a second; it keeps the last interval's
 * details, the poor-connection warning (bad loss or delay sustained POOR_SUSTAIN_MS) and the
 * call's summary for the history entry (average RTT, loss over the whole call).
 */
export class QualityMeter {
  #previous: StatsSample | null = null;
  #details: CallDetails | null = null;
  #path: MediaPath | null = null;
  #protocol: MediaProtocol | null = null;
  #rttSum = 0;
  #rttCount = 0;
  #lost = 0;
  #received = 0;
  #lossBadSince: number | null = null;
  #rttBadSince: number | null = null;
  /** Which problems the shown warning is about: its words stay put while they last (no re-announcing every second). */
  #warningKinds = '';
  #warning: QualityWarning | null = null;

  get details(): CallDetails | null {
    return this.#details;
  }

  /** The poor connection while it lasts (the same object while the same problems last), else null. */
  get warning(): QualityWarning | null {
    return this.#warning;
  }

  add(sample: StatsSample): void {
    const previous = this.#previous;
    if (previous && sample.at <= previous.at) return;
    const details = intervalDetails(previous, sample);
    this.#details = details;
    if (sample.path) this.#path = sample.path;
    if (sample.protocol) this.#protocol = sample.protocol;
    if (sample.rttMs !== null) {
      this.#rttSum += sample.rttMs;
      this.#rttCount += 1;
    }
    this.#lost += previous ? delta(sample.packetsLost, previous.packetsLost) : sample.packetsLost;
    this.#received += previous ? delta(sample.packetsReceived, previous.packetsReceived) : sample.packetsReceived;

    // A bad interval starts at the sample before it; the warning shows once the run is long enough.
    const start = previous?.at ?? sample.at;
    const lossBad = details.lossPct !== null && details.lossPct > POOR_LOSS_PCT;
    const rttBad = details.rttMs !== null && details.rttMs > POOR_RTT_MS;
    this.#lossBadSince = lossBad ? (this.#lossBadSince ?? start) : null;
    this.#rttBadSince = rttBad ? (this.#rttBadSince ?? start) : null;
    const lossPoor = this.#lossBadSince !== null && sample.at - this.#lossBadSince >= POOR_SUSTAIN_MS;
    const rttPoor = this.#rttBadSince !== null && sample.at - this.#rttBadSince >= POOR_SUSTAIN_MS;
    const kinds = `${lossPoor ? 'loss' : ''}${rttPoor ? 'rtt' : ''}`;
    if (kinds !== this.#warningKinds) {
      this.#warningKinds = kinds;
      this.#warning = kinds ? { lossPct: lossPoor ? details.lossPct : null, rttMs: rttPoor ? details.rttMs : null } : null;
    }
    this.#previous = sample;
  }

  /** What to report for the history entry; null until a candidate pair was seen. `oneWay` from the watchdog. */
  summary(oneWay?: CallQuality['oneWay']): CallQuality | null {
    if (!this.#path) return null;
    const loss = lossPercent(this.#lost, this.#received);
    return {
      ...(oneWay ? { oneWay } : {}),
      path: this.#path,
      // A pair without a readable protocol is, in every browser seen, UDP.
      protocol: this.#protocol ?? 'udp',
      rttMs: this.#rttCount > 0 ? Math.min(60_000, round(this.#rttSum / this.#rttCount, 1)) : null,
      lossPct: loss === null ? null : round(loss, 2),
    };
  }
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
