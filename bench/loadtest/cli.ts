// `npm run loadtest -- --url http://HOST:PORT --calls 200 --concurrency 50 [--media] …`
// (README, "Load test"). Exit codes: 0 every call completed; 1 some failed or it was interrupted;
// 2 a usage or target error (nothing was run).
import fs from 'node:fs';
import { cleanupUsers, ParleyApi, prepareUsers, TargetError } from './admin.ts';
import { DevicePool } from './device-pool.ts';
import type { WorkerPlan, WorkerStats } from './device-worker.ts';
import { LoadtestUsageError, parseOptions, USAGE, type LoadtestOptions } from './options.ts';
import { Progress } from './progress.ts';
import { buildReport, formatReport, histogramSvg, type CallOutcome, type Report } from './report.ts';
import { MetricsWatch, type MetricsSample } from './server-metrics.ts';

export async function runLoadtest(o: LoadtestOptions, io: { err: NodeJS.WritableStream; interrupted: Promise<void> }): Promise<Report> {
  const started = Date.now();
  const api = new ParleyApi(o.url);
  await api.check();
  const progress = new Progress(io.err);
  const pairs = o.concurrency;
  progress.phase(`Preparing ${pairs * 2} test users`);
  const users = await prepareUsers(api, { email: o.adminEmail, password: o.adminPassword }, pairs, (done, total) => progress.update(done, total));
  progress.done();

  let watch: MetricsWatch | undefined;
  let first: MetricsSample | undefined;
  let metricsProblem = o.metricsToken ? undefined : 'no server figures: pass --metrics-token (or set METRICS_TOKEN) for a server started with METRICS_TOKEN';
  if (o.metricsToken) {
    watch = new MetricsWatch(api, o.metricsToken);
    first = await watch.start().catch((err: unknown) => {
      metricsProblem = `no server figures: ${(err as Error).message}`;
      watch = undefined;
      return undefined;
    });
  }

  const outcomes: CallOutcome[] = [];
  let interrupted = false;
  const plan: WorkerPlan = { media: o.media, holdMs: o.durationS * 1000, setupTimeoutMs: o.setupTimeoutS * 1000, dataPerS: 2, audioPps: o.audioPps, videoPps: o.videoPps };
  const slots = Array.from({ length: pairs }, (_, i) => ({ slot: i, caller: users.callers[i]!, callee: users.callees[i]! }));
  progress.phase(`Connecting ${pairs * 2} devices in ${Math.min(o.workers, pairs)} processes`);
  const pool = await DevicePool.start({ url: o.url, slots, workers: o.workers, plan, onConnected: (n) => progress.update(n, pairs * 2) });
  void io.interrupted.then(() => {
    interrupted = true;
    pool.interrupt();
  });
  try {
    progress.done();
    progress.phase(`Calls (${o.concurrency} at a time, starts spread over ${o.rampS} s, held ${o.durationS} s)`);
    let next = 0;
    let failed = 0;
    const t0 = Date.now();
    await Promise.all(
      slots.map(async ({ slot }) => {
        // The first calls start one after another over the ramp, as people arrive; then each
        // slot starts its next call as soon as its last one has ended.
        await Promise.race([new Promise((r) => setTimeout(r, t0 + (slot * o.rampS * 1000) / pairs - Date.now())), io.interrupted]);
        while (!interrupted && next < o.calls) {
          next++;
          const outcome = await pool.run(slot);
          outcomes.push(outcome);
          if (!outcome.ok) failed++;
          progress.update(outcomes.length, o.calls, failed ? `${failed} failed` : '');
        }
      }),
    );
    progress.done();
  } finally {
    await pool.close();
  }

  const clients = pool.stats.map((s) => {
    const busy = s.cpuPct.length ? s.cpuPct : [0];
    return { cpuMeanPct: Math.round((busy.reduce((a, b) => a + b, 0) / busy.length) * 10) / 10, cpuPeakPct: Math.max(...busy), lagP50Ms: s.lagP50Ms, lagP99Ms: s.lagP99Ms, lagMaxMs: Math.max(0, ...s.lagMaxMs) };
  });
  if (o.trace) writeTraces(o.trace, outcomes, pool.stats);
  for (const outcome of outcomes) delete outcome.trace;

  let server: Report['server'] = { unavailable: metricsProblem ?? 'no server figures' };
  if (watch && first) {
    // The server ends each call as its hang up arrives; give the last ones a moment to be counted.
    await new Promise((r) => setTimeout(r, 500));
    const last = await watch.stop();
    const s = watch.summary();
    const callsEnded = last.endedTotal - first.endedTotal;
    const attempted = outcomes.length;
    server = { ...s, callsEnded, activeAfter: last.activeCalls, agrees: callsEnded === attempted && last.activeCalls === 0 };
  }
  if (o.cleanup) {
    progress.phase('Deactivating the test users');
    const n = await cleanupUsers(api, users.adminCookie);
    progress.done(`${n} deactivated`);
  }
  return buildReport(
    { url: o.url, options: { calls: o.calls, concurrency: o.concurrency, media: o.media, durationS: o.durationS, rampS: o.rampS, workers: pool.processes, ...(o.media ? { audioPps: o.audioPps, videoPps: o.videoPps } : {}) }, server, wallS: Math.round((Date.now() - started) / 100) / 10, interrupted, clients },
    outcomes,
  );
}

/** The failed calls' timelines, the 5 slowest connected ones', and each device process's load a second. */
function writeTraces(file: string, outcomes: CallOutcome[], stats: WorkerStats[]): void {
  const failed = outcomes.filter((o) => !o.ok);
  const slowest = outcomes.filter((o) => o.ok).sort((a, b) => (b.answerToConnectedMs ?? 0) - (a.answerToConnectedMs ?? 0)).slice(0, 5);
  const block = (title: string, o: CallOutcome) => [`## ${title}`, ...(o.trace ?? ['(no trace)']), ''];
  const lines = [
    ...failed.flatMap((o, i) => block(`failed ${i + 1}: ${o.failure} — ${o.detail ?? ''}`, o)),
    ...slowest.flatMap((o, i) => block(`slowest ${i + 1}: answer → connected ${Math.round(o.answerToConnectedMs ?? 0)} ms`, o)),
    '## device processes, a sample a second (CPU % of a core / longest event-loop delay ms)',
    ...stats.map((s) => `pid ${s.pid}: ${s.cpuPct.map((c, i) => `${c}/${s.lagMaxMs[i]}`).join(' ')}`),
  ];
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

async function main(): Promise<number> {
  let options: LoadtestOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof LoadtestUsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  let interrupt!: () => void;
  const interrupted = new Promise<void>((r) => (interrupt = r));
  let presses = 0;
  process.on('SIGINT', () => {
    if (++presses > 1) process.exit(130);
    process.stderr.write('\nStopping: hanging up the calls in progress (Ctrl-C again to quit at once)…\n');
    interrupt();
  });
  try {
    const report = await runLoadtest(options, { err: process.stderr, interrupted });
    console.log(formatReport(report));
    if (options.json) fs.writeFileSync(options.json, JSON.stringify(report, null, 2) + '\n');
    if (options.svg) {
      // The set-up times, read back from the report's source: every connected call's.
      fs.writeFileSync(options.svg, histogramSvg(report.setupSamplesMs, `Parley load test: ${report.connected} of ${report.attempted} calls connected`));
    }
    return report.failed > 0 || report.interrupted || report.attempted < options.calls ? 1 : 0;
  } catch (err) {
    if (err instanceof TargetError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
}

if (import.meta.filename === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
