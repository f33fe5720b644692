// Benchmark 5: the load test itself (`npm run loadtest`) against Parley as `npm start` runs it (the
// compiled server, on a fresh database), from this machine: N concurrent calls with --media,
// zero failures, media received against expected, the server's CPU and RSS from its /metrics
// (and read from /proc beside them), and whether /metrics agreed (calls ended +N, none active).
import fs from 'node:fs';
import { seedDatabase, startParley, METRICS_TOKEN } from '../lib/parley.ts';
import { cpuSeconds, rssBytes } from '../lib/proc.ts';
import { runLoadtest } from './cli.ts';
import { parseOptions, type LoadtestOptions } from './options.ts';
import type { Report } from './report.ts';

export interface LoadtestBenchOptions {
  calls: number;
  concurrency: number;
  durationS: number;
}

export const LOADTEST_SMOKE: LoadtestBenchOptions = { calls: 3, concurrency: 2, durationS: 2 };
export const LOADTEST_FULL: LoadtestBenchOptions = { calls: 100, concurrency: 100, durationS: 20 };

export interface LoadtestBenchResult {
  options: LoadtestBenchOptions;
  report: Report;
  /** The server process as /proc saw it over the whole run (start-up excluded), beside /metrics' figures. */
  proc: { cpuSeconds: number; rssEndMb: number };
}

const ADMIN = { email: 'bench-admin@bench.invalid', password: 'Bench admin passphrase 2026' };

export async function runLoadtestBench(o: LoadtestBenchOptions, log: (line: string) => void = () => undefined): Promise<LoadtestBenchResult> {
  // An empty database: Parley creates the first admin from the environment, the tool its test users.
  const seeded = await seedDatabase(0);
  try {
    const parley = await startParley({ dbFile: seeded.file, env: { PARLEY_ADMIN_EMAIL: ADMIN.email, PARLEY_ADMIN_PASSWORD: ADMIN.password } });
    try {
      const args = ['--url', parley.url, '--calls', String(o.calls), '--concurrency', String(o.concurrency), '--media', '--duration', String(o.durationS)];
      // BENCH_LOADTEST_TRACE=FILE: the failed and slowest calls' set-up timelines and the device processes' load.
      const trace = process.env.BENCH_LOADTEST_TRACE ? ['--trace', process.env.BENCH_LOADTEST_TRACE] : [];
      const options = parseOptions([...args, ...trace, '--admin-email', ADMIN.email, '--admin-password', ADMIN.password, '--metrics-token', METRICS_TOKEN], {}) as LoadtestOptions;
      log(`loadtest: npm run loadtest -- ${args.join(' ')} --metrics-token …`);
      const cpu0 = cpuSeconds(parley.pid);
      const report = await runLoadtest(options, { err: process.stderr, interrupted: new Promise<void>(() => undefined) });
      const proc = { cpuSeconds: Math.round((cpuSeconds(parley.pid) - cpu0) * 10) / 10, rssEndMb: Math.round(rssBytes(parley.pid) / 1e5) / 10 };
      log(`loadtest: ${report.completed}/${report.attempted} completed, ${report.failed} failed; media ${report.mediaPackets?.received}/${report.mediaPackets?.expected}; server ${JSON.stringify(report.server)}`);
      return { options: o, report, proc };
    } finally {
      await parley.stop();
    }
  } finally {
    fs.rmSync(seeded.dir, { recursive: true, force: true });
  }
}
