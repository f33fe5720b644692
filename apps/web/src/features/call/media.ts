import type { CallKind } from '@parley/protocol';
import { describeMediaError } from '../../lib/mediaErrors.ts';
import { deviceConstraint, type DeviceInfoLike } from './devices.ts';

export { describeMediaError };

/**
 * The browser's camera and microphone, as the call controller uses them. A port, so the
 * controller's unit tests (Node, no media devices) can hand in fakes.
 */
export interface MediaAccess {
  /** False where the browser offers no getUserMedia (plain http on another host than localhost). */
  readonly available: boolean;
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  enumerateDevices(): Promise<readonly DeviceInfoLike[]>;
  /** Calls `listener` when devices are plugged in or out; returns the unsubscribe. */
  onDeviceChange(listener: () => void): () => void;
  createStream(tracks: MediaStreamTrack[]): MediaStream;
  /** Camera and microphone may be used without asking: the person allowed both before (a ringing call never prompts). */
  mediaAllowed(): Promise<boolean>;
}

export function browserMediaAccess(): MediaAccess {
  const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
  return {
    available: typeof devices?.getUserMedia === 'function',
    getUserMedia: (constraints) => {
      if (!devices) return Promise.reject(new DOMException('getUserMedia is not available', 'NotSupportedError'));
      return devices.getUserMedia(constraints);
    },
    enumerateDevices: async () => (devices ? devices.enumerateDevices() : []),
    onDeviceChange: (listener) => listen(devices, 'devicechange', listener),
    createStream: (tracks) => new MediaStream(tracks),
    mediaAllowed: async () => {
      try {
        const states = await Promise.all(['camera', 'microphone'].map((name) => navigator.permissions.query({ name: name as PermissionName })));
        return states.every((status) => status.state === 'granted');
      } catch {
        // No Permissions API for them (older Firefox): devices have labels only once allowed.
        const infos = devices ? await devices.enumerateDevices() : [];
        return ['videoinput', 'audioinput'].every((kind) => infos.some((d) => d.kind === kind && d.label !== ''));
      }
    },
  };
}

/** Preferred devices; null is the system default. */
export interface DeviceChoice {
  microphoneId: string | null;
  cameraId: string | null;
}

/** The camera's size once a call's media flows, and for a camera turned on or switched mid-call. */
export const FULL_VIDEO: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 } };
/**
 * The camera's size while a call sets up: what a camera gives by default. Its first frames encode,
 * travel, decode and paint much sooner than 1280×720 ones on a busy device; LocalMedia raises the
 * track to FULL_VIDEO with applyConstraints (no renegotiation) once the first frames have arrived.
 */
export const START_VIDEO: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 480 } };

export function audioConstraints(choice: DeviceChoice): MediaTrackConstraints | true {
  return deviceConstraint(choice.microphoneId);
}

export function videoConstraints(choice: DeviceChoice, size: MediaTrackConstraints = FULL_VIDEO): MediaTrackConstraints | true {
  return deviceConstraint(choice.cameraId, size);
}

export type CallMedia =
  | { ok: true; stream: MediaStream }
  /**
   * Not all of it: `message` says what failed. `audioOnly` is set when a video call's camera
   * failed but the microphone works: the person may continue with audio only.
   */
  | { ok: false; message: string; audioOnly: MediaStream | null };

/**
 * The camera and microphone for a call of `kind`. When a video call cannot get both, the
 * microphone alone is tried, so the failure can name the device at fault and offer audio only.
 */
export async function acquireCallMedia(media: MediaAccess, kind: CallKind, choice: DeviceChoice): Promise<CallMedia> {
  if (!media.available) {
    return { ok: false, message: describeMediaError(new DOMException('', 'NotSupportedError'), kind === 'video' ? 'both' : 'microphone'), audioOnly: null };
  }
  const audio = audioConstraints(choice);
  const video = videoConstraints(choice, START_VIDEO);
  try {
    const stream = await media.getUserMedia(kind === 'video' ? { audio, video } : { audio });
    return { ok: true, stream };
  } catch (first) {
    if (kind === 'audio') return { ok: false, message: describeMediaError(first, 'microphone'), audioOnly: null };
    try {
      const stream = await media.getUserMedia({ audio });
      return { ok: false, message: describeMediaError(first, 'camera'), audioOnly: stream };
    } catch (second) {
      // The microphone fails too. Whether the camera alone would work tells whom to blame.
      const cameraWorks = await media.getUserMedia({ video }).then(
        (probe) => {
          stopStream(probe);
          return true;
        },
        () => false,
      );
      const both = !cameraWorks && errorName(first) === errorName(second);
      return { ok: false, message: describeMediaError(second, both ? 'both' : 'microphone'), audioOnly: null };
    }
  }
}

export type TrackResult = { ok: true; track: MediaStreamTrack } | { ok: false; message: string };

/** One new track: the camera turned on, or another microphone or camera picked mid-call. */
export async function acquireTrack(media: MediaAccess, kind: 'audio' | 'video', choice: DeviceChoice): Promise<TrackResult> {
  const device = kind === 'audio' ? 'microphone' : 'camera';
  if (!media.available) return { ok: false, message: describeMediaError(new DOMException('', 'NotSupportedError'), device) };
  try {
    const stream = await media.getUserMedia(kind === 'audio' ? { audio: audioConstraints(choice) } : { video: videoConstraints(choice) });
    const [track, ...rest] = stream.getTracks();
    for (const extra of rest) extra.stop();
    if (!track) return { ok: false, message: describeMediaError(new DOMException('', 'NotFoundError'), device) };
    return { ok: true, track };
  } catch (error) {
    return { ok: false, message: describeMediaError(error, device) };
  }
}

export function tracksOf(stream: MediaStream | null, kind: 'audio' | 'video'): MediaStreamTrack[] {
  return stream ? stream.getTracks().filter((t) => t.kind === kind) : [];
}

export function stopStream(stream: MediaStream | null): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/** The device a track is capturing, if the browser says. */
export function deviceIdOf(track: MediaStreamTrack | undefined): string | null {
  if (!track || typeof track.getSettings !== 'function') return null;
  return track.getSettings().deviceId ?? null;
}

/**
 * addEventListener with the matching remove, tolerant of targets that are not EventTargets
 * (the engine's fake peer connection and streams in unit tests): those simply never fire.
 */
export function listen(target: unknown, type: string, listener: () => void): () => void {
  const t = target as Partial<Pick<EventTarget, 'addEventListener' | 'removeEventListener'>> | null | undefined;
  if (!t || typeof t.addEventListener !== 'function' || typeof t.removeEventListener !== 'function') return () => {};
  t.addEventListener(type, listener);
  return () => t.removeEventListener?.(type, listener);
}

function errorName(error: unknown): string {
  return error instanceof Error || error instanceof DOMException ? error.name : '';
}
