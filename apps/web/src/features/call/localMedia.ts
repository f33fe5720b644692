import type { Clock, Logger } from '@parley/call';
import type { ActiveCall } from './callView.ts';
import { acquireTrack, deviceIdOf, FULL_VIDEO, listen, START_VIDEO, stopStream, tracksOf, videoConstraints, type DeviceChoice, type MediaAccess } from './media.ts';

/** From the first remote frames to raising the camera: the other side's first frames are usually a few tens of ms behind ours. */
export const FULL_VIDEO_AFTER_MS = 1_000;

export interface LocalMediaOptions {
  media: MediaAccess;
  /** The person's choice of microphone and camera (shared with the controller's pickers). */
  choice: DeviceChoice;
  log: Logger;
  /** The call on screen now. */
  active: () => ActiveCall | null;
  publish: () => void;
  refreshDevices: () => void;
  clock: Clock;
  /** Default FULL_VIDEO_AFTER_MS; with no remote video the raise comes 3× that after connecting. */
  fullVideoAfterMs?: number;
}

/**
 * This page's camera and microphone during a call: mute, camera off/on, switching devices, and a
 * device that goes away. The tracks go to the engine's call (addTrack/replaceTrack/removeTrack).
 */
export class LocalMedia {
  readonly #o: LocalMediaOptions;
  /** Camera and microphone switches, one at a time. */
  #chain: Promise<void> = Promise.resolve();
  /** Each call's scheduled raise to the full camera size. */
  readonly #timers = new WeakMap<ActiveCall, unknown>();

  constructor(options: LocalMediaOptions) {
    this.#o = options;
  }

  applyMute(record: ActiveCall): void {
    for (const track of tracksOf(record.localStream, 'audio')) track.enabled = !record.muted;
  }

