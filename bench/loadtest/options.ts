import os from 'node:os';
import { parseArgs } from 'node:util';

export interface LoadtestOptions {
  url: string;
  calls: number;
  concurrency: number;
  media: boolean;
  durationS: number;
  json?: string;
  svg?: string;
  /** Writes the set-up timelines of the failed and the slowest calls, and the device processes' load, to this file. */
  trace?: string;
  adminEmail: string;
  adminPassword: string;
  metricsToken?: string;
  cleanup: boolean;
  /** Seconds a call may take from invite to connected before it counts as failed. */
  setupTimeoutS: number;
  /** Seconds over which the first `concurrency` calls start. */
  rampS: number;
  /** Device processes the pairs are spread over. */
  workers: number;
  /** With --media: RTP packets a second on each audio and each video track, each way. */
  audioPps: number;
  videoPps: number;
}

/** A mistake in the command line or the target: one clear sentence, exit code 2. */
export class LoadtestUsageError extends Error {
  override name = 'LoadtestUsageError';
}

export const USAGE = `Usage: npm run loadtest -- --url http://HOST:PORT [options]

  --url URL              the Parley server (required)
  --calls N              calls to make in all (default 10)
  --concurrency N        calls in progress at once (default 10, at most --calls)
  --media                send RTP both ways (an audio and a video track) and count it
  --duration S           seconds each call is held once connected (default 5)
  --json FILE            write the report as JSON
  --svg FILE             write a histogram of set-up times as SVG
  --trace FILE           write the failed and the 5 slowest calls' set-up timelines (engine log, signals,
                         werift ICE/DTLS states, both sides on one clock) and the device processes' CPU
                         and event-loop lag per second
  --admin-email EMAIL    the admin who creates the test users (default admin@example.com)
  --admin-password PW    (default parley-demo-pass, or $PARLEY_ADMIN_PASSWORD)
  --metrics-token TOKEN  read the server's CPU, RSS and call counters from /metrics (default $METRICS_TOKEN)
  --setup-timeout S      seconds from invite to connected before a call fails (default 20)
  --ramp S               seconds over which the first calls start (default: concurrency / 10)
  --workers N            processes the devices run in (default: the machine's cores)
  --audio-pps N          with --media: audio packets a second each way, 80 bytes each (default 10)
  --video-pps N          with --media: video packets a second each way, 1,000 bytes each (default 5)
  --cleanup              deactivate the test users afterwards
  --help                 this text`;

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1, max = 100_000): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LoadtestUsageError(`--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

/** Parses argv (without node and the script); throws LoadtestUsageError with what is wrong. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): LoadtestOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        calls: { type: 'string' },
        concurrency: { type: 'string' },
        media: { type: 'boolean' },
        duration: { type: 'string' },
        json: { type: 'string' },
        svg: { type: 'string' },
        trace: { type: 'string' },
        'admin-email': { type: 'string' },
        'admin-password': { type: 'string' },
        'metrics-token': { type: 'string' },
        'setup-timeout': { type: 'string' },
        ramp: { type: 'string' },
        workers: { type: 'string' },
        'audio-pps': { type: 'string' },
        'video-pps': { type: 'string' },
        cleanup: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw new LoadtestUsageError(`${(err as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return 'help';
  const rawUrl = values.url as string | undefined;
  if (!rawUrl) throw new LoadtestUsageError(`--url is required, e.g. --url http://127.0.0.1:3000\n\n${USAGE}`);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new LoadtestUsageError(`--url ${JSON.stringify(rawUrl)} is not a URL; give one such as http://127.0.0.1:3000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LoadtestUsageError(`--url must be http:// or https:// (got ${url.protocol})`);
  const calls = positiveInt('calls', values.calls as string | undefined, 10);
  const concurrency = positiveInt('concurrency', values.concurrency as string | undefined, Math.min(10, calls));
  if (concurrency > calls) throw new LoadtestUsageError(`--concurrency (${concurrency}) cannot be more than --calls (${calls})`);
  const durationS = positiveInt('duration', values.duration as string | undefined, 5, 0, 3600);
  const setupTimeoutS = positiveInt('setup-timeout', values['setup-timeout'] as string | undefined, 20, 1, 600);
  const rampS = positiveInt('ramp', values.ramp as string | undefined, Math.ceil(concurrency / 10), 0, 3600);
  const workers = positiveInt('workers', values.workers as string | undefined, Math.min(concurrency, os.availableParallelism()), 1, 64);
  const audioPps = positiveInt('audio-pps', values['audio-pps'] as string | undefined, 10, 1, 200);
  const videoPps = positiveInt('video-pps', values['video-pps'] as string | undefined, 5, 1, 200);
  const metricsToken = (values['metrics-token'] as string | undefined) ?? env.METRICS_TOKEN;
  return {
    url: url.origin,
    calls,
    concurrency,
    media: values.media === true,
    durationS,
    ...(values.json ? { json: values.json as string } : {}),
    ...(values.svg ? { svg: values.svg as string } : {}),
    ...(values.trace ? { trace: values.trace as string } : {}),
    adminEmail: (values['admin-email'] as string | undefined) ?? 'admin@example.com',
    adminPassword: (values['admin-password'] as string | undefined) ?? env.PARLEY_ADMIN_PASSWORD ?? 'parley-demo-pass',
    ...(metricsToken ? { metricsToken } : {}),
    cleanup: values.cleanup === true,
    setupTimeoutS,
    rampS,
    workers,
    audioPps,
    videoPps,
  };
}
