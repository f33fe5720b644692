// A call between two pages with a bare RTCPeerConnection, no app code involved: the test is the
// signalling channel (Playwright carries SDP and trickled candidates between the pages). It proves
// what the network lets through, independently of Parley's call UI.
import type { Page } from 'playwright-core';

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface PeerConfig {
  iceServers: IceServer[];
  iceTransportPolicy?: 'all' | 'relay';
}

export interface CandidateInfo {
  type: string;
  protocol: string;
  /** For a relay candidate: how the browser reaches the TURN server (udp, tcp, tls). */
  relayProtocol?: string;
  address?: string;
  port?: number;
}

export interface SelectedPair {
  local: CandidateInfo;
  remote: CandidateInfo;
}

export interface InboundTotals {
  audioBytes: number;
  videoFrames: number;
}

export interface Rates {
  audioBytesPerS: number;
  videoFramesPerS: number;
  windowMs: number;
}

export interface PeerState {
  ice: string;
  connection: string;
  /** The ICE username fragment of the local description: an ICE restart changes it. */
  ufrag?: string;
  /** `<Date.now()> ice:<state>` and `conn:<state>` lines, oldest first. */
  log: string[];
}

/** The page-side half, run in each page once. Self-contained: Playwright sends its source text. */
function pageSide(): void {
  type Msg = { gen: number; candidate: RTCIceCandidateInit };
  const w = window as unknown as { __lab?: unknown; __labSignal: (json: string) => Promise<void> };
  if (w.__lab) return;
  let pc: RTCPeerConnection | undefined;
  let gen = -1;
  let pending: RTCIceCandidateInit[] = [];
  let stream: MediaStream | undefined;
  const log: string[] = [];

  const ufragOf = (sdp: string | undefined) => new Set([...(sdp ?? '').matchAll(/a=ice-ufrag:(\S+)/g)].map((m) => m[1]));
  /** A candidate belongs to the remote description it was gathered for; one for a newer (restarted) one waits. */
  const ready = (c: RTCIceCandidateInit) => !!pc?.remoteDescription && (!c.usernameFragment || ufragOf(pc.remoteDescription.sdp).has(c.usernameFragment));
  const flush = async () => {
    const later: RTCIceCandidateInit[] = [];
    for (const c of pending) {
      if (ready(c)) await pc!.addIceCandidate(c).catch((err: Error) => log.push(`${Date.now()} addIceCandidate failed: ${err.message}`));
      else later.push(c);
    }
    pending = later;
  };
  const totals = async () => {
    let audioBytes = 0;
    let videoFrames = 0;
    if (pc) {
      (await pc.getStats()).forEach((s: { type: string; kind?: string; bytesReceived?: number; framesDecoded?: number }) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'audio') audioBytes += s.bytesReceived ?? 0;
        if (s.kind === 'video') videoFrames += s.framesDecoded ?? 0;
      });
    }
    return { audioBytes, videoFrames };
  };

  w.__lab = {
    async start(config: RTCConfiguration, g: number) {
      pc?.close();
      gen = g;
      pending = [];
      log.length = 0;
      stream ??= await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
      const mine = new RTCPeerConnection(config);
      pc = mine;
      for (const track of stream.getTracks()) mine.addTrack(track, stream);
      mine.onicecandidate = (e) => {
        if (e.candidate && pc === mine) void w.__labSignal(JSON.stringify({ gen: g, candidate: e.candidate.toJSON() } satisfies Msg));
      };
      mine.oniceconnectionstatechange = () => log.push(`${Date.now()} ice:${mine.iceConnectionState}`);
      mine.onconnectionstatechange = () => log.push(`${Date.now()} conn:${mine.connectionState}`);
    },
    /** Creates and applies an offer (after restartIce() when `restart`); returns it and when it was made. */
    async offer(restart: boolean) {
      const at = Date.now();
      if (restart) pc!.restartIce();
      await pc!.setLocalDescription(await pc!.createOffer());
      return { sdp: pc!.localDescription!.sdp, at };
    },
    async answer(sdp: string) {
      await pc!.setRemoteDescription({ type: 'offer', sdp });
      await flush();
      await pc!.setLocalDescription(await pc!.createAnswer());
      return pc!.localDescription!.sdp;
    },
    async accept(sdp: string) {
      await pc!.setRemoteDescription({ type: 'answer', sdp });
      await flush();
    },
    async addCandidate(json: string) {
      const msg = JSON.parse(json) as Msg;
      if (msg.gen !== gen || !pc) return;
      pending.push(msg.candidate);
      await flush();
    },
    state() {
      const ufrag = /a=ice-ufrag:(\S+)/.exec(pc?.localDescription?.sdp ?? '')?.[1];
      return { ice: pc?.iceConnectionState ?? 'none', connection: pc?.connectionState ?? 'none', ufrag, log: [...log] };
    },
    totals,
    async measure(ms: number) {
      const a = await totals();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, ms));
      const b = await totals();
      const s = (performance.now() - t0) / 1000;
      return {
        audioBytesPerS: Math.round((b.audioBytes - a.audioBytes) / s),
        videoFramesPerS: Math.round(((b.videoFrames - a.videoFrames) / s) * 10) / 10,
        windowMs: Math.round(s * 1000),
      };
    },
    /** Resolves with Date.now() once more than `baseline` video frames were decoded; -1 after `timeoutMs`. */
    async waitFrames(baseline: number, timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await totals()).videoFrames > baseline) return Date.now();
        await new Promise((r) => setTimeout(r, 10));
      }
      return -1;
    },
    async selectedPair() {
      if (!pc) return undefined;
      const stats = await pc.getStats();
      let pairId: string | undefined;
      stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId ? stats.get(pairId) : undefined;
      if (!pair) return undefined;
      const info = (id: string) => {
        const c = stats.get(id) ?? {};
        return { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol, address: c.address, port: c.port };
      };
      return { local: info(pair.localCandidateId), remote: info(pair.remoteCandidateId) };
    },
    close() {
      pc?.close();
      pc = undefined;
    },
  };
}