  /**
   * A call's camera starts at START_VIDEO (media.ts) and goes to FULL_VIDEO once media flows:
   * FULL_VIDEO_AFTER_MS after this page shows the first remote frames of a connected call (or 3×
   * that after connecting, when no remote video comes). applyConstraints changes the capture in
   * place: no renegotiation, the encoder simply sends larger frames. Called on every call update.
   */
  raiseWhenFlowing(record: ActiveCall): void {
    if (record.fullSize === 'done' || record.fullSize === 'soon' || record.end || record.call.connectedAt === null) return;
    if (record.fullSize === 'fallback' && !record.remoteVideo) return;
    const clock = this.#o.clock;
    const after = this.#o.fullVideoAfterMs ?? FULL_VIDEO_AFTER_MS;
    // The first remote frames overtake a fallback: the sooner timer replaces it.
    const fallback = this.#timers.get(record);
    if (fallback !== undefined) clock.clearTimeout(fallback);
    record.fullSize = record.remoteVideo ? 'soon' : 'fallback';
    const timer = clock.setTimeout(() => void this.#raise(record), record.remoteVideo ? after : 3 * after);
    this.#timers.set(record, timer);
    record.cleanups.push(() => clock.clearTimeout(timer));
  }

  #raise(record: ActiveCall): Promise<void> {
    return this.#queue(async () => {
      if (record.fullSize === 'done') return;
      record.fullSize = 'done';
      this.#timers.delete(record);
      const track = tracksOf(record.localStream, 'video')[0];
      if (this.#live() !== record || !track || track.readyState === 'ended' || typeof track.applyConstraints !== 'function') return;
      try {
        await track.applyConstraints(FULL_VIDEO);
        const { width, height } = track.getSettings();
        this.#o.log.info(`Camera raised to ${width ?? '?'}×${height ?? '?'}`);
      } catch (error) {
        // The camera cannot do it: the call goes on at the start size.
        this.#o.log.warn('Raising the camera to the full size failed', error);
      }
    });
  }

  /**
   * A video call ringing here shows the camera it would answer with, as the incoming-call screens
   * of FaceTime and WhatsApp do: the person sees how they look before answering, and the Answer
   * click then waits for no camera start (the controller answers with this camera at once and the
   * microphone joins). The camera only, not the microphone; nothing of it is sent before the click.
   * Only where camera and microphone are allowed already (a ring never prompts, nor does the
   * answer); a camera that cannot start just means no preview. Stopped when the call stops ringing
   * here without an answer from this device.
   */
  async preview(record: ActiveCall): Promise<void> {
    if (record.call.kind !== 'video' || record.preview || !this.#ringing(record)) return;
    if (!(await this.#o.media.mediaAllowed().catch(() => false)) || !this.#ringing(record)) return;
    let stream: MediaStream;
    try {
      stream = await this.#o.media.getUserMedia({ video: videoConstraints(this.#o.choice, START_VIDEO) });
    } catch (error) {
      this.#o.log.info('No camera preview while it rings', error);
      return;
    }
    if (!this.#ringing(record) || record.preview) {
      stopStream(stream);
      return;
    }
    record.preview = stream;
    record.cleanups.push(() => this.stopPreview(record));
    this.#o.publish();
  }

  /** The preview ends (declined, answered elsewhere, turned off); the camera light goes out. */
  stopPreview(record: ActiveCall): void {
    if (!record.preview) return;
    stopStream(record.preview);
    record.preview = null;
    this.#o.publish();
  }

  /** The person picked another camera while it rings: the preview moves to it. */
  async movePreview(record: ActiveCall): Promise<void> {
    if (!record.preview) return;
    this.stopPreview(record);
    await this.preview(record);
  }

  /** Ringing here, not being answered yet, not ended. */
  #ringing(record: ActiveCall): boolean {
    return this.#o.active() === record && !record.end && !record.answering && record.call.phase === 'ringing';
  }

  watchStream(record: ActiveCall, stream: MediaStream): void {
    for (const track of stream.getTracks()) this.#watchTrack(record, track);
  }

  /**
   * Turns the camera off (the track is stopped: the camera light goes out) or on. On an audio call
   * turning it on makes it a video call: the engine adds the track and renegotiates.
   */
  toggleCamera(): Promise<void> {
    return this.#queue(async () => {
      const record = this.#live();
      const stream = record?.localStream;
      if (!record || !stream) return;
      const current = tracksOf(stream, 'video');
      record.notice = null;
      if (current.length > 0) {
        for (const track of current) this.#drop(record, stream, track);
        this.#o.log.info('Camera turned off');
        this.#o.publish();
        return;
      }
      record.cameraBusy = true;
      this.#o.publish();
      const result = await acquireTrack(this.#o.media, 'video', this.#o.choice);
      record.cameraBusy = false;
      if (!result.ok) {
        record.notice = result.message;
      } else if (this.#live() !== record) {
        result.track.stop();
      } else {
        stream.addTrack(result.track);
        this.#watchTrack(record, result.track);
        record.call.addTrack(result.track, stream);
        record.video = true;
        this.#o.log.info(record.call.kind === 'audio' ? 'Camera turned on: the call becomes a video call' : 'Camera turned on');
        this.#o.refreshDevices();
      }
      this.#o.publish();
    });
  }

  /**
   * Moves the running microphone or camera to the chosen device. The engine swaps the track in the
   * same sender (replaceTrack): no renegotiation, no gap beyond the device's own start-up.
   */
  switchDevice(kind: 'audio' | 'video'): Promise<void> {
    return this.#queue(async () => {
      const record = this.#live();
      const stream = record?.localStream;
      if (!record || !stream) return;
      const old = tracksOf(stream, kind)[0];
      const wanted = kind === 'audio' ? this.#o.choice.microphoneId : this.#o.choice.cameraId;
      // A camera that is off takes the choice the next time it is turned on.
      if (!old || wanted === null || deviceIdOf(old) === wanted) return;
      record.notice = null;
      if (kind === 'video') {
        // Phones cannot open a second camera while one runs: let go of the old one first.
        old.stop();
        record.cameraBusy = true;
      }
      this.#o.publish();
      const result = await acquireTrack(this.#o.media, kind, this.#o.choice);
      record.cameraBusy = false;
      if (!result.ok) {
        record.notice = result.message;
        if (kind === 'video' && this.#live() === record) this.#drop(record, stream, old);
      } else if (this.#live() !== record) {
        result.track.stop();
      } else {
        if (result.track.kind === 'audio') result.track.enabled = !record.muted;
        await record.call.replaceTrack(old, result.track, stream);
        stream.removeTrack(old);
        old.stop();
        stream.addTrack(result.track);
        this.#watchTrack(record, result.track);
        this.#o.log.info(`Switched the ${kind === 'audio' ? 'microphone' : 'camera'}`);
      }
      this.#o.publish();
    });
  }

  /** The call on screen while it has a session that has not ended. */
  #live(): ActiveCall | null {
    const record = this.#o.active();
    if (!record || record.end || record.call.phase === 'preparing' || record.call.phase === 'ended') return null;
    return record;
  }

  #watchTrack(record: ActiveCall, track: MediaStreamTrack): void {
    // `ended` fires only when the browser ends the track (device unplugged, permission revoked), not on stop().
    record.cleanups.push(listen(track, 'ended', () => this.#onTrackEnded(record, track)));
  }

  #onTrackEnded(record: ActiveCall, track: MediaStreamTrack): void {
    const stream = record.localStream;
    if (this.#live() !== record || !stream) return;
    this.#o.log.warn(`The local ${track.kind} track ended (device unplugged or access revoked)`);
    this.#drop(record, stream, track);
    const what = track.kind === 'audio' ? 'The microphone stopped working' : 'The camera stopped working';
    if (stream.getTracks().length === 0) {
      record.endDetail = what;
      record.call.hangup('media_failed');
      return;
    }
    record.notice = what;
    this.#o.publish();
  }

  #drop(record: ActiveCall, stream: MediaStream, track: MediaStreamTrack): void {
    record.call.removeTrack(track);
    stream.removeTrack(track);
    track.stop();
  }

  #queue(operation: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(operation, operation);
    this.#chain = run.catch((error: unknown) => this.#o.log.error('changing the camera or microphone failed', error));
    return this.#chain;
  }
}
