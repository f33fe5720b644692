import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

const TICKS_PER_S = 100; // Linux USER_HZ

/** CPU seconds (user + system) the process has used, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Resident memory in bytes, from /proc/PID/status. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

export { freePort } from '../../apps/server/src/testing/ports.ts';

/** `taskset -c CPU` in front of a command when `cpu` is given and taskset exists. */
export function pinned(cpu: number | undefined, cmd: string, args: string[]): [string, string[]] {
  if (cpu === undefined || !fs.existsSync('/usr/bin/taskset')) return [cmd, args];
  return ['/usr/bin/taskset', ['-c', String(cpu), cmd, ...args]];
}

export interface Service {
  url: string;
  /** The server process itself (taskset execs it, so this is the node process). */
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs a TypeScript file in a child `node --import tsx` (or, with `tsx: false`, a JavaScript file
 * in plain node), waits until `url` answers HTTP. `cwd` defaults to this repository. An `env` entry
 * that is undefined unsets the variable.
 */
function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Whether process `pid` holds the socket listening on 127.0.0.1/0.0.0.0:`port` (Linux /proc). */
export function listensOn(pid: number, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = readOrNull(table);
    if (text === null) continue;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket's inode.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9]) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

export async function startService(opts: { script: string; args?: string[]; nodeArgs?: string[]; env?: Record<string, string | undefined>; cpu?: number; port: number; readyPath?: string; tsx?: boolean; cwd?: string }): Promise<Service> {
  const loader = opts.tsx === false ? [] : ['--import', 'tsx'];
  const [cmd, args] = pinned(opts.cpu, process.execPath, [...(opts.nodeArgs ?? []), ...loader, opts.script, ...(opts.args ?? [])]);
  const child = spawn(cmd, args, { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // BENCH_SERVER_LOG=DIR: each service's whole output in DIR/<script>-<pid>.log (with the servers'
  // LOG_LEVEL raised by BENCH_PARLEY_ENV, their log lines' times beside the pages' probe events).
  if (process.env.BENCH_SERVER_LOG) {
    fs.mkdirSync(process.env.BENCH_SERVER_LOG, { recursive: true });
    const file = fs.createWriteStream(path.join(process.env.BENCH_SERVER_LOG, `${path.basename(opts.script, path.extname(opts.script))}-${child.pid}.log`));
    child.stdout!.pipe(file);
    child.stderr!.pipe(file);
  }
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${opts.script} exited with ${child.exitCode}:\n${output}`);
    try {
      // Only our child's answer counts: on a shared machine another process may have taken the
      // port between freePort() and the child's listen, and would answer in its place.
      if (!listensOn(child.pid!, opts.port)) throw new Error('not listening yet');
      const res = await fetch(url + (opts.readyPath ?? '/'));
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${opts.script} did not answer on ${url} within 60 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    pid: child.pid!,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
