// `npm run bench`: every benchmark in full size (or `-- --smoke`, `-- --only chat,signalling`;
// `-- --timeline` also prints the set-up benchmark's per-step timeline, `-- --preconnected` adds the
// pre-connected bare call to it (bench/setup/bare.html?preconnected=1), `-- --preview` the bare call whose callee's camera is on while it rings (?preview=1; both flags: the pre-connected one too); `-- --only idle,chat,signalling
// --before DIR` also measures another checkout's server in the same run),
// results in bench/results/<name>.json and the table in docs/performance.md.
// Run the full sizes under `flock /tmp/parley-heavy.lock` on a shared machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHAT_FULL, CHAT_SMOKE, runChat, type ChatResult } from './chat/chat.bench.ts';
import { IDLE_FULL, IDLE_SMOKE, runIdle, type IdleResult } from './idle/idle-connect.bench.ts';
import { machine } from './lib/machine.ts';
import { LOADTEST_FULL, LOADTEST_SMOKE, runLoadtestBench, type LoadtestBenchResult } from './loadtest/loadtest.bench.ts';
import { repoRoot } from './lib/proc.ts';
import { SETUP_FULL, SETUP_SMOKE, formatTimeline, measuredExtras, runSetup, type SetupResult } from './setup/setup.bench.ts';
import { SIGNALLING_FULL, SIGNALLING_SMOKE, runSignalling, type SignallingResult } from './signalling/signalling.bench.ts';

export interface Row {
  benchmark: string;
  target: string;
  measured: string;
  met: boolean | null;
}

type Bench = { name: string; run(smoke: boolean): Promise<{ result: unknown; rows: Row[] }> };

/** `--before DIR`: another checkout's server, measured in the same run (idle, chat, signalling). */
function beforeArg(): { before: string } | Record<string, never> {
  const b = process.argv.indexOf('--before');
  const before = b > 0 ? process.argv[b + 1] : undefined;
  return before ? { before } : {};
}

