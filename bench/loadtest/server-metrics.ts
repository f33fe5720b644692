import type { ParleyApi } from './admin.ts';

/** The few figures the load test reads from the server's /metrics. */
export interface MetricsSample {
  at: number;
  cpuSeconds: number;
  rssBytes: number;
  activeCalls: number;
  endedTotal: number;
  endedByReason: Record<string, number>;
  sockets: number;
}

function value(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export function parseMetrics(text: string, at = Date.now()): MetricsSample {
  const endedByReason: Record<string, number> = {};
  for (const m of text.matchAll(/^parley_calls_ended_total\{reason="([^"]+)"\} ([0-9.eE+-]+)$/gm)) endedByReason[m[1]!] = Number(m[2]);
  return {
    at,
    cpuSeconds: value(text, 'process_cpu_seconds_total') ?? Number.NaN,
    rssBytes: value(text, 'process_resident_memory_bytes') ?? Number.NaN,
    activeCalls: value(text, 'parley_active_calls') ?? Number.NaN,
    endedTotal: Object.values(endedByReason).reduce((a, b) => a + b, 0),
    endedByReason,
    sockets: value(text, 'parley_sockets_connected') ?? Number.NaN,
  };
}

/** GET /metrics with the token; a clear error when the server refuses it or has no /metrics. */
export async function scrape(api: ParleyApi, token: string): Promise<MetricsSample> {
  const res = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status === 401) throw new Error('the server refused the metrics token (401)');
  if (res.status === 404) throw new Error('the server has no /metrics (start it with METRICS_TOKEN set)');
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return parseMetrics(text);
}

/** Samples /metrics every `everyMs` while a run lasts: CPU use between samples and the highest RSS. */
export class MetricsWatch {
  readonly samples: MetricsSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  error: string | undefined;

  constructor(
    private readonly api: ParleyApi,
    private readonly token: string,
  ) {}

  async start(everyMs = 1000): Promise<MetricsSample> {
    const first = await scrape(this.api, this.token);
    this.samples.push(first);
    this.timer = setInterval(() => {
      scrape(this.api, this.token).then(
        (s) => this.samples.push(s),
        (err: unknown) => (this.error = String(err)),
      );
    }, everyMs);
    return first;
  }

  async stop(): Promise<MetricsSample> {
    clearInterval(this.timer);
    const last = await scrape(this.api, this.token);
    this.samples.push(last);
    return last;
  }

  /** Mean CPU (share of one core) over the run, the busiest second, and the largest RSS seen. */
  summary(): { cpuMeanPct: number; cpuPeakPct: number; rssPeakMb: number; rssEndMb: number } {
    const s = this.samples;
    let peak = 0;
    for (let i = 1; i < s.length; i++) {
      const dt = (s[i]!.at - s[i - 1]!.at) / 1000;
      if (dt > 0.2) peak = Math.max(peak, (s[i]!.cpuSeconds - s[i - 1]!.cpuSeconds) / dt);
    }
    const first = s[0]!;
    const last = s[s.length - 1]!;
    const mean = (last.cpuSeconds - first.cpuSeconds) / Math.max(0.001, (last.at - first.at) / 1000);
    const mb = (b: number) => Math.round(b / 1e5) / 10;
    return { cpuMeanPct: Math.round(mean * 1000) / 10, cpuPeakPct: Math.round(peak * 1000) / 10, rssPeakMb: mb(Math.max(...s.map((x) => x.rssBytes))), rssEndMb: mb(last.rssBytes) };
  }
}
