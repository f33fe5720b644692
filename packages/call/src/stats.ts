/*
 * Reading RTCStatsReports without trusting their shape: browsers differ in which fields they fill.
 * Shared by the call quality meter (quality.ts) and the web app's connection test.
 */

import type { StatsReportLike } from './webrtc.ts';

export type { StatsReportLike };

/** One stats object, as much of it as we read. */
export type StatsEntry = Record<string, unknown> & { type?: unknown };

export const entryOf = (value: unknown): StatsEntry | null => (typeof value === 'object' && value !== null ? (value as StatsEntry) : null);

export const numberField = (e: StatsEntry | null | undefined, key: string): number | null => {
  const v = e?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

export const stringField = (e: StatsEntry | null | undefined, key: string): string | null => {
  const v = e?.[key];
  return typeof v === 'string' ? v : null;
};

/** Every entry of one `type` ("inbound-rtp", "candidate-pair", …). */
export function statsEntries(report: StatsReportLike, type: string): StatsEntry[] {
  const out: StatsEntry[] = [];
  for (const value of report.values()) {
    const e = entryOf(value);
    if (e?.type === type) out.push(e);
  }
  return out;
}

/**
 * The candidate pair the media uses: the transport's `selectedCandidatePairId` (the spec, Chrome,
 * Safari), else a pair flagged `selected` (Firefox), else a nominated pair that succeeded.
 */
export function selectedPair(report: StatsReportLike): StatsEntry | null {
  for (const transport of statsEntries(report, 'transport')) {
    const id = stringField(transport, 'selectedCandidatePairId');
    const pair = id ? entryOf(report.get(id)) : null;
    if (pair) return pair;
  }
  const pairs = statsEntries(report, 'candidate-pair');
  return pairs.find((p) => p.selected === true) ?? pairs.find((p) => p.nominated === true && p.state === 'succeeded') ?? null;
}

/** The local and remote candidates of a pair. */
export function pairCandidates(report: StatsReportLike, pair: StatsEntry): { local: StatsEntry | null; remote: StatsEntry | null } {
  return {
    local: entryOf(report.get(stringField(pair, 'localCandidateId') ?? '')),
    remote: entryOf(report.get(stringField(pair, 'remoteCandidateId') ?? '')),
  };
}
