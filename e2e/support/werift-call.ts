// Steps for calls between werift devices in Node (node-device.ts): waiting for a state, the end,
// the first remote track; measuring RTP both ways in one window.
import type { CallEnd, CallPhase } from '@parley/call';
import { forwardRtp, type RtpCounter, type RtpSource, type RtpWindow } from '@parley/call/werift';
import type { MediaStreamTrack, RTCPeerConnection } from 'werift';
import type { NodeCall } from './node-device.ts';

/** Resolves once `call` is in `phase` (at once if it already is); rejects if it ends first. */
export function waitPhase(call: NodeCall, phase: CallPhase, timeoutMs = 15_000): Promise<void> {
  if (call.phase === phase) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      offUpdate();
      offEnded();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`call not ${phase} within ${timeoutMs} ms (it is ${call.phase})`)), timeoutMs);
    const offUpdate = call.on('update', () => (call.phase === phase ? done() : undefined));
    const offEnded = call.on('ended', (end) => done(new Error(`call ended (${end.reason}, ${end.by}) while waiting for ${phase}`)));
  });
}

/** Resolves once `check` holds after an update of `call`. */
export function waitUpdate(call: NodeCall, check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const off = call.on('update', () => {
      if (!check()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** Resolves with the end of `call`. */
export function waitEnded(call: NodeCall, timeoutMs = 10_000): Promise<CallEnd> {
  if (call.end) return Promise.resolve(call.end);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`call did not end within ${timeoutMs} ms (it is ${call.phase})`)), timeoutMs);
    call.on('ended', (end) => {
      clearTimeout(timer);
      resolve(end);
    });
  });
}

/** The remote tracks of `call`, by kind, as they arrive; subscribe before the call connects. */
export function remoteTracks(call: NodeCall): { audio: Promise<MediaStreamTrack>; video: Promise<MediaStreamTrack> } {
  const waiting: Record<string, (t: MediaStreamTrack) => void> = {};
  const audio = new Promise<MediaStreamTrack>((r) => (waiting.audio = r));
  const video = new Promise<MediaStreamTrack>((r) => (waiting.video = r));
  call.on('track', (track) => waiting[track.kind]?.(track));
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