export const BENCHES: Bench[] = [
  {
    name: 'setup',
    async run(smoke) {
      const preconnected = process.argv.includes('--preconnected');
      const preview = process.argv.includes('--preview');
      const r: SetupResult = await runSetup({ ...(smoke ? SETUP_SMOKE : SETUP_FULL), preconnected, preview }, console.log);
      if (process.argv.includes('--timeline')) {
        console.log(formatTimeline('Parley', r.apps.parley.timeline));
        console.log(formatTimeline('Bare', r.apps.bare.timeline));
        for (const x of measuredExtras(r)) console.log(formatTimeline(x.name, x.figures.timeline));
      }
      const { parley, bare } = r.apps;
      const extras = measuredExtras(r).map((x) => `; ${x.name} ${x.figures.medianMs} ms (${x.ratio}× bare)`);
      return {
        result: r,
        rows: [
          {
            benchmark: `1. Set-up: Answer click → first remote frame on both sides (headless Chromium, loopback, ${r.options.calls} calls each)`,
            target: '≤ 0.9× the bare two-page call',
            measured: `Parley median ${parley.medianMs} ms, bare ${bare.medianMs} ms (${r.ratio}×)${extras.join('')}`,
            met: r.ratio <= 0.9,
          },
        ],
      };
    },
  },
  {
    name: 'chat',
    async run(smoke) {
      const r: ChatResult = await runChat({ ...(smoke ? CHAT_SMOKE : CHAT_FULL), ...beforeArg() }, console.log);
      const p = r.servers.parley.deliverMs;
      return {
        result: r,
        rows: [
          {
            benchmark: `4. Chat: send → deliver at ${r.options.ratePerS} messages/s${r.options.warmupMs ? ` for ${r.options.durationMs / 1000} s, after ${r.options.warmupMs / 1000} s of warm-up` : ''}`,
            target: 'p99 ≤ 20 ms',
            measured: `p50 ${p.p50} ms, p99 ${p.p99} ms (bare socket.io p99 ${r.servers.socketio.deliverMs.p99} ms: ${r.ratios.p99VsSocketio}×); ${r.servers.parley.delivered}/${r.servers.parley.sent} delivered${r.before ? `; before p50 ${r.before.deliverMs.p50} / p99 ${r.before.deliverMs.p99} ms` : ''}`,
            met: p.p99 <= 20 && r.servers.parley.delivered === r.servers.parley.sent,
          },
        ],
      };
    },
  },
  {
    name: 'signalling',
    async run(smoke) {
      const r: SignallingResult = await runSignalling({ ...(smoke ? SIGNALLING_SMOKE : SIGNALLING_FULL), ...beforeArg() }, console.log);
      const s = r.servers;
      return {
        result: r,
        rows: [
          {
            benchmark: `2. Signalling: offer/answer/ICE forward p99 during ${r.options.calls} concurrent set-ups`,
            target: 'p99 ≤ bare socket.io and ≤ PeerJS',
            measured: `Parley p50 ${s.parley.forwardMs.p50} / p99 ${s.parley.forwardMs.p99} ms; socket.io ${s.socketio.forwardMs.p50} / ${s.socketio.forwardMs.p99} ms (${r.ratios.p99VsSocketio}×); PeerJS ${s.peerjs.forwardMs.p50} / ${s.peerjs.forwardMs.p99} ms (${r.ratios.p99VsPeerjs}×)${r.before ? `; before p50 ${r.before.forwardMs.p50} / p99 ${r.before.forwardMs.p99} ms` : ''}`,
            met: r.ratios.p99VsSocketio <= 1 && r.ratios.p99VsPeerjs <= 1,
          },
          {
            benchmark: '2. Signalling: server CPU per 1,000 messages',
            target: '≤ 1.3× bare socket.io',
            measured: `Parley ${s.parley.cpuMsPer1000Messages} ms, socket.io ${s.socketio.cpuMsPer1000Messages} ms (${r.ratios.cpuVsSocketio}×), PeerJS ${s.peerjs.cpuMsPer1000Messages} ms${r.before ? `; before ${r.before.cpuMsPer1000Messages} ms (${r.before.cpuVsSocketio}×)` : ''}`,
            met: r.ratios.cpuVsSocketio <= 1.3,
          },
        ],
      };
    },
  },
  {
    name: 'idle',
    async run(smoke) {
      const r: IdleResult = await runIdle({ ...(smoke ? IDLE_SMOKE : IDLE_FULL), ...beforeArg() }, console.log);
      const s = r.sizes.at(-1)!;
      const { parley, socketio } = s;
      return {
        result: r,
        rows: [
          {
            benchmark: `3. Idle: extra RSS per authenticated idle socket at ${s.n.toLocaleString('en')} sockets on one node`,
            target: '≤ 10 KiB, below bare socket.io',
            measured: `Parley ${parley.rssKbPerSocket} KiB, bare socket.io ${socketio.rssKbPerSocket} KiB (${s.ratios.rssVsSocketio}×); ${parley.connected}/${s.n} connected${s.before ? `; before ${s.before.rssKbPerSocket} KiB` : ''}`,
            met: parley.finished && parley.rssKbPerSocket <= 10 && parley.rssKbPerSocket < socketio.rssKbPerSocket,
          },
          {
            benchmark: `3. Idle: connect rate at ${s.n.toLocaleString('en')} sockets`,
            target: 'within 2× bare socket.io',
            measured: `Parley ${parley.connectsPerS}/s, bare socket.io ${socketio.connectsPerS}/s (${s.ratios.rateVsSocketio}×)`,
            met: parley.finished && s.ratios.rateVsSocketio >= 0.5,
          },
          {
            benchmark: '3. Idle: the server\'s own RSS before any socket (as `npm start` runs it; settled, and at start-up)',
            target: '≤ 80 MB',
            measured: `Parley ${parley.idleRssMb} MB (${parley.startupRssMb} MB at start-up), bare socket.io ${socketio.idleRssMb} MB${s.before ? `; before ${s.before.idleRssMb} MB (${s.before.startupRssMb} MB)` : ''}`,
            met: parley.idleRssMb <= 80,
          },
        ],
      };
    },
  },
  {
    name: 'loadtest',
    async run(smoke) {
      const r: LoadtestBenchResult = await runLoadtestBench(smoke ? LOADTEST_SMOKE : LOADTEST_FULL, console.log);
      const { report: t } = r;
      const media = t.mediaPackets;
      const server = 'unavailable' in t.server ? t.server.unavailable : `server CPU mean ${t.server.cpuMeanPct} % / peak ${t.server.cpuPeakPct} % of a core, RSS peak ${t.server.rssPeakMb} MB; /metrics: calls ended +${t.server.callsEnded}, ${t.server.activeAfter} active after (${t.server.agrees ? 'agrees' : '**disagrees**'})`;
      const failures = Object.entries(t.failures).map(([reason, n]) => `${reason} ${n}`).join(', ');
      return {
        result: r,
        rows: [
          {
            benchmark: `5. Load test: ${r.options.calls} calls, ${r.options.concurrency} at a time, --media, held ${r.options.durationS} s (werift devices on the same machine)`,
            target: 'zero failures; /metrics agrees (calls ended +N, none active)',
            measured: `${t.completed}/${t.attempted} completed, ${t.failed} failed${failures ? ` (${failures})` : ''}; media ${media ? `${media.received}/${media.expected} packets` : 'none'}; ${server}`,
            met: t.failed === 0 && t.completed === r.options.calls && !('unavailable' in t.server) && t.server.agrees,
          },
        ],
      };
    },
  },
];

