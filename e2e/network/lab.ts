// The network lab: two LANs, each behind its own NAT router, and a "public" segment holding the
// Parley server and coturn — all in network namespaces this process creates, so no packet of a
// test ever reaches a real network. See README.md beside this file for the picture and the why.
//
//   lanA 10.99.1.2 ── natA [lan 10.99.1.1 | wan 100.64.1.2] ── pub 100.64.1.1 ┐
//   lanB 10.99.2.2 ── natB [lan 10.99.2.1 | wan 100.64.2.2] ── pub 100.64.2.1 ┤ 100.64.0.1/32 on lo
//                                                                             ┘ (Parley, coturn)
//
// Every name starts with `plab-<pid>-<n>-`: a later run removes what a crashed run left behind
// (namespaces of a process that no longer exists) and never touches a live run's lab.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { HARDENED_COTURN_FLAGS } from '../../apps/server/src/features/rtc/coturn-hardening.ts';
import { mintTurnCredential } from '../../apps/server/src/features/rtc/ice-config.ts';
import { ACTION_TIMEOUT_MS, CHROMIUM_ARGS, CHROMIUM_PATH, DESKTOP, NAVIGATION_TIMEOUT_MS, type TestBrowser } from '../support/browser.ts';
import type { Journey } from '../support/journey.ts';
import { repoRoot, serverMain } from '../support/paths.ts';
import type { TestServer } from '../support/server.ts';

// ---- addresses ----

export type Lan = 'lanA' | 'lanB';
export type LabNamespace = Lan | 'natA' | 'natB' | 'pub';
export type NatKind = 'cone' | 'symmetric';

/** Where the app server and coturn live: the lab's only "public" service address. */
export const SERVICE_IP = '100.64.0.1';
export const TURN_PORT = 3478;
export const TURNS_PORT = 5349;

/** The addressing plan. 10.99/16 and 100.64/10 exist only inside the lab's namespaces. */
export const LAB_ADDRESSES = {
  lanA: { host: '10.99.1.2', router: '10.99.1.1', wan: '100.64.1.2', pubSide: '100.64.1.1', nat: 'natA' },
  lanB: { host: '10.99.2.2', router: '10.99.2.1', wan: '100.64.2.2', pubSide: '100.64.2.1', nat: 'natB' },
} as const satisfies Record<Lan, { host: string; router: string; wan: string; pubSide: string; nat: LabNamespace }>;

const LANS: readonly Lan[] = ['lanA', 'lanB'];
const NAMESPACES: readonly LabNamespace[] = ['lanA', 'lanB', 'natA', 'natB', 'pub'];
const PREFIX = 'plab-';

/** Chromium's flags inside a LAN: the harness flags, minus loopback candidates (a LAN host has a veth). */
export const LAB_CHROMIUM_ARGS: readonly string[] = CHROMIUM_ARGS.filter((a) => a !== '--allow-loopback-in-peer-connection');

