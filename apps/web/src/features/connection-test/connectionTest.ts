import { RtcConfigResponse } from '@parley/protocol';
import { errorMessage, request } from '../../lib/http.ts';
import {
  firstRelayMs,
  foundKinds,
  hasRelay,
  iceUrls,
  isStunUrl,
  isTurnUrl,
  turnAuth,
  turnUrlResults,
  type FoundKinds,
  type TurnAuth,
  type TurnUrlResult,
} from './candidates.ts';
import { checkMedia, gatherCandidates, measureRelayPair, type GatherResult, type GetUserMedia, type PeerFactory } from './probes.ts';
import { buildReport, type RelayRtt, type ServerConfig } from './report.ts';
import { verdict, type MediaFindings, type NetworkFindings, type Verdict } from './verdict.ts';

/*
 * "Test my connection": camera and microphone, candidate gathering against the ICE servers this
 * person would get for a call, the relay's answer to its credentials, the round trip to the
 * relay, and a verdict. A plain store (subscribe/getSnapshot) the page renders; no React here.
 */

export type StepStatus = 'idle' | 'running' | 'done';

export interface NetworkState {
  status: StepStatus;
  /** Why the network part could not run. */
  error: string | null;
  /** The configured STUN/TURN URLs (never their credentials). */
  urls: string[];
  gathering: GatherResult | null;
  found: FoundKinds | null;
  turnUrls: TurnUrlResult[];
  turn: TurnAuth | null;
}

export interface ConnectionTestState {
  status: 'idle' | 'running' | 'done';
  startedAt: string | null;
  finishedAt: string | null;
  media: { status: StepStatus; findings: MediaFindings | null };
  /** Camera and microphone while the page shows them (preview, level meter). */
  stream: MediaStream | null;
  network: NetworkState;
  relayRtt: { status: StepStatus; result: RelayRtt | null };
  verdict: Verdict | null;
}

export interface ConnectionTestDeps {
  fetchConfig: () => Promise<{ iceServers: ServerConfig[]; iceTransportPolicy: string }>;
  /** Null where the browser offers none (an insecure page). */
  getUserMedia: GetUserMedia | null;
  /** Null where the browser has no WebRTC. */
  createPeerConnection: PeerFactory | null;
  gatherTimeoutMs?: number;
  relayTimeoutMs?: number;
}

export function browserConnectionTestDeps(): ConnectionTestDeps {
  const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
  return {
    fetchConfig: async () => {
      const config = await request('/api/rtc-config', { schema: RtcConfigResponse });
      return { iceServers: config.iceServers, iceTransportPolicy: config.iceTransportPolicy };
    },
    getUserMedia: typeof devices?.getUserMedia === 'function' ? (c) => devices.getUserMedia(c) : null,
    createPeerConnection: typeof RTCPeerConnection === 'function' ? (c) => new RTCPeerConnection(c) : null,
  };
}

const IDLE_NETWORK: NetworkState = { status: 'idle', error: null, urls: [], gathering: null, found: null, turnUrls: [], turn: null };

const INITIAL: ConnectionTestState = {
  status: 'idle',
  startedAt: null,
  finishedAt: null,
  media: { status: 'idle', findings: null },
  stream: null,
  network: IDLE_NETWORK,
  relayRtt: { status: 'idle', result: null },
  verdict: null,
};

export class ConnectionTest {
  readonly #deps: ConnectionTestDeps;
  readonly #listeners = new Set<() => void>();
  #state: ConnectionTestState = INITIAL;
  /** The servers as fetched, credentials included: used, and scrubbed from the report, never shown. */
  #servers: ServerConfig[] = [];
  #policy: string | null = null;
  #run = 0;