type PageLab = {
  start(config: PeerConfig, gen: number): Promise<void>;
  offer(restart: boolean): Promise<{ sdp: string; at: number }>;
  answer(sdp: string): Promise<string>;
  accept(sdp: string): Promise<void>;
  addCandidate(json: string): Promise<void>;
  state(): PeerState;
  totals(): Promise<InboundTotals>;
  measure(ms: number): Promise<Rates>;
  waitFrames(baseline: number, timeoutMs: number): Promise<number>;
  selectedPair(): Promise<SelectedPair | undefined>;
  close(): void;
};
type LabWindow = Window & { __lab: PageLab };

/** One side of a raw call: a page with the page-side helpers installed. */
export class RawPeer {
  private constructor(
    readonly name: string,
    readonly page: Page,
  ) {}

  /** Installs the helpers in `page` and routes its candidates to whatever `deliver` is set to. */
  static async install(name: string, page: Page, deliver: (json: string) => Promise<void>): Promise<RawPeer> {
    await page.exposeFunction('__labSignal', deliver);
    // Under tsx (esbuild keepNames) the function's source calls a module-level `__name` helper that
    // does not exist in the page; define a no-op one around it so the source runs anywhere.
    await page.evaluate(`(() => { const __name = (f) => f; (${pageSide.toString()})(); })()`);
    return new RawPeer(name, page);
  }

  start(config: PeerConfig, gen: number) {
    return this.page.evaluate(([c, g]) => (window as unknown as LabWindow).__lab.start(c, g), [config, gen] as const);
  }
  offer(restart = false) {
    return this.page.evaluate((r) => (window as unknown as LabWindow).__lab.offer(r), restart);
  }
  answer(sdp: string) {
    return this.page.evaluate((s) => (window as unknown as LabWindow).__lab.answer(s), sdp);
  }
  accept(sdp: string) {
    return this.page.evaluate((s) => (window as unknown as LabWindow).__lab.accept(s), sdp);
  }
  addCandidate(json: string) {
    return this.page.evaluate((j) => (window as unknown as LabWindow).__lab.addCandidate(j), json);
  }
  state() {
    return this.page.evaluate(() => (window as unknown as LabWindow).__lab.state());
  }
  totals() {
    return this.page.evaluate(() => (window as unknown as LabWindow).__lab.totals());
  }
  measure(ms: number) {
    return this.page.evaluate((m) => (window as unknown as LabWindow).__lab.measure(m), ms);
  }
  waitFrames(baseline: number, timeoutMs: number) {
    return this.page.evaluate(([b, t]) => (window as unknown as LabWindow).__lab.waitFrames(b, t), [baseline, timeoutMs] as const);
  }
  selectedPair() {
    return this.page.evaluate(() => (window as unknown as LabWindow).__lab.selectedPair());
  }
  close() {
    return this.page.evaluate(() => (window as unknown as LabWindow).__lab.close());
  }
}

export interface Negotiation {
  /** Date.now() when the offer was created. */
  offerAt: number;
  /** Offer → both pages decoded a (new) remote video frame, in ms; undefined if either did not within the timeout. */
  firstFrameMs?: number;
  /** Offer → both ICE states connected or completed, in ms; undefined when that did not happen. */
  connectedMs?: number;
  /** The last ICE states, when it did not connect. */
  a: PeerState;
  b: PeerState;
}

const CONNECTED = new Set(['connected', 'completed']);

/**
 * Two pages and the signalling between them. `a` always offers; a restart re-offers from `a` on the
 * existing connections.
 */
export class RawCall {
  private gen = 0;

  private constructor(
    readonly a: RawPeer,
    readonly b: RawPeer,
  ) {}

