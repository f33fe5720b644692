import { percentile } from '../lib/stats.ts';

/** Why a call did not complete; counted in `failures`. */
export type FailureReason =
  | 'invite_refused'
  | 'no_ring'
  | 'ended_before_connected'
  | 'setup_timeout'
  | 'data_channel'
  | 'media_short'
  | 'dropped_while_held'
  | 'hangup_refused'
  | 'interrupted'
  | 'error';

export interface CallOutcome {
  ok: boolean;
  failure?: FailureReason;
  /** What the engine or server said, for the report's details. */
  detail?: string;
  inviteToRingMs?: number;
  answerToConnectedMs?: number;
  /** Data channel messages: sent by each side, received by the other. */
  data?: { sent: number; received: number };
  /**
   * RTP packets: what the senders wrote (all expected), what the receivers counted, and what the
   * senders' schedule skipped because their process stalled for over a second (a loaded client).
   */
  media?: { expected: number; received: number; skipped: number };
  /** Both devices' timeline of the call set-up (engine log, signals, werift states); the runner drops it from calls that are neither failed nor among the slowest. */
  trace?: string[];
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface Report {
  url: string;
  options: { calls: number; concurrency: number; media: boolean; durationS: number; rampS: number; workers: number; audioPps?: number; videoPps?: number };
  attempted: number;
  connected: number;
  completed: number;
  failed: number;
  failures: Partial<Record<FailureReason, number>>;
  inviteToRingMs: Latency | null;
  answerToConnectedMs: Latency | null;
  dataMessages: { sent: number; received: number };
  mediaPackets: { expected: number; received: number; ratio: number; skipped: number } | null;
  server: { cpuMeanPct: number; cpuPeakPct: number; rssPeakMb: number; rssEndMb: number; callsEnded: number; activeAfter: number; agrees: boolean } | { unavailable: string };
  wallS: number;
  interrupted: boolean;
  /** The device processes' own load: the tool is the limit if these are saturated. */
  clients: ClientLoad[];
  /** Every connected call's answer → connected, for the histogram. */
  setupSamplesMs: number[];
  /** A few failure details (first of each reason). */
  details: string[];
}

export interface ClientLoad {
  cpuMeanPct: number;
  cpuPeakPct: number;
  /** Event-loop delay of the process over the run, and the worst single delay. */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

export function latency(samples: number[]): Latency | null {
  if (samples.length === 0) return null;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(percentile(samples, 50)), p95: r(percentile(samples, 95)), p99: r(percentile(samples, 99)), max: r(Math.max(...samples)) };
}

export function buildReport(base: Pick<Report, 'url' | 'options' | 'server' | 'wallS' | 'interrupted' | 'clients'>, outcomes: CallOutcome[]): Report {
  const failures: Partial<Record<FailureReason, number>> = {};
  const details: string[] = [];
  for (const o of outcomes) {
    if (o.ok || !o.failure) continue;
    if (!failures[o.failure]) details.push(`${o.failure}: ${o.detail ?? ''}`.trim());
    failures[o.failure] = (failures[o.failure] ?? 0) + 1;
  }
  const media = outcomes.filter((o) => o.media).map((o) => o.media!);
  const expected = media.reduce((n, m) => n + m.expected, 0);
  const received = media.reduce((n, m) => n + m.received, 0);
  const skipped = media.reduce((n, m) => n + m.skipped, 0);
  return {
    ...base,
    attempted: outcomes.length,
    connected: outcomes.filter((o) => o.answerToConnectedMs !== undefined).length,
    completed: outcomes.filter((o) => o.ok).length,
    failed: outcomes.filter((o) => !o.ok).length,
    failures,
    inviteToRingMs: latency(outcomes.flatMap((o) => (o.inviteToRingMs === undefined ? [] : [o.inviteToRingMs]))),
    answerToConnectedMs: latency(outcomes.flatMap((o) => (o.answerToConnectedMs === undefined ? [] : [o.answerToConnectedMs]))),
    dataMessages: { sent: outcomes.reduce((n, o) => n + (o.data?.sent ?? 0), 0), received: outcomes.reduce((n, o) => n + (o.data?.received ?? 0), 0) },
    mediaPackets: base.options.media ? { expected, received, ratio: expected ? Math.round((received / expected) * 1000) / 1000 : 0, skipped } : null,
    details,
    setupSamplesMs: outcomes.flatMap((o) => (o.answerToConnectedMs === undefined ? [] : [Math.round(o.answerToConnectedMs)])),
  };
}

const fmt = (l: Latency | null) => (l ? `p50 ${l.p50} ms · p95 ${l.p95} ms · p99 ${l.p99} ms · max ${l.max} ms` : 'none measured');

export function formatReport(r: Report): string {
  const lines = [
    `Load test of ${r.url}: ${r.options.calls} calls, ${r.options.concurrency} at a time (started over ${r.options.rampS} s, devices in ${r.options.workers} processes), held ${r.options.durationS} s${r.options.media ? `, with media (${r.options.audioPps} audio + ${r.options.videoPps} video packets/s each way)` : ''}${r.interrupted ? ' — INTERRUPTED' : ''}`,
    `  calls        attempted ${r.attempted} · connected ${r.connected} · completed ${r.completed} · failed ${r.failed}`,
  ];
  for (const [reason, n] of Object.entries(r.failures)) lines.push(`    failed: ${reason} × ${n}`);
  for (const d of r.details) lines.push(`      e.g. ${d}`);
  lines.push(`  invite→ring      ${fmt(r.inviteToRingMs)}`, `  answer→connected ${fmt(r.answerToConnectedMs)}`);
  lines.push(`  data channel     ${r.dataMessages.received} of ${r.dataMessages.sent} messages received`);
  if (r.mediaPackets) {
    const m = r.mediaPackets;
    lines.push(`  media            ${m.received} of ${m.expected} RTP packets received (${(m.ratio * 100).toFixed(1)} %)${m.skipped ? ` · the senders' processes stalled and skipped ${m.skipped} more (not counted as expected)` : ''}`);
  }
  if ('unavailable' in r.server) lines.push(`  server           ${r.server.unavailable}`);
  else {
    const s = r.server;
    lines.push(`  server           CPU mean ${s.cpuMeanPct} % of a core, peak ${s.cpuPeakPct} % · RSS peak ${s.rssPeakMb} MB, at the end ${s.rssEndMb} MB`);
    lines.push(`  /metrics         calls ended +${s.callsEnded}, active after ${s.activeAfter}: ${s.agrees ? 'agrees with this report' : 'DOES NOT agree with this report'}`);
  }
  for (const [i, c] of r.clients.entries()) {
    lines.push(`  device process ${i + 1} CPU mean ${c.cpuMeanPct} % of a core, peak ${c.cpuPeakPct} % · event-loop delay p50 ${c.lagP50Ms} ms, p99 ${c.lagP99Ms} ms, max ${c.lagMaxMs} ms`);
  }
  lines.push(`  wall time        ${r.wallS} s`);
  return lines.join('\n');
}

/** A histogram of set-up times (answer → connected), as a small self-contained SVG. */
export function histogramSvg(samples: number[], title: string): string {
  const W = 640;
  const H = 320;
  const pad = { l: 50, r: 16, t: 36, b: 44 };
  const bins = 20;
  const max = samples.length ? Math.max(...samples) : 1;
  const width = Math.max(1, Math.ceil(max / bins));
  const counts = new Array<number>(bins).fill(0);
  for (const s of samples) counts[Math.min(bins - 1, Math.floor(s / width))]!++;
  const top = Math.max(1, ...counts);
  const bw = (W - pad.l - pad.r) / bins;
  const y = (c: number) => pad.t + (H - pad.t - pad.b) * (1 - c / top);
  const bars = counts
    .map((c, i) => `<rect x="${(pad.l + i * bw + 1).toFixed(1)}" y="${y(c).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(H - pad.b - y(c)).toFixed(1)}" fill="#3b6ea8"><title>${i * width}–${(i + 1) * width} ms: ${c}</title></rect>`)
    .join('');
  const ticks = [0, 5, 10, 15, 20].map((i) => `<text x="${pad.l + i * bw}" y="${H - pad.b + 16}" text-anchor="middle">${i * width}</text>`).join('');
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#333"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#333"/>
<text x="${pad.l - 6}" y="${pad.t + 4}" text-anchor="end">${top}</text><text x="${pad.l - 6}" y="${H - pad.b}" text-anchor="end">0</text>
${bars}${ticks}
<text x="${W / 2}" y="${H - 8}" text-anchor="middle">answer → connected (ms), ${samples.length} calls</text>
</svg>
`;
}