/** Flags that make Chromium treat the lab's plain-http origin as secure and never try real DNS. */
export function labOriginArgs(origin: string): string[] {
  return [
    // getUserMedia is undefined on plain http from anything but localhost.
    `--unsafely-treat-insecure-origin-as-secure=${origin}`,
    // Chromium still resolves Google hosts; inside a namespace that would only time out.
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${SERVICE_IP}`,
  ];
}

// ---- running commands ----

const COMMAND_TIMEOUT_MS = 10_000;

function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

// ---- teardown on every path out ----

const liveLabs = new Set<LabImpl>();
let exitHooksInstalled = false;

/** A crash, `process.exit` or Ctrl-C must still remove the namespaces and kill what runs in them. */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const lab of liveLabs) lab.destroySync();
      process.off(signal, onSignal);
      // With nobody else listening, end the way the signal would have without us.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
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

// ---- coturn ----

export interface LabTurn {
  readonly secret: string;
  readonly realm: string;
  /** stun:100.64.0.1:3478 — coturn answers STUN Binding on its TURN port. */
  readonly stunUrl: string;
  readonly urls: { udp: string; tcp: string; tls?: string };
  /** With TLS: base64 SHA-256 of the self-signed certificate's public key. */
  readonly tlsSpki?: string;
  /** Chromium flags a LAN browser needs to use this relay (trusting its self-signed TLS key); empty without TLS. */
  readonly browserArgs: readonly string[];
  /** TURN REST credentials, minted exactly as the server mints them (ice-config.ts). */
  credential(userId: string, ttlS?: number): { username: string; credential: string };
  /** Environment for a Parley server that hands out this relay (TURN_MODE=external). */
  serverEnv(urls?: readonly string[]): Record<string, string>;
  readonly process: LabProcess;
}

export interface TurnOptions {
  /** Also listen for TURN over TLS on 5349 with a self-signed certificate made by openssl. */
  tls?: boolean;
}

// ---- the Parley server ----

/** The server in `pub`; shaped like the harness's TestServer so the journey helpers take it. */
export interface LabServer extends TestServer {
  readonly origin: string;
  readonly process: LabProcess;
}

export interface LabServerOptions {
  /** Extra or overriding environment (STUN_URLS, TURN_URLS, TURN_SECRET, CALL_RECONNECT_GRACE_S, …). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /**
   * Listen on this port instead of a random one. With `dataDir`, a restart: pass a stopped server's
   * `port` and `dataDir` to start a new process on the same origin and the same SQLite file (sessions
   * live there, so signed-in browsers stay signed in). See `restartServer`.
   */
  port?: number;
  /** Use this folder's `parley.db` (an earlier server's `dataDir`) instead of a fresh folder. */
  dataDir?: string;
}

const SERVER_READY_TIMEOUT_MS = 30_000;

// ---- the lab ----

export interface LabOptions {
  nat: NatKind;
  /** Drop UDP leaving each LAN at its NAT: only TCP gets out (hotel and corporate networks). */
  blockUdp?: boolean;
}

export interface Lab {
  readonly id: string;
  readonly nat: NatKind;
  /** The real namespace name of each role, e.g. `plab-4242-0-lanA`. */
  readonly ns: Readonly<Record<LabNamespace, string>>;
  /** The lab's own temp folder (removed by destroy). */
  readonly dir: string;
  /** Runs a command inside `ns` and resolves with its stdout; a string goes through `sh -c`. */
  exec(ns: LabNamespace, cmd: string | readonly string[]): Promise<string>;
  /** Starts a long-running process inside `ns`; it is killed on destroy. */
  spawn(ns: LabNamespace, cmd: string, args?: readonly string[], env?: Record<string, string>, label?: string): LabProcess;
  /** Drops (or lets through again) UDP from both LANs at their NATs. */
  setUdpBlocked(blocked: boolean): Promise<void>;
  /**
   * Takes the LAN's link down for `ms` (the NAT's lan-side veth, so the host in the LAN sees its
   * carrier go), then brings it back; `how: 'drop'` instead drops everything both ways in iptables
   * and leaves the link up.
   */
  cutLink(lan: Lan, ms: number, how?: 'down' | 'drop'): Promise<void>;
  /** coturn in `pub` on 100.64.0.1:3478 (UDP and TCP), optionally TLS on 5349. */
  startTurn(options?: TurnOptions): Promise<LabTurn>;
  /** The Parley server in `pub` on 100.64.0.1, resolved once /healthz answers from inside `pub`. */
  startServer(options?: LabServerOptions): Promise<LabServer>;
  /**
   * Stops `server` (SIGTERM: a graceful close, as a deployment's restart does) and starts a new
   * process on the same port and SQLite file, with `env` (default: nothing beyond the lab's defaults;
   * pass the first server's env to keep it). Resolves once the new one answers /healthz.
   */
  restartServer(server: LabServer, options?: Omit<LabServerOptions, 'port' | 'dataDir'>): Promise<LabServer>;
  /** Chromium running inside `lan`, with the lab's flags and the server's origin treated as secure. */
  launchBrowser(lan: Lan, options?: { origin?: string; args?: readonly string[] }): Promise<TestBrowser>;
  /** Stops browsers and processes, removes the namespaces (their veths with them) and the temp folder. */
  destroy(): Promise<void>;
}

let labCounter = 0;

/** iptables of a NAT router: masquerade out of `wan`, drop anything unsolicited coming in. */
function natRules(kind: NatKind, blockUdp: boolean): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    // Plain MASQUERADE keeps the source port (endpoint-independent mapping: a "cone"); --random-fully
    // picks a new port per destination (endpoint-dependent: "symmetric"), what breaks hole punching.
    `-A POSTROUTING -o wan -j MASQUERADE${kind === 'symmetric' ? ' --random-fully' : ''}`,
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':PLAB-UDP - [0:0]',
    ':PLAB-CUT - [0:0]',
    // Unsolicited inbound is dropped silently: a router that answers with ICMP port-unreachable
    // makes hole punching fail even through a cone NAT (WEBRTC-TESTING.md).
    '-A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A INPUT -i wan -j DROP',
    '-A FORWARD -j PLAB-CUT',
    '-A FORWARD -i lan -o wan -j PLAB-UDP',
    '-A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A FORWARD -i wan -o lan -j DROP',
    ...(blockUdp ? ['-A PLAB-UDP -p udp -j DROP'] : []),
    'COMMIT',
    '',
  ].join('\n');
}

/** Builds the lab. Needs root; removes leftovers of crashed runs first. Takes well under a second. */
export async function createLab(options: LabOptions): Promise<Lab> {
  const reason = labUnavailableReason();
  if (reason) throw new Error(`the network lab cannot run here: ${reason}`);
  removeLeftovers();
  installExitHooks();
  const id = `${PREFIX}${process.pid}-${labCounter++}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), `${id}-`));
  const lab = new LabImpl(id, options, dir);
  liveLabs.add(lab);
  try {
    await lab.build();
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

class LabImpl implements Lab {
  readonly ns: Record<LabNamespace, string>;
  readonly nat: NatKind;
  private readonly processes = new Set<LabProcess>();
  private readonly browsers = new Set<TestBrowser>();
  private destroyed?: Promise<void>;
  private udpBlocked: boolean;

  constructor(
    readonly id: string,
    options: LabOptions,
    readonly dir: string,
  ) {
    this.nat = options.nat;
    this.udpBlocked = options.blockUdp ?? false;
    this.ns = Object.fromEntries(NAMESPACES.map((n) => [n, `${id}-${n}`])) as Record<LabNamespace, string>;
  }

  private ip(ns: LabNamespace, ...args: string[]): Promise<string> {
    return run('ip', ['-n', this.ns[ns], ...args]);
  }

  async build(): Promise<void> {
    // Namespaces first (in parallel), then each link created straight between two of them, so no
    // interface ever exists in the host's own namespace.
    await Promise.all(NAMESPACES.map((n) => run('ip', ['netns', 'add', this.ns[n]])));
    await Promise.all(NAMESPACES.map((n) => this.ip(n, 'link', 'set', 'lo', 'up')));
    await Promise.all(LANS.map((lan) => this.buildLan(lan)));
    await this.ip('pub', 'addr', 'add', `${SERVICE_IP}/32`, 'dev', 'lo');
    // pub routes between the two NATs' wan addresses (srflx↔srflx media); it has no default route,
    // so nothing addressed beyond the lab goes anywhere.
    await this.exec('pub', ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }

  private async buildLan(lan: Lan): Promise<void> {
    const a = LAB_ADDRESSES[lan];
    const nat = a.nat;
    const pubSide = lan === 'lanA' ? 'toA' : 'toB';
    await this.ip(lan, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lan', 'netns', this.ns[nat]);
    await this.ip(nat, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', pubSide, 'netns', this.ns.pub);
    await Promise.all([
      (async () => {
        await this.ip(lan, 'addr', 'add', `${a.host}/24`, 'dev', 'eth0');
        await this.ip(lan, 'link', 'set', 'eth0', 'up');
        await this.ip(lan, 'route', 'add', 'default', 'via', a.router);
      })(),
      (async () => {
        await this.ip(nat, 'addr', 'add', `${a.router}/24`, 'dev', 'lan');
        await this.ip(nat, 'addr', 'add', `${a.wan}/30`, 'dev', 'wan');
        await this.ip(nat, 'link', 'set', 'lan', 'up');
        await this.ip(nat, 'link', 'set', 'wan', 'up');
        await this.ip(nat, 'route', 'add', 'default', 'via', a.pubSide);
        await this.exec(nat, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
        await run('ip', ['netns', 'exec', this.ns[nat], 'iptables-restore'], natRules(this.nat, this.udpBlocked));
      })(),
      (async () => {
        await this.ip('pub', 'addr', 'add', `${a.pubSide}/30`, 'dev', pubSide);
        await this.ip('pub', 'link', 'set', pubSide, 'up');
      })(),
    ]);
  }

  exec(ns: LabNamespace, cmd: string | readonly string[]): Promise<string> {
    const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
    return run('ip', ['netns', 'exec', this.ns[ns], ...argv]);
  }

  spawn(ns: LabNamespace, cmd: string, args: readonly string[] = [], env: Record<string, string> = {}, label = path.basename(cmd)): LabProcess {
    if (this.destroyed) throw new Error(`lab ${this.id} is destroyed`);
    // `ip netns exec` execs the command, so the child's pid is the command's own pid.
    const child = spawn('ip', ['netns', 'exec', this.ns[ns], cmd, ...args], {
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

  async setUdpBlocked(blocked: boolean): Promise<void> {
    await Promise.all(
      (['natA', 'natB'] as const).map(async (nat) => {
        await this.exec(nat, ['iptables', '-F', 'PLAB-UDP']);
        if (blocked) await this.exec(nat, ['iptables', '-A', 'PLAB-UDP', '-p', 'udp', '-j', 'DROP']);
      }),
    );
    this.udpBlocked = blocked;
  }

  async cutLink(lan: Lan, ms: number, how: 'down' | 'drop' = 'down'): Promise<void> {
    const nat = LAB_ADDRESSES[lan].nat;
    if (how === 'down') {
      await this.ip(nat, 'link', 'set', 'lan', 'down');
      try {
        await sleep(ms);
      } finally {
        await this.ip(nat, 'link', 'set', 'lan', 'up');
        // Bringing the link up restores the connected route; the default route of the LAN host
        // survives the carrier loss. Only wait until the carrier is back on both ends.
        await this.waitCarrier(lan);
      }
      return;
    }
    await this.exec(nat, ['sh', '-c', 'iptables -A PLAB-CUT -i lan -j DROP && iptables -A PLAB-CUT -o lan -j DROP']);
    try {
      await sleep(ms);
    } finally {
      await this.exec(nat, ['iptables', '-F', 'PLAB-CUT']);
    }
  }

  private async waitCarrier(lan: Lan): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const out = await this.ip(lan, '-o', 'link', 'show', 'eth0');
      if (/state UP/.test(out)) return;
      await sleep(20);
    }
    throw new Error(`${lan}: eth0 did not come back up within 5 s`);
  }

  async startTurn(options: TurnOptions = {}): Promise<LabTurn> {
    const secret = randomBytes(24).toString('base64url');
    const realm = 'parley.lab';
    const dir = await mkdtemp(path.join(this.dir, 'coturn-'));
    let tlsSpki: string | undefined;
    const lines = [
      `listening-ip=${SERVICE_IP}`,
      `relay-ip=${SERVICE_IP}`,
      `listening-port=${TURN_PORT}`,
      'use-auth-secret',
      `static-auth-secret=${secret}`,
      `realm=${realm}`,
      'no-dtls',
      'log-file=stdout',
      'simple-log',
      `pidfile=${path.join(dir, 'turn.pid')}`,
      `userdb=${path.join(dir, 'turn.db')}`,
      ...HARDENED_COTURN_FLAGS.map((f) => f.slice(2)),
      // The hardening denies 100.64.0.0/10 (carrier-grade NAT), and the lab's "public" relay address
      // sits in it; without this exception every relay↔relay pair would be refused (403). A real
      // deployment relays from a public address that no denied range covers, so it needs no such line.
      // Only the relay address itself is allowed: the NATs' wan addresses stay denied, so through
      // TURN the lab can only connect relay↔relay, as across two real symmetric NATs.
      `allowed-peer-ip=${SERVICE_IP}`,
    ];
    if (options.tls) {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      await run('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${SERVICE_IP}`, '-addext', `subjectAltName=IP:${SERVICE_IP}`,
      ]);
      lines.push(`tls-listening-port=${TURNS_PORT}`, `cert=${cert}`, `pkey=${key}`);
      // Chromium checks the TURN server's certificate (a self-signed one fails the TLS handshake);
      // browsers trust exactly this key with --ignore-certificate-errors-spki-list=<this hash>.
      const der = await run('sh', ['-c', `openssl x509 -pubkey -noout -in '${cert}' | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`]);
      tlsSpki = der.trim();
    } else {
      lines.push('no-tls');
    }
    const conf = path.join(dir, 'turnserver.conf');
    // A config file keeps the secret out of the process list, as managed coturn does.
    await writeFile(conf, lines.join('\n') + '\n', { mode: 0o600 });
    const proc = this.spawn('pub', 'turnserver', ['-c', conf], {}, 'coturn');

    const wanted = [`udp:${SERVICE_IP}:${TURN_PORT}`, `tcp:${SERVICE_IP}:${TURN_PORT}`, ...(options.tls ? [`tcp:${SERVICE_IP}:${TURNS_PORT}`] : [])];
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exited()) throw new Error(`coturn exited at start:\n${proc.output()}`);
      const listening = (await this.exec('pub', ['ss', '-Hlntu'])).split('\n').map((l) => {
        const [proto, , , , local] = l.trim().split(/\s+/);
        return `${proto}:${local}`;
      });
      if (wanted.every((w) => listening.includes(w))) break;
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`coturn did not listen on ${wanted.join(', ')} within 10 s:\n${proc.output()}`);
      }
      await sleep(50);
    }

    const urls = {
      udp: `turn:${SERVICE_IP}:${TURN_PORT}`,
      tcp: `turn:${SERVICE_IP}:${TURN_PORT}?transport=tcp`,
      ...(options.tls ? { tls: `turns:${SERVICE_IP}:${TURNS_PORT}?transport=tcp` } : {}),
    };
    return {
      secret,
      realm,
      stunUrl: `stun:${SERVICE_IP}:${TURN_PORT}`,
      urls,
      ...(tlsSpki ? { tlsSpki, browserArgs: [`--ignore-certificate-errors-spki-list=${tlsSpki}`] } : { browserArgs: [] }),
      credential: (userId, ttlS = 3600) => mintTurnCredential(secret, userId, Math.floor(Date.now() / 1000) + ttlS),
      serverEnv: (turnUrls = [urls.udp, urls.tcp]) => ({
        STUN_URLS: `stun:${SERVICE_IP}:${TURN_PORT}`,
        TURN_URLS: turnUrls.join(','),
        TURN_SECRET: secret,
        TURN_MODE: 'external',
      }),
      process: proc,
    };
  }

  async startServer(options: LabServerOptions = {}): Promise<LabServer> {
    // A fresh namespace has every port free; a random one keeps two labs' origins apart.
    const port = options.port ?? 20_000 + Math.floor(Math.random() * 10_000);
    const dataDir = options.dataDir ?? (await mkdtemp(path.join(this.dir, 'server-')));
    const origin = `http://${SERVICE_IP}:${port}`;
    const proc = this.spawn(
      'pub',
      process.execPath,
      ['--import', 'tsx', serverMain],
      {
        HOST: SERVICE_IP,
        PORT: String(port),
        DATABASE_URL: `sqlite:${path.join(dataDir, 'parley.db')}`,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PARLEY_DEMO_USERS: '1',
        // Nothing outside the lab: no public STUN server, no coturn started by the server itself.
        STUN_URLS: '',
        TURN_MODE: 'off',
        ...options.env,
      },
      'parley',
    );
    const server: LabServer = { url: origin, origin, port, dataDir, process: proc, output: proc.output, stop: proc.stop };

    const timeoutMs = options.readyTimeoutMs ?? SERVER_READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      if (proc.exited()) {
        throw new Error(`the Parley server exited (${proc.child.exitCode ?? proc.child.signalCode}) before /healthz answered:\n${proc.output()}`);
      }
      // The host cannot reach 100.64.0.1: ask from inside pub.
      last = await this.exec('pub', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '1', `${origin}/healthz`]).catch((err: Error) => err.message);
      if (last === '200') return server;
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`the Parley server did not answer /healthz within ${timeoutMs} ms (${last}):\n${proc.output()}`);
      }
      await sleep(150);
    }
  }

  async restartServer(server: LabServer, options: Omit<LabServerOptions, 'port' | 'dataDir'> = {}): Promise<LabServer> {
    await server.stop();
    if (!server.process.exited()) throw new Error(`the Parley server on port ${server.port} did not exit`);
    return this.startServer({ ...options, port: server.port, dataDir: server.dataDir });
  }

  async launchBrowser(lan: Lan, options: { origin?: string; args?: readonly string[] } = {}): Promise<TestBrowser> {
    if (this.destroyed) throw new Error(`lab ${this.id} is destroyed`);
    const dir = path.join(this.dir, `chromium-${lan}-${randomBytes(3).toString('hex')}`);
    const tmp = path.join(dir, 'tmp');
    await mkdir(tmp, { recursive: true });
    // Playwright starts this instead of Chromium; `ip netns exec` keeps the debugging pipe (fds 3, 4).
    const wrapper = path.join(dir, 'chromium.sh');
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec '${this.ns[lan]}' ${CHROMIUM_PATH} "$@"\n`);
    await chmod(wrapper, 0o755);
    const args = [...(options.args ?? LAB_CHROMIUM_ARGS), ...(options.origin ? labOriginArgs(options.origin) : [])];
    const browser: Browser = await chromium.launch({
      executablePath: wrapper,
      args,
      // Killed Chromiums leave singleton folders in TMPDIR: keep them inside the lab's folder.
      env: { ...process.env, TMPDIR: tmp },
      timeout: 30_000,
    });
    let closed: Promise<void> | undefined;
    const testBrowser: TestBrowser = {
      browser,
      async newContext(contextOptions = {}) {
        const context: BrowserContext = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'], ...contextOptions });
        context.setDefaultTimeout(ACTION_TIMEOUT_MS);
        context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
        return context;
      },
      close: () => {
        closed ??= (async () => {
          const timeout = sleep(10_000).then(() => 'timeout' as const);
          const result = await Promise.race([browser.close().then(() => 'closed' as const, () => 'closed' as const), timeout]);
          if (result === 'timeout') (browser as Browser & { process?: () => ChildProcess | null }).process?.()?.kill('SIGKILL');
          this.browsers.delete(testBrowser);
        })();
        return closed;
      },
    };
    this.browsers.add(testBrowser);
    return testBrowser;
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      await Promise.allSettled([...this.browsers].map((b) => b.close()));
      await Promise.allSettled([...this.processes].map((p) => p.stop()));
      // Whatever still runs inside (a Chromium helper, a process a test spawned by hand) is killed by pid.
      for (const n of NAMESPACES) removeNamespaceSync(this.ns[n]);
      await rm(this.dir, { recursive: true, force: true });
      liveLabs.delete(this);
    })();
    return this.destroyed;
  }

  /** The same, synchronously, for `exit` and signal handlers: no grace, everything SIGKILLed. */
  destroySync(): void {
    for (const p of this.processes) {
      if (!p.exited()) p.child.kill('SIGKILL');
    }
    for (const b of this.browsers) (b.browser as Browser & { process?: () => ChildProcess | null }).process?.()?.kill('SIGKILL');
    for (const n of NAMESPACES) removeNamespaceSync(this.ns[n]);
    fs.rmSync(this.dir, { recursive: true, force: true });
    liveLabs.delete(this);
  }
}

// ---- driving Parley's UI in the LANs ----

export interface LabJourney extends Journey {
  /** The devices opened so far, by label (for failure evidence). */
  readonly pages: Readonly<Record<string, Page>>;
  /** Closes every device's context; call after each test. */
  closeDevices(): Promise<void>;
}

/**
 * A Journey (support/journey.ts) on the lab: the server in pub, devices opened in the browser of
 * the LAN given as `from` (default lanA's). With it the harness's call steps — signedInDevice,
 * placeCall, answerCall, waitConnected, expectMediaBothWays — drive Parley's UI across the NATs.
 */
export function labJourney(server: LabServer, browsers: Readonly<Record<Lan, TestBrowser>>): LabJourney {
  let contexts: BrowserContext[] = [];
  const pages: Record<string, Page> = {};
  return {
    server,
    browser: browsers.lanA,
    pages,
    async device(label: string, options?: BrowserContextOptions, from?: TestBrowser) {
      const context = await (from ?? browsers.lanA).newContext(options);
      contexts.push(context);
      const page = await context.newPage();
      pages[label] = page;
      return page;
    },
    async closeDevices() {
      const closing = contexts;
      contexts = [];
      for (const label of Object.keys(pages)) delete pages[label];
      await Promise.allSettled(closing.map((c) => c.close()));
    },
  };
}