  static async between(nameA: string, pageA: Page, nameB: string, pageB: Page): Promise<RawCall> {
    // Each page's candidates go straight to the other page; late ones from a closed connection are
    // dropped there by their generation number.
    const holder: { a?: RawPeer; b?: RawPeer } = {};
    const relay = (to: () => RawPeer | undefined) => async (json: string) => {
      await to()?.addCandidate(json).catch(() => undefined);
    };
    holder.a = await RawPeer.install(nameA, pageA, relay(() => holder.b));
    holder.b = await RawPeer.install(nameB, pageB, relay(() => holder.a));
    return new RawCall(holder.a, holder.b);
  }

  /**
   * New connections on both pages with `config`, offer → answer, and waits up to `timeoutMs` for
   * ICE connected and a first decoded video frame each way.
   */
  async connect(config: PeerConfig, timeoutMs: number): Promise<Negotiation> {
    const gen = ++this.gen;
    await Promise.all([this.a.start(config, gen), this.b.start(config, gen)]);
    return this.negotiate(false, timeoutMs);
  }

  /** restartIce() on `a`, a new offer and answer, and the same waits as `connect`. */
  restart(timeoutMs: number): Promise<Negotiation> {
    return this.negotiate(true, timeoutMs);
  }

  private async negotiate(restart: boolean, timeoutMs: number): Promise<Negotiation> {
    const [baseA, baseB] = await Promise.all([this.a.totals(), this.b.totals()]);
    const offer = await this.a.offer(restart);
    // Never left to reject unhandled: when the call does not connect nobody awaits it, and the page may close first.
    const frames = Promise.all([this.a.waitFrames(baseA.videoFrames, timeoutMs), this.b.waitFrames(baseB.videoFrames, timeoutMs)]).catch(() => [-1, -1]);
    await this.a.accept(await this.b.answer(offer.sdp));

    const deadline = offer.at + timeoutMs;
    let a: PeerState;
    let b: PeerState;
    let connected = false;
    for (;;) {
      [a, b] = await Promise.all([this.a.state(), this.b.state()]);
      if (CONNECTED.has(a.ice) && CONNECTED.has(b.ice)) {
        connected = true;
        break;
      }
      if (a.ice === 'failed' || b.ice === 'failed' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!connected) return { offerAt: offer.at, a, b };
    const [fa, fb] = await frames;
    return {
      offerAt: offer.at,
      connectedMs: connectedTime(offer.at, a, b),
      firstFrameMs: fa < 0 || fb < 0 ? undefined : Math.max(fa, fb) - offer.at,
      a,
      b,
    };
  }

  /** Media received by each page over the same `ms` window. */
  async measure(ms: number): Promise<{ a: Rates; b: Rates }> {
    const [a, b] = await Promise.all([this.a.measure(ms), this.b.measure(ms)]);
    return { a, b };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.a.close(), this.b.close()]);
  }
}

/**
 * Offer → the later of the two pages' first ICE "connected" after the offer, from the pages' own
 * state logs; undefined when a page never changed state (a restart on a connection that had recovered).
 */
function connectedTime(offerAt: number, a: PeerState, b: PeerState): number | undefined {
  const first = (s: PeerState) => {
    const line = s.log.find((l) => Number(l.split(' ')[0]) >= offerAt && /ice:(connected|completed)/.test(l));
    return line ? Number(line.split(' ')[0]) : undefined;
  };
  const ta = first(a);
  const tb = first(b);
  return ta === undefined || tb === undefined ? undefined : Math.max(ta, tb) - offerAt;
}

/** `srflx/udp ↔ srflx/udp`, `relay(tcp)/udp ↔ relay/udp`: the selected pair, from a's side. */
export function describePair(pair: SelectedPair | undefined): string {
  if (!pair) return '-';
  const side = (c: CandidateInfo) => `${c.type}${c.relayProtocol ? `(${c.relayProtocol})` : ''}/${c.protocol}`;
  return `${side(pair.local)} ↔ ${side(pair.remote)}`;
}

/**
 * The selected candidate pair of the page's newest live RTCPeerConnection, read through the
 * harness's probe (`window.__pcs`, installed by support/call.ts callDevice): for calls made by the app.
 */
export async function appSelectedPair(page: Page): Promise<SelectedPair | undefined> {
  return page.evaluate(async () => {
    const pcs = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    const pc = pcs[pcs.length - 1];
    if (!pc) return undefined;
    const stats = await pc.getStats();
    let pairId: string | undefined;
    stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId ? stats.get(pairId) : undefined;
    if (!pair) return undefined;
    const info = (id: string) => {
      const c = stats.get(id) ?? {};
      return { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol, address: c.address, port: c.port };
    };
    return { local: info(pair.localCandidateId), remote: info(pair.remoteCandidateId) };
  });
}
