// Steps for calls between werift devices in Node (node-device.ts): waiting for a state, the end,
// the first remote track; measuring RTP both ways in one window.
import type { CallEnd, CallState } from '@parley/call';
import { forwardRtp, type RtpCounter, type RtpSource, type RtpWindow, type WeriftCallSession } from '@parley/call/werift';
import type { MediaStreamTrack, RTCPeerConnection } from 'werift';

/** Resolves once `session` is in `state` (at once if it already is); rejects if it ends first. */
export function waitState(session: WeriftCallSession, state: CallState, timeoutMs = 15_000): Promise<void> {
  if (session.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`call not ${state} within ${timeoutMs} ms (it is ${session.state})`));
    }, timeoutMs);
    const off = session.on('state', (next) => {
      if (next === state) {
        clearTimeout(timer);
        off();
        resolve();
      } else if (next === 'ended') {
        clearTimeout(timer);
        off();
        reject(new Error(`call ended (${session.end?.reason}, ${session.end?.by}) while waiting for ${state}`));
      }
    });
  });
}

/** Resolves with the end of `session`. */
export function waitEnded(session: WeriftCallSession, timeoutMs = 10_000): Promise<CallEnd> {
  if (session.end) return Promise.resolve(session.end);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`call did not end within ${timeoutMs} ms (it is ${session.state})`)), timeoutMs);
    session.on('ended', (end) => {
      clearTimeout(timer);
      resolve(end);
    });
  });
}

/** The remote tracks of `session`, by kind, as they arrive; subscribe before the call connects. */
export function remoteTracks(session: WeriftCallSession): { audio: Promise<MediaStreamTrack>; video: Promise<MediaStreamTrack> } {
  const waiting: Record<string, (t: MediaStreamTrack) => void> = {};
  const audio = new Promise<MediaStreamTrack>((r) => (waiting.audio = r));
  const video = new Promise<MediaStreamTrack>((r) => (waiting.video = r));
  session.on('track', (track) => waiting[track.kind]?.(track));
  return { audio, video };
}

export interface Direction {
  received: RtpWindow;
  /** Packets the source wrote in the same window. */
  sent: number;
}

/** Measures, over one `ms` window, what each counter receives and what its source sends. */
export async function measureRtp(pairs: readonly { source: RtpSource; counter: RtpCounter }[], ms: number): Promise<Direction[]> {
  const before = pairs.map((p) => p.source.sent);
  const received = await Promise.all(pairs.map((p) => p.counter.measure(ms)));
  return pairs.map((p, i) => ({ received: received[i]!, sent: p.source.sent - before[i]! }));
}

export function describeDirection(name: string, d: { received: RtpWindow; sent?: number }): string {
  const r = d.received;
  const of = d.sent === undefined ? '' : ` of ${d.sent} sent`;
  return `${name}: ${r.packets} packets in ${Math.round(r.ms)} ms (${r.packetsPerSecond.toFixed(1)}/s, ${Math.round(r.bytesPerSecond)} B/s)${of}`;
}

/**
 * Sends what `remote` receives back out on `local` (werift-side echo of a browser's media), with
 * key-frame requests passed on between the two transceivers of `pc`. Returns the stop function.
 */
export function echo(pc: RTCPeerConnection, remote: MediaStreamTrack, local: MediaStreamTrack): () => void {
  const receiver = pc.getTransceivers().find((t) => t.receiver.tracks.includes(remote) || t.receiver.track === remote)?.receiver;
  const sender = pc.getSenders().find((s) => s.track === local);
  if (!receiver || !sender) throw new Error(`no transceiver carries the ${remote.kind} tracks to echo`);
  return forwardRtp(remote, local, { receiver, sender });
}
