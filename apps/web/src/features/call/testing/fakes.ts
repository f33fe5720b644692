/*
 * Test doubles for the call feature's unit tests (Node, no browser): media tracks and streams,
 * a MediaAccess whose devices can be made to fail, and a socket the test plays the server on.
 * The peer connection comes from the engine's own fake (packages/call/src/testing).
 */
import type { MediaAccess } from '../media.ts';
import type { CallSocket } from '../callSocket.ts';

let nextId = 1;

export class FakeMediaTrack {
  readonly id = `track-${nextId++}`;
  enabled = true;
  muted = false;
  readyState: 'live' | 'ended' = 'live';
  readonly kind: 'audio' | 'video';
  readonly deviceId: string;
  constructor(kind: 'audio' | 'video', deviceId = `${kind}-default`) {
    this.kind = kind;
    this.deviceId = deviceId;
  }
  stop(): void {
    this.readyState = 'ended';
  }
  getSettings(): { deviceId: string } {
    return { deviceId: this.deviceId };
  }
}

export class FakeMediaStream {
  readonly id = `stream-${nextId++}`;
  #tracks: FakeMediaTrack[];
  constructor(tracks: FakeMediaTrack[] = []) {
    this.#tracks = [...tracks];
  }
  getTracks(): FakeMediaTrack[] {
    return [...this.#tracks];
  }
  addTrack(track: FakeMediaTrack): void {
    if (!this.#tracks.includes(track)) this.#tracks.push(track);
  }
  removeTrack(track: FakeMediaTrack): void {
    this.#tracks = this.#tracks.filter((t) => t !== track);
  }
}

export type FakeMediaAccess = MediaAccess & {
  /** Every getUserMedia constraints object, in order. */
  requests: MediaStreamConstraints[];
  /** Every track handed out, in order. */
  tracks: FakeMediaTrack[];
  fail: { camera?: string; microphone?: string };
};

const deviceOf = (c: boolean | MediaTrackConstraints | undefined, kind: string): string => {
  const ideal = typeof c === 'object' ? (c.deviceId as { ideal?: string } | undefined)?.ideal : undefined;
  return ideal ?? `${kind}-default`;
};

/** getUserMedia that fails per device with the DOMException name given (e.g. NotAllowedError). */
export function fakeMediaAccess(fail: { camera?: string; microphone?: string } = {}): FakeMediaAccess {
  const access: FakeMediaAccess = {
    available: true,
    requests: [],
    tracks: [],
    fail,
    async getUserMedia(constraints) {
      access.requests.push(constraints);
      if (constraints.audio && access.fail.microphone) throw new DOMException('', access.fail.microphone);
      if (constraints.video && access.fail.camera) throw new DOMException('', access.fail.camera);
      const tracks: FakeMediaTrack[] = [];
      if (constraints.audio) tracks.push(new FakeMediaTrack('audio', deviceOf(constraints.audio, 'audio')));
      if (constraints.video) tracks.push(new FakeMediaTrack('video', deviceOf(constraints.video, 'video')));
      access.tracks.push(...tracks);
      return new FakeMediaStream(tracks) as unknown as MediaStream;
    },
    async enumerateDevices() {
      return [
        { kind: 'audioinput', deviceId: 'audio-default', label: 'Built-in microphone' },
        { kind: 'audioinput', deviceId: 'mic-2', label: 'Headset' },
        { kind: 'videoinput', deviceId: 'video-default', label: 'Built-in camera' },
        { kind: 'videoinput', deviceId: 'cam-2', label: 'USB camera' },
      ];
    },
    onDeviceChange: () => () => {},
    createStream: (tracks) => new FakeMediaStream(tracks as unknown as FakeMediaTrack[]) as unknown as MediaStream,
  };
  return access;
}

export interface Emitted {
  event: string;
  payload: any;
  ack: (res: unknown) => void;
}

/** Enough of the app's socket for the CallController; the test plays the server. */
export class FakeCallSocket implements CallSocket {
  readonly emitted: Emitted[] = [];
  /** Plays the server: sees each emit as it happens (it stays in `emitted` too). */
  onEmit: ((e: Emitted) => void) | null = null;
  /** Whether the socket is connected now (tests flip it to play a server outage). */
  connected = true;
  readonly #handlers = new Map<string, ((payload: unknown) => void)[]>();

  on(event: string, listener: (payload: unknown) => void): void {
    this.#handlers.set(event, [...(this.#handlers.get(event) ?? []), listener]);
  }
  off(event: string, listener: (payload: unknown) => void): void {
    this.#handlers.set(event, (this.#handlers.get(event) ?? []).filter((l) => l !== listener));
  }
  emit(event: string, payload: unknown, ack: (res: unknown) => void): void {
    const e = { event, payload, ack };
    this.emitted.push(e);
    this.onEmit?.(e);
  }

  onConnect(listener: () => void): () => void {
    const wrapped = () => listener();
    this.on('connect' as never, wrapped);
    return () => this.off('connect' as never, wrapped);
  }

  /** The server sends an event (or 'connect' for a reconnect: that also sets `connected`). */
  fire(event: string, payload: unknown): void {
    if (event === 'connect') this.connected = true;
    for (const listener of this.#handlers.get(event) ?? []) listener(payload);
  }
  listenerCount(): number {
    return [...this.#handlers.values()].reduce((n, l) => n + l.length, 0);
  }
  /** Removes and returns the first emit of `event`. */
  take(event: string): Emitted {
    const i = this.emitted.findIndex((e) => e.event === event);
    if (i < 0) throw new Error(`nothing emitted as ${event}; have ${this.events().join(', ') || 'nothing'}`);
    return this.emitted.splice(i, 1)[0]!;
  }
  events(): string[] {
    return this.emitted.map((e) => e.event);
  }
  /** Answers every pending emit with `{ ok: true }` and forgets it. */
  ackAll(): void {
    for (const e of this.emitted.splice(0)) e.ack({ ok: true });
  }
}
