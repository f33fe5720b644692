// The lab's namespaces: the addressing plan, running commands inside a namespace, the processes
// started in one, and removing what a crashed run left behind. Every name starts with
// `plab-<pid>-<n>-`: a later run removes namespaces of a process that no longer exists and never
// touches a live run's lab.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM_PATH } from '../support/browser.ts';
import { repoRoot } from '../support/paths.ts';

// ---- addresses ----

export type Lan = 'lanA' | 'lanB';
export type LabNamespace = Lan | 'natA' | 'natB' | 'pub';
export type NatKind = 'cone' | 'symmetric';

/** Where the app server and coturn live: the lab's only "public" service address. */
export const SERVICE_IP = '100.64.0.1';

/** The addressing plan. 10.99/16 and 100.64/10 exist only inside the lab's namespaces. */
export const LAB_ADDRESSES = {
  lanA: { host: '10.99.1.2', router: '10.99.1.1', wan: '100.64.1.2', pubSide: '100.64.1.1', nat: 'natA' },
  lanB: { host: '10.99.2.2', router: '10.99.2.1', wan: '100.64.2.2', pubSide: '100.64.2.1', nat: 'natB' },
} as const satisfies Record<Lan, { host: string; router: string; wan: string; pubSide: string; nat: LabNamespace }>;

export const LANS: readonly Lan[] = ['lanA', 'lanB'];
export const NAMESPACES: readonly LabNamespace[] = ['lanA', 'lanB', 'natA', 'natB', 'pub'];
export const PREFIX = 'plab-';

// ---- running commands ----

const COMMAND_TIMEOUT_MS = 10_000;

export function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function runSync(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { timeout: COMMAND_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return '';
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every process inside namespace `ns` (all of them were started by a lab), then removes it. */
function removeNamespaceSync(ns: string): void {
  for (const pid of runSync('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  runSync('ip', ['netns', 'del', ns]);
}

function labNamespaces(): string[] {
  return runSync('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

/** The pid a lab name belongs to: `plab-<pid>-…`. */
function ownerPid(name: string): number | undefined {
  const pid = Number(/^plab-(\d+)-/.exec(name)?.[1]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Removes what an earlier run that crashed (or was killed) left behind: namespaces, the processes
 * in them, and temp folders — only those of processes that no longer exist.
 */
export function removeLeftovers(): string[] {
  const removed: string[] = [];
  for (const ns of labNamespaces()) {
    const pid = ownerPid(ns);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    removeNamespaceSync(ns);
    removed.push(ns);
  }
  const tmp = os.tmpdir();
  for (const entry of fs.readdirSync(tmp)) {
    const pid = ownerPid(entry);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    fs.rmSync(path.join(tmp, entry), { recursive: true, force: true });
    removed.push(path.join(tmp, entry));
  }
  return removed;
}

/** Why the lab cannot run on this machine, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `network namespaces and iptables need root (running as uid ${process.getuid?.()})`;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore', timeout: 5_000 });
  } catch {
    return '`ip netns` is not available (install iproute2)';
  }
  for (const [bin, pkg] of [['iptables', 'iptables'], ['turnserver', 'coturn'], ['openssl', 'openssl']] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `\`${bin}\` is not installed (apt-get install -y ${pkg})`;
    }
  }
  if (!fs.existsSync(CHROMIUM_PATH)) return `${CHROMIUM_PATH} is missing (apt-get install -y chromium)`;
  return undefined;
}

// ---- processes inside the lab ----

const OUTPUT_TAIL_CHARS = 16_000;
const STOP_GRACE_MS = 3_000;

/** A child process running inside one of the lab's namespaces. */
export interface LabProcess {
  readonly child: ChildProcess;
  readonly label: string;
  /** The last lines it wrote to stdout and stderr. */
  output(): string;
  exited(): boolean;
  /** SIGTERM, SIGKILL after a grace period. Safe to call twice. */
  stop(): Promise<void>;
}

function exitedChild(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exitedChild(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

// ---- one lab's set of namespaces ----

/**
 * The five namespaces of one lab and the processes started in them. The other lab modules (NAT,
 * TURN, server, browser) work through this: they run commands in a namespace by its role.
 */
export class Namespaces {
  /** The real namespace name of each role, e.g. `plab-4242-0-lanA`. */
  readonly names: Readonly<Record<LabNamespace, string>>;
  private readonly processes = new Set<LabProcess>();
  private closed = false;

  constructor(
    readonly id: string,
    /** The lab's own temp folder. */
    readonly dir: string,
  ) {
    this.names = Object.fromEntries(NAMESPACES.map((n) => [n, `${id}-${n}`])) as Record<LabNamespace, string>;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds the namespaces (in parallel) with their loopback up. */
  async create(): Promise<void> {
    await Promise.all(NAMESPACES.map((n) => run('ip', ['netns', 'add', this.names[n]])));
    await Promise.all(NAMESPACES.map((n) => this.ip(n, 'link', 'set', 'lo', 'up')));
  }

  ip(ns: LabNamespace, ...args: string[]): Promise<string> {
    return run('ip', ['-n', this.names[ns], ...args]);
  }

  /** Runs a command inside `ns` and resolves with its stdout; a string goes through `sh -c`. */
  exec(ns: LabNamespace, cmd: string | readonly string[], input?: string): Promise<string> {
    const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
    return run('ip', ['netns', 'exec', this.names[ns], ...argv], input);
  }

  /** Starts a long-running process inside `ns`; it is killed when the namespaces are removed. */
  spawn(ns: LabNamespace, cmd: string, args: readonly string[] = [], env: Record<string, string> = {}, label = path.basename(cmd)): LabProcess {
    if (this.closed) throw new Error(`lab ${this.id} is destroyed`);
    // `ip netns exec` execs the command, so the child's pid is the command's own pid.
    const child = spawn('ip', ['netns', 'exec', this.names[ns], cmd, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const record = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', record);
    child.stderr?.on('data', record);
    child.on('error', (err) => record(Buffer.from(`\n[lab] could not start ${cmd}: ${err.message}\n`)));
    let stopped: Promise<void> | undefined;
    const proc: LabProcess = {
      child,
      label,
      output: () => tail,
      exited: () => exitedChild(child),
      stop: () => {
        stopped ??= (async () => {
          if (!exitedChild(child) && child.pid !== undefined) {
            child.kill('SIGTERM');
            if (!(await waitForExit(child, STOP_GRACE_MS))) {
              child.kill('SIGKILL');
              await waitForExit(child, STOP_GRACE_MS);
            }
          }
          this.processes.delete(proc);
        })();
        return stopped;
      },
    };
    this.processes.add(proc);
    return proc;
  }

  /** Stops every process gracefully (SIGTERM, then SIGKILL), then removes the namespaces. */
  async remove(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.processes].map((p) => p.stop()));
    // Whatever still runs inside (a Chromium helper, a process a test spawned by hand) is killed by pid.
    for (const n of NAMESPACES) removeNamespaceSync(this.names[n]);
  }

  /** The same, synchronously, for `exit` and signal handlers: no grace, everything SIGKILLed. */
  removeSync(): void {
    this.closed = true;
    for (const p of this.processes) {
      if (!p.exited()) p.child.kill('SIGKILL');
    }
    for (const n of NAMESPACES) removeNamespaceSync(this.names[n]);
  }
}
