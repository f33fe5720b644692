import { describeMediaError } from '../../lib/mediaErrors.ts';
import { numberField, pairCandidates, selectedPair, stringField, type StatsReportLike } from '@parley/call';
import { parseCandidate, type CandidateError, type CandidateLike, type GatheredCandidate } from './candidates.ts';
import type { MediaFindings } from './verdict.ts';

/*
 * The connection test's contact with the browser: getUserMedia, and RTCPeerConnections that
 * gather candidates or connect to each other through the relay. Each probe is bounded in time
 * and closes what it opened, whatever happens.
 */

/** Makes an RTCPeerConnection; injected so the probes can run on a fake. */
export type PeerFactory = (configuration: RTCConfiguration) => RTCPeerConnection;

export interface GatherResult {
  candidates: GatheredCandidate[];
  errors: CandidateError[];
  /** Gathering finished by itself (false: stopped at the time limit). */
  complete: boolean;
  durationMs: number;
}

export const GATHER_TIMEOUT_MS = 10_000;
export const RELAY_CONNECT_TIMEOUT_MS = 6_000;

const now = () => performance.now();

/**
 * Gathers this device's candidates against `iceServers` (policy `all`): a data channel gives the
 * offer something to negotiate; nothing is ever sent. Ends when gathering completes or at `timeoutMs`.
 */
export function gatherCandidates(
  iceServers: RTCIceServer[],
  createPeerConnection: PeerFactory,
  timeoutMs = GATHER_TIMEOUT_MS,
): Promise<GatherResult> {
  return new Promise((resolve) => {
    const candidates: GatheredCandidate[] = [];
    const errors: CandidateError[] = [];
    const pc = createPeerConnection({ iceServers, iceTransportPolicy: 'all' });
    let start = now();
    let done = false;
    const finish = (complete: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pc.close();
      resolve({ candidates, errors, complete, durationMs: Math.round(now() - start) });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    pc.addEventListener('icecandidate', (event) => {
      if (!event.candidate) {
        finish(true);
        return;
      }
      const url = (event as RTCPeerConnectionIceEvent & { url?: string | null }).url ?? null;
      const parsed = parseCandidate(event.candidate as unknown as CandidateLike, Math.round(now() - start), url);
      if (parsed) candidates.push(parsed);
    });
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') finish(true);
    });
    pc.addEventListener('icecandidateerror', (event) => {
      const e = event as RTCPeerConnectionIceErrorEvent;
      errors.push({ url: e.url || null, errorCode: e.errorCode, errorText: e.errorText ?? '', atMs: Math.round(now() - start) });
    });
    pc.createDataChannel('parley-connection-test');
    start = now();
    pc.setLocalDescription().catch(() => finish(false));
  });
}

export type RelayPairResult =
  | { ok: true; pairRttMs: number; relayProtocol: string | null }
  | { ok: false; reason: string };

/**
 * Connects two peer connections of this page to each other through the relay only (policy
 * `relay`) and reads the selected pair's round-trip time. Its connectivity checks cross the relay
 * twice (out through one allocation, back through the other). A relay that refuses to relay
 * between its own addresses (coturn on loopback does) makes this fail: the caller falls back.
 */
export async function measureRelayPair(
  iceServers: RTCIceServer[],
  createPeerConnection: PeerFactory,
  timeoutMs = RELAY_CONNECT_TIMEOUT_MS,
): Promise<RelayPairResult> {
  const a = createPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
  const b = createPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
  const deadline = now() + timeoutMs;
  try {
    a.addEventListener('icecandidate', (e) => {
      if (e.candidate) b.addIceCandidate(e.candidate).catch(() => undefined);
    });
    b.addEventListener('icecandidate', (e) => {
      if (e.candidate) a.addIceCandidate(e.candidate).catch(() => undefined);
    });
    a.createDataChannel('parley-rtt');
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription!);
    const state = await connected(a, deadline);
    if (state !== 'connected') return { ok: false, reason: state === 'failed' ? 'the relay did not connect the two test connections' : 'no connection through the relay in time' };
    // The pair's RTT appears with the first answered check after connecting.
    while (now() < deadline) {
      const report = (await a.getStats()) as unknown as StatsReportLike;
      const pair = selectedPair(report);
      const rtt = numberField(pair, 'currentRoundTripTime');
      if (pair && rtt !== null && rtt > 0) {
        const { local } = pairCandidates(report, pair);
        return { ok: true, pairRttMs: rtt * 1000, relayProtocol: stringField(local, 'relayProtocol') };
      }
      await sleep(200);
    }
    return { ok: false, reason: 'the browser reported no round-trip time' };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : 'the test connection failed' };
  } finally {
    a.close();
    b.close();
  }
}

function connected(pc: RTCPeerConnection, deadline: number): Promise<'connected' | 'failed' | 'timeout'> {
  return new Promise((resolve) => {
    const check = () => {
      const s = pc.iceConnectionState;
      if (s === 'connected' || s === 'completed') settle('connected');
      else if (s === 'failed' || s === 'closed') settle('failed');
    };
    const timer = setTimeout(() => settle('timeout'), Math.max(0, deadline - now()));
    const settle = (result: 'connected' | 'failed' | 'timeout') => {
      clearTimeout(timer);
      pc.removeEventListener('iceconnectionstatechange', check);
      resolve(result);
    };
    pc.addEventListener('iceconnectionstatechange', check);
    check();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type GetUserMedia = (constraints: MediaStreamConstraints) => Promise<MediaStream>;

/**
 * Camera and microphone: both at once; when that fails, each alone, so the words can name the
 * device at fault. Returns the stream that worked (for the preview and the level meter).
 */
export async function checkMedia(getUserMedia: GetUserMedia | null): Promise<{ findings: MediaFindings; stream: MediaStream | null }> {
  if (!getUserMedia) {
    const unsupported = new DOMException('', 'NotSupportedError');
    return {
      findings: {
        camera: { ok: false, message: describeMediaError(unsupported, 'camera') },
        microphone: { ok: false, message: describeMediaError(unsupported, 'microphone') },
      },
      stream: null,
    };
  }
  try {
    const stream = await getUserMedia({ audio: true, video: true });
    return { findings: { camera: works(stream, 'video'), microphone: works(stream, 'audio') }, stream };
  } catch (both) {
    const [audio, video] = await Promise.allSettled([getUserMedia({ audio: true }), getUserMedia({ video: true })]);
    const tracks = [audio, video].flatMap((r) => (r.status === 'fulfilled' ? r.value.getTracks() : []));
    const stream = tracks.length > 0 ? new MediaStream(tracks) : null;
    return {
      findings: {
        camera: video.status === 'fulfilled' ? works(video.value, 'video') : { ok: false, message: describeMediaError(video.reason ?? both, 'camera') },
        microphone:
          audio.status === 'fulfilled' ? works(audio.value, 'audio') : { ok: false, message: describeMediaError(audio.reason ?? both, 'microphone') },
      },
      stream,
    };
  }
}

function works(stream: MediaStream, kind: 'audio' | 'video'): MediaFindings['camera'] {
  const track = stream.getTracks().find((t) => t.kind === kind);
  if (!track) return { ok: false, message: describeMediaError(new DOMException('', 'NotFoundError'), kind === 'audio' ? 'microphone' : 'camera') };
  return { ok: true, label: track.label || (kind === 'audio' ? 'Microphone' : 'Camera') };
}
