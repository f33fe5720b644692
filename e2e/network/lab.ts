// The network lab: two LANs, each behind its own NAT router, and a "public" segment holding the
// Parley server and coturn — all in network namespaces this process creates, so no packet of a
// test ever reaches a real network. See README.md beside this file for the picture and the why.
//
//   lanA 10.99.1.2 ── natA [lan 10.99.1.1 | wan 100.64.1.2] ── pub 100.64.1.1 ┐
//   lanB 10.99.2.2 ── natB [lan 10.99.2.1 | wan 100.64.2.2] ── pub 100.64.2.1 ┤ 100.64.0.1/32 on lo
//                                                                             ┘ (Parley, coturn)
//
// This file is the lab's face: `createLab` and the `Lab` it returns, and teardown on every path
// out. The concerns live beside it: netns.ts (addresses, namespaces, processes, leftovers),
// nat.ts (links, NAT routers, UDP block, link cuts), turn.ts (coturn), server.ts (Parley),
// browser.ts (Chromium in a LAN), journey.ts (the UI journey helpers on the lab).
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestBrowser } from '../support/browser.ts';
import { browserProcess, launchLabBrowser, type LabBrowserOptions } from './browser.ts';
import { buildTopology, cutLink, setUdpBlocked } from './nat.ts';
import { labUnavailableReason, Namespaces, PREFIX, removeLeftovers, type Lan, type LabNamespace, type LabProcess, type NatKind } from './netns.ts';
import { restartServer, startServer, type LabServer, type LabServerOptions } from './server.ts';
import { startTurn, type LabTurn, type TurnOptions } from './turn.ts';

export { LAB_CHROMIUM_ARGS, labOriginArgs } from './browser.ts';
export { labJourney, type LabJourney } from './journey.ts';
export { LAB_ADDRESSES, labUnavailableReason, removeLeftovers, SERVICE_IP, type Lan, type LabNamespace, type LabProcess, type NatKind } from './netns.ts';
export type { LabServer, LabServerOptions } from './server.ts';
export { TURN_PORT, TURNS_PORT, type LabTurn, type TurnOptions } from './turn.ts';

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
  launchBrowser(lan: Lan, options?: LabBrowserOptions): Promise<TestBrowser>;
  /** Stops browsers and processes, removes the namespaces (their veths with them) and the temp folder. */
  destroy(): Promise<void>;
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

// ---- the lab ----

let labCounter = 0;

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
  readonly nat: NatKind;
  private readonly spaces: Namespaces;
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
    this.spaces = new Namespaces(id, dir);
  }

  get ns(): Readonly<Record<LabNamespace, string>> {
    return this.spaces.names;
  }

  async build(): Promise<void> {
    await this.spaces.create();
    await buildTopology(this.spaces, this.nat, this.udpBlocked);
  }

  exec(ns: LabNamespace, cmd: string | readonly string[]): Promise<string> {
    return this.spaces.exec(ns, cmd);
  }

  spawn(ns: LabNamespace, cmd: string, args?: readonly string[], env?: Record<string, string>, label?: string): LabProcess {
    if (this.destroyed) throw new Error(`lab ${this.id} is destroyed`);
    return this.spaces.spawn(ns, cmd, args, env, label);
  }

  async setUdpBlocked(blocked: boolean): Promise<void> {
    await setUdpBlocked(this.spaces, blocked);
    this.udpBlocked = blocked;
  }

  cutLink(lan: Lan, ms: number, how: 'down' | 'drop' = 'down'): Promise<void> {
    return cutLink(this.spaces, lan, ms, how);
  }

  startTurn(options?: TurnOptions): Promise<LabTurn> {
    this.assertLive();
    return startTurn(this.spaces, options);
  }

  startServer(options?: LabServerOptions): Promise<LabServer> {
    this.assertLive();
    return startServer(this.spaces, options);
  }

  restartServer(server: LabServer, options?: Omit<LabServerOptions, 'port' | 'dataDir'>): Promise<LabServer> {
    this.assertLive();
    return restartServer(this.spaces, server, options);
  }

  async launchBrowser(lan: Lan, options: LabBrowserOptions = {}): Promise<TestBrowser> {
    this.assertLive();
    const browser = await launchLabBrowser(this.spaces, lan, options, (b) => this.browsers.delete(b));
    this.browsers.add(browser);
    return browser;
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      await Promise.allSettled([...this.browsers].map((b) => b.close()));
      await this.spaces.remove();
      await rm(this.dir, { recursive: true, force: true });
      liveLabs.delete(this);
    })();
    return this.destroyed;
  }

  /** The same, synchronously, for `exit` and signal handlers: no grace, everything SIGKILLed. */
  destroySync(): void {
    for (const b of this.browsers) browserProcess(b)?.kill('SIGKILL');
    this.spaces.removeSync();
    fs.rmSync(this.dir, { recursive: true, force: true });
    liveLabs.delete(this);
  }

  private assertLive(): void {
    if (this.destroyed) throw new Error(`lab ${this.id} is destroyed`);
  }
}
