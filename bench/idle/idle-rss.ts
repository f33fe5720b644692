// `node --import tsx bench/idle/idle-rss.ts [STARTS] [--env NAME=VALUE[,NAME=VALUE] ...] [--before DIR]`: the idle
// server's own RSS over several starts of the same build, read as benchmark 3 reads it (5 s of
// quiet, then V8's memory reducer, then RSS no longer falling), with min/median/max: one start
// varies by several MB from the next (glibc's arenas, docs/performance.md). Each `--env` (an empty
// value unsets the variable) and `--before` (another checkout's server, built the same way) is a
// variant, started in turn with this checkout's as `npm start` runs it (A B A B …), so all meet
// the same machine. Parley runs as benchmark 3 runs it (IDLE_PARLEY_ENV: no METRICS_TOKEN unless a
// variant sets one).
import fs from 'node:fs';
import { seedDatabase, startParley } from '../lib/parley.ts';
import { rssBytes } from '../lib/proc.ts';
import { IDLE_FULL, IDLE_PARLEY_ENV, reducerRuns, settledRss, TRACE_GC } from './idle-connect.bench.ts';

const args = process.argv.slice(2);
const starts = Number(args[0]?.startsWith('--') ? 3 : (args[0] ?? 3));
const variants: Array<{ name: string; env: Record<string, string | undefined>; source?: string }> = [{ name: 'this checkout', env: {} }];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--before') variants.push({ name: `before (${args[i + 1]})`, env: {}, source: args[i + 1]! });
  if (args[i] !== '--env') continue;
  // NAME=VALUE[,NAME=VALUE…]
  const env: Record<string, string | undefined> = {};
  for (const pair of args[i + 1]!.split(',')) {
    const at = pair.indexOf('=');
    env[pair.slice(0, at)] = pair.slice(at + 1) || undefined;
  }
  variants.push({ name: args[i + 1]!, env });
}
const seeded = await seedDatabase(10);
const readings = new Map<string, Array<{ rss: number; startup: number; settled: boolean }>>(variants.map((v) => [v.name, []]));
try {
  for (let s = 0; s < starts; s++) {
    for (const v of variants) {
      const server = await startParley({ dbFile: seeded.file, env: { ...IDLE_PARLEY_ENV, ...v.env }, nodeArgs: TRACE_GC, ...(v.source ? { source: v.source } : {}) });
      try {
        const reducer = reducerRuns(server);
        const startup = rssBytes(server.pid);
        const r = await settledRss(server.pid, reducer, IDLE_FULL);
        readings.get(v.name)!.push({ rss: r.rss, startup, settled: r.settled });
        // Anonymous (heap, malloc) against file-backed (the node binary's pages) resident memory.
        const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
        const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1000;
        // glibc's main arena is the `[heap]` mapping; the other anonymous memory is V8's heap pages and the threads' arena.
        const mainArena = Number(/\[heap\]\n(?:[^\n]*\n)*?Rss:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.pid}/smaps`, 'utf8'))?.[1] ?? Number.NaN) / 1000;
        console.log(
          `start ${s + 1} ${v.name}: ${(r.rss / 1e6).toFixed(1)} MB settled (${(startup / 1e6).toFixed(1)} at start-up; now anonymous ${kb('RssAnon').toFixed(1)} of which malloc's main arena ${mainArena.toFixed(1)}, file ${kb('RssFile').toFixed(1)}), reducer ${r.settled ? 'ran' : 'did not run'}`,
        );
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  fs.rmSync(seeded.dir, { recursive: true, force: true });
}
for (const [name, rs] of readings) {
  const mb = rs.map((r) => r.rss / 1e6).sort((a, b) => a - b);
  const median = mb.length % 2 ? mb[(mb.length - 1) / 2]! : (mb[mb.length / 2 - 1]! + mb[mb.length / 2]!) / 2;
  console.log(`${name}: min ${mb[0]!.toFixed(1)} / median ${median.toFixed(1)} / max ${mb.at(-1)!.toFixed(1)} MB over ${mb.length} starts: ${mb.map((x) => x.toFixed(1)).join(', ')}`);
}