  constructor(deps: ConnectionTestDeps) {
    this.#deps = deps;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getSnapshot = (): ConnectionTestState => this.#state;

  /** Runs every check; a second call while running does nothing. */
  async run(): Promise<void> {
    if (this.#state.status === 'running') return;
    const run = ++this.#run;
    this.stopMedia();
    this.#servers = [];
    this.#policy = null;
    this.#set({
      ...INITIAL,
      status: 'running',
      startedAt: new Date().toISOString(),
      media: { status: 'running', findings: null },
      network: { ...IDLE_NETWORK, status: 'running' },
    });
    const [media, network] = await Promise.all([this.#checkMedia(run), this.#checkNetwork(run)]);
    if (run !== this.#run) return;
    this.#set({ status: 'done', finishedAt: new Date().toISOString(), verdict: verdict(network, media) });
  }

  /** Turns the camera and microphone off (leaving the page, or the person asks). */
  stopMedia(): void {
    for (const track of this.#state.stream?.getTracks() ?? []) track.stop();
    if (this.#state.stream) this.#set({ stream: null });
  }

  /** Stops everything: the page is going away. A run still going on is forgotten. */
  dispose(): void {
    this.#run += 1;
    this.stopMedia();
    if (this.#state.status === 'running') this.#set({ status: 'idle' });
  }

  /** The downloadable report (no credentials), once a run has finished. */
  report(userAgent = typeof navigator === 'undefined' ? '' : navigator.userAgent): Record<string, unknown> | null {
    const s = this.#state;
    if (s.status !== 'done' || !s.startedAt || !s.finishedAt) return null;
    const g = s.network.gathering;
    return buildReport({
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      userAgent,
      servers: this.#servers,
      iceTransportPolicy: this.#policy,
      media: s.media.findings,
      gathering: g ? { candidates: g.candidates, errors: g.errors, complete: g.complete, durationMs: g.durationMs } : null,
      found: s.network.found,
      turn: s.network.turn ? { auth: s.network.turn, urls: s.network.turnUrls } : null,
      relayRtt: s.relayRtt.result,
      networkError: s.network.error,
      verdict: s.verdict,
    });
  }

  async #checkMedia(run: number): Promise<MediaFindings> {
    const { findings, stream } = await checkMedia(this.#deps.getUserMedia);
    if (run !== this.#run) {
      for (const track of stream?.getTracks() ?? []) track.stop();
      return findings;
    }
    this.#set({ media: { status: 'done', findings }, stream });
    return findings;
  }

  async #checkNetwork(run: number): Promise<NetworkFindings> {
    const create = this.#deps.createPeerConnection;
    const fail = (error: string): NetworkFindings => {
      if (run === this.#run) {
        this.#set({
          network: { ...this.#state.network, status: 'done', error },
          relayRtt: { status: 'done', result: { method: 'none', note: 'Could not measure: the network test did not run' } },
        });
      }
      return { ok: false, message: error };
    };
    if (!create) return fail('this browser cannot make calls (no WebRTC)');
    let config: Awaited<ReturnType<ConnectionTestDeps['fetchConfig']>>;
    try {
      config = await this.#deps.fetchConfig();
    } catch (error) {
      return fail(`the connection settings could not be fetched (${errorMessage(error)})`);
    }
    if (run !== this.#run) return { ok: false, message: 'stopped' };
    this.#servers = config.iceServers;
    this.#policy = config.iceTransportPolicy;
    const urls = iceUrls(config.iceServers);
    this.#set({ network: { ...this.#state.network, urls } });

    const gathering = await gatherCandidates(toRtc(config.iceServers), create, this.#deps.gatherTimeoutMs);
    if (run !== this.#run) return { ok: false, message: 'stopped' };
    const found = foundKinds(gathering.candidates);
    const turnUrls = turnUrlResults(urls, gathering.candidates, gathering.errors);
    const turn = turnAuth(turnUrls, found);
    this.#set({
      network: { status: 'done', error: null, urls, gathering, found, turnUrls, turn },
      relayRtt: { status: 'running', result: null },
    });

    const relayRtt = await this.#measureRelay(config.iceServers, create, found, turn, gathering);
    if (run !== this.#run) return { ok: false, message: 'stopped' };
    this.#set({ relayRtt: { status: 'done', result: relayRtt } });
    return { ok: true, found, turn, serversConfigured: urls.some((u) => isStunUrl(u) || isTurnUrl(u)) };
  }

  async #measureRelay(servers: ServerConfig[], create: PeerFactory, found: FoundKinds, turn: TurnAuth, gathering: GatherResult): Promise<RelayRtt> {
    if (turn === 'not_configured') return { method: 'none', note: 'Could not measure: no relay (TURN) server is configured' };
    if (!hasRelay(found)) return { method: 'none', note: 'Could not measure: no relay reachable' };
    const pair = await measureRelayPair(toRtc(servers), create, this.#deps.relayTimeoutMs);
    if (pair.ok) {
      return { method: 'relay-pair', rttMs: Math.round(pair.pairRttMs / 2), pairRttMs: Math.round(pair.pairRttMs), relayProtocol: pair.relayProtocol };
    }
    const first = firstRelayMs(gathering.candidates);
    if (first === null) return { method: 'none', note: `Could not measure: ${pair.reason}` };
    return {
      method: 'estimate',
      rttMs: Math.max(1, Math.round(first / 2)),
      firstRelayMs: first,
      note: `Could not measure through the relay (${pair.reason}); estimated from the time to get a relay address`,
    };
  }

  #set(patch: Partial<ConnectionTestState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const listener of this.#listeners) listener();
  }
}

function toRtc(servers: readonly ServerConfig[]): RTCIceServer[] {
  return servers.map((s) => ({
    urls: typeof s.urls === 'string' ? s.urls : [...s.urls],
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.credential !== undefined ? { credential: s.credential } : {}),
  }));
}
