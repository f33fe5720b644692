import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { stunAnswers } from '../../lib/stun-probe.ts';
import { HARDENED_COTURN_FLAGS } from './coturn-hardening.ts';

/** Finds `turnserver` on the PATH (Debian's coturn package puts it in /usr/bin). */
export function findTurnserver(envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    const candidate = path.join(dir, 'turnserver');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export interface ManagedCoturnOptions {
  bin: string;
  port: number;
  /** Addresses to listen on; empty: all. */
  listeningIps?: string[];
  /** Address the relay ports are opened on (`relay-ip`). */
  relayIp?: string;
  /** `external-ip` for a host behind a 1:1 NAT. */
  externalIp?: string;
  realm: string;
  /** Extra config lines (tests: `allow-loopback-peers` is never shipped, but `allowed-peer-ip=…` for a lab address). */
  extraConfig?: string[];
  log: FastifyBaseLogger;
  /** Restart back-off, first step. */
  restartDelayMs?: number;
}

/**
 * coturn as a supervised child of the Parley server: a generated secret, the hardened settings,
 * restarted when it dies, stopped on shutdown, its output in Parley's log.
 */
export class ManagedCoturn {
  readonly secret = randomBytes(32).toString('base64url');
  private child?: ChildProcess;
  private stopping = false;
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-coturn-'));
  private readonly log: FastifyBaseLogger;

  constructor(private readonly opts: ManagedCoturnOptions) {
    this.log = opts.log.child({ component: 'coturn' });
    // Even if Parley dies without a clean shutdown, its coturn must not outlive it.
    process.once('exit', () => this.child?.kill('SIGKILL'));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The config file: the secret stays out of the process list. */
  private writeConfig(): string {
    const o = this.opts;
    const lines = [
      `listening-port=${o.port}`,
      ...(o.listeningIps ?? []).map((ip) => `listening-ip=${ip}`),
      ...(o.relayIp ? [`relay-ip=${o.relayIp}`] : []),
      ...(o.externalIp ? [`external-ip=${o.externalIp}`] : []),
      'use-auth-secret',
      `static-auth-secret=${this.secret}`,
      `realm=${o.realm}`,
      'no-tls',
      'no-dtls',
      // RFC 5780 NAT discovery (on by default when coturn listens on more than one
      // address) also binds the port above listening-port, and coturn will not serve
      // until it gets it. WebRTC never uses it, so one busy port must not stop the relay.
      'no-rfc5780',
      'log-file=stdout',
      'simple-log',
      `pidfile=${path.join(this.dir, 'turn.pid')}`,
      `userdb=${path.join(this.dir, 'turn.db')}`,
      ...HARDENED_COTURN_FLAGS.map((f) => f.slice(2)),
      ...(o.extraConfig ?? []),
    ];
    const file = path.join(this.dir, 'turnserver.conf');
    fs.writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
    return file;
  }

  /** Starts coturn and resolves once it answers STUN on its port (at most ~10 s). */
  async start(): Promise<void> {
    this.stopping = false;
    this.spawn();
    const host = this.opts.listeningIps?.[0] ?? '127.0.0.1';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await stunAnswers(host, this.opts.port, 300)) {
        this.log.info({ port: this.opts.port, pid: this.child?.pid }, 'coturn is up');
        return;
      }
      if (!this.child || this.child.exitCode !== null) await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`coturn did not answer on port ${this.opts.port} within 10 s`);
  }

  private spawn(): void {
    const child = spawn(this.opts.bin, ['-c', this.writeConfig()], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        const msg = line.replace(/^\d+: : /, '').trim();
        if (!msg) continue;
        if (/error|cannot|failed/i.test(msg)) this.log.warn(msg);
        else this.log.debug(msg);
      }
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.on('error', (err) => this.log.error({ err }, 'coturn could not be started'));
    child.on('exit', (code, signal) => {
      if (this.stopping) return;
      const delay = Math.min(30_000, (this.opts.restartDelayMs ?? 1000) * 2 ** Math.min(this.restarts, 5));
      this.restarts++;
      this.log.error({ code, signal, restartInMs: delay }, 'coturn exited; restarting');
      this.restartTimer = setTimeout(() => this.spawn(), delay);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
