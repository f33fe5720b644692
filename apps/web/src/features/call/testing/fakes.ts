/*
 * Test doubles for the call feature's unit tests (Node, no browser): media tracks and streams,
 * and a MediaAccess whose devices can be made to fail or wait. The server is the real one
 * (apps/server/src/testing/harness.ts); the peer connection is the engine's fake (@parley/call/testing).
 */
import type { MediaAccess } from '../media.ts';

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
  /** Every applyConstraints call, in order (the fake camera takes the ideal size asked for). */
  readonly applied: MediaTrackConstraints[] = [];
  width: number | undefined;
  height: number | undefined;
  async applyConstraints(constraints: MediaTrackConstraints): Promise<void> {
    this.applied.push(constraints);
    const ideal = (c: MediaTrackConstraints['width']) => (typeof c === 'object' ? c.ideal : c);
    this.width = ideal(constraints.width);
    this.height = ideal(constraints.height);
  }
  getSettings(): { deviceId: string; width?: number; height?: number } {
    return { deviceId: this.deviceId, ...(this.width !== undefined ? { width: this.width } : {}), ...(this.height !== undefined ? { height: this.height } : {}) };
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
  /** While set, getUserMedia waits for this promise (a person slow to grant the permission). */
  gate: Promise<void> | null;
  /** What mediaAllowed() says: the person allowed camera and microphone before. Default false (never asked). */
  allowed: boolean;
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
    gate: null,
    allowed: false,
    mediaAllowed: async () => access.allowed,
    async getUserMedia(constraints) {
      access.requests.push(constraints);
      if (access.gate) await access.gate;
      if (constraints.audio && access.fail.microphone) throw new DOMException('', access.fail.microphone);
      if (constraints.video && access.fail.camera) throw new DOMException('', access.fail.camera);
      const tracks: FakeMediaTrack[] = [];
      if (constraints.audio) tracks.push(new FakeMediaTrack('audio', deviceOf(constraints.audio, 'audio')));
      if (constraints.video) {
        const camera = new FakeMediaTrack('video', deviceOf(constraints.video, 'video'));
        const size = typeof constraints.video === 'object' ? constraints.video : {};
        camera.width = typeof size.width === 'object' ? size.width.ideal : 640;
        camera.height = typeof size.height === 'object' ? size.height.ideal : 480;
        tracks.push(camera);
      }
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