const BEGIN = '<!-- bench:table:begin -->';
const END = '<!-- bench:table:end -->';

/** Rewrites the table between the markers of docs/performance.md from every results file. */
export function writeTable(resultsDir: string, doc: string): void {
  const rows: Row[] = [];
  const machines = new Set<string>();
  for (const b of BENCHES) {
    const file = path.join(resultsDir, `${b.name}.json`);
    if (!fs.existsSync(file)) continue;
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { rows?: Row[]; machine: string; at: string; loadAverage?: number };
    // A file written by something else (e.g. `npm run loadtest -- --json`) has no rows: not a benchmark's.
    if (!Array.isArray(saved.rows)) continue;
    // When the run ended (UTC) and, where recorded, the 1-minute load average as it began: the machine is shared.
    const when = saved.loadAverage === undefined ? saved.at.slice(0, 10) : `${saved.at.slice(0, 16).replace('T', ' ')} UTC, load average ${saved.loadAverage}`;
    rows.push(...saved.rows.map((r) => ({ ...r, measured: `${r.measured} (${when})` })));
    machines.add(saved.machine);
  }
  const table = [
    '| benchmark | target | measured | met |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.benchmark} | ${r.target} | ${r.measured} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |`),
    '',
    `Machine: ${[...machines].join('; ') || 'not run yet'}.`,
  ].join('\n');
  const text = fs.readFileSync(doc, 'utf8');
  const a = text.indexOf(BEGIN);
  const z = text.indexOf(END);
  if (a < 0 || z < 0) throw new Error(`${doc} has no ${BEGIN} … ${END} markers`);
  fs.writeFileSync(doc, `${text.slice(0, a + BEGIN.length)}\n${table}\n${text.slice(z)}`);
}

if (import.meta.filename === process.argv[1]) {
  const smoke = process.argv.includes('--smoke');
  const onlyArg = process.argv.indexOf('--only');
  const only = onlyArg > 0 ? (process.argv[onlyArg + 1] ?? '').split(',') : undefined;
  const resultsDir = path.join(repoRoot, smoke ? 'bench/results/smoke' : 'bench/results');
  fs.mkdirSync(resultsDir, { recursive: true });
  for (const b of BENCHES) {
    if (only && !only.includes(b.name)) continue;
    const loadAverage = Math.round(os.loadavg()[0]! * 100) / 100;
    const { result, rows } = await b.run(smoke);
    fs.writeFileSync(path.join(resultsDir, `${b.name}.json`), JSON.stringify({ machine: machine(), at: new Date().toISOString(), loadAverage, smoke, rows, result }, null, 2) + '\n');
    for (const r of rows) console.log(`${r.met ? 'MET   ' : 'MISSED'} ${r.benchmark}: ${r.measured} (target ${r.target})`);
  }
  if (!smoke) writeTable(resultsDir, path.join(repoRoot, 'docs/performance.md'));
}
