import type { MediaPath } from './media-path.ts';
import type { StreamLike, TrackLike } from './webrtc.ts';

/** Caller: ringing devices it pre-connects to at most (each is a peer connection and, with TURN, a relay allocation). */
export const MAX_PRECONNECTED = 8;

/**
 * The media paths a session made while the call rings (decision 020): the caller's, one per
 * pre-connecting ringing device, and what any path made while ringing learnt of remote media,
 * kept until that path is the answered call's (the app hears of no remote track before).
 */
export class Preconnections<Track extends TrackLike, Stream extends StreamLike<Track>> {
  readonly #byDevice = new Map<string, MediaPath<Track, Stream>>();
  readonly #untold = new Map<MediaPath<Track, Stream>, (() => void)[]>();

  /** Another device may get one: none yet for it, and fewer than MAX_PRECONNECTED in all. */
  canAdd(deviceId: string): boolean {
    return !this.#byDevice.has(deviceId) && this.#byDevice.size < MAX_PRECONNECTED;
  }

  add(deviceId: string, path: MediaPath<Track, Stream>): void {
    this.#byDevice.set(deviceId, path);
  }

  /** The open path to `deviceId`, if any. */
  get(deviceId: string): MediaPath<Track, Stream> | undefined {
    const path = this.#byDevice.get(deviceId);
    return path && !path.closed ? path : undefined;
  }

  /** The device a path was made for; undefined for any other path. */
  deviceOf(path: MediaPath<Track, Stream>): string | undefined {
    for (const [deviceId, p] of this.#byDevice) if (p === path) return deviceId;
    return undefined;
  }

  /** `deviceId` answered: its path leaves this set (returned, open or not) and every other one closes. */
  keepOnly(deviceId: string): MediaPath<Track, Stream> | undefined {
    const kept = this.#byDevice.get(deviceId);
    this.#byDevice.delete(deviceId);
    this.closeAll();
    return kept && !kept.closed ? kept : undefined;
  }

  /** Something `path` learnt of remote media, for the app once it is the call's (release()). */
  hold(path: MediaPath<Track, Stream>, tell: () => void): void {
    if (path.closed) return;
    const untold = this.#untold.get(path) ?? [];
    untold.push(tell);
    this.#untold.set(path, untold);
  }

  /** `path` is the answered call's: what it learnt reaches the app now, in order. */
  release(path: MediaPath<Track, Stream>): void {
    const untold = this.#untold.get(path) ?? [];
    this.#untold.delete(path);
    for (const tell of untold) tell();
  }

  /** A path that failed before its device answered: forgotten and closed. */
  drop(path: MediaPath<Track, Stream>): void {
    const deviceId = this.deviceOf(path);
    if (deviceId !== undefined) this.#byDevice.delete(deviceId);
    this.#untold.delete(path);
    path.close();
  }

  /** Every path to a device closes, and what they held is never told. */
  closeAll(): void {
    for (const path of this.#byDevice.values()) {
      this.#untold.delete(path);
      path.close();
    }
    this.#byDevice.clear();
  }

  /** The call ended: all of it goes, including what the callee's own path held. */
  clear(): void {
    this.closeAll();
    this.#untold.clear();
  }
}
