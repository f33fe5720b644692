import { describe, expect, it } from 'vitest';
import { acquireCallMedia, acquireTrack, describeMediaError, type MediaAccess } from './media.ts';
import { fakeMediaAccess } from './testing/fakes.ts';

const choice = { microphoneId: null, cameraId: null };

describe('describeMediaError', () => {
  const err = (name: string) => new DOMException('', name);

  it('says what happened in plain words', () => {
    expect(describeMediaError(err('NotFoundError'), 'camera')).toBe('No camera found');
    expect(describeMediaError(err('NotAllowedError'), 'camera')).toBe('Camera permission was denied');
    expect(describeMediaError(err('NotAllowedError'), 'microphone')).toBe('Microphone permission was denied');
    expect(describeMediaError(err('NotReadableError'), 'camera')).toBe('The camera is in use by another app or could not be started');
    expect(describeMediaError(err('OverconstrainedError'), 'microphone')).toBe('The selected microphone is not available');
    expect(describeMediaError(err('NotFoundError'), 'both')).toBe('No camera or microphone found');
    expect(describeMediaError(new Error('boom'), 'camera')).toBe('The camera could not be started');
  });
});

describe('acquireCallMedia', () => {
  it('gets the camera and microphone for a video call', async () => {
    const media = fakeMediaAccess();
    const result = await acquireCallMedia(media, 'video', { microphoneId: 'mic-2', cameraId: null });
    expect(result.ok && result.stream.getTracks().map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    // The start size; the call raises it once media flows (localMedia.ts).
    expect(media.requests[0]).toMatchObject({ audio: { deviceId: { ideal: 'mic-2' } }, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
  });

  it('offers audio only when the camera fails and the microphone works', async () => {
    const media = fakeMediaAccess({ camera: 'NotAllowedError' });
    const result = await acquireCallMedia(media, 'video', choice);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toBe('Camera permission was denied');
    expect(result.audioOnly?.getTracks().map((t) => t.kind)).toEqual(['audio']);
  });

  it('blames the microphone when the camera alone works', async () => {
    const result = await acquireCallMedia(fakeMediaAccess({ microphone: 'NotFoundError' }), 'video', choice);
    expect(result).toEqual({ ok: false, message: 'No microphone found', audioOnly: null });
  });

  it('blames both when neither works', async () => {
    const result = await acquireCallMedia(fakeMediaAccess({ microphone: 'NotFoundError', camera: 'NotFoundError' }), 'video', choice);
    expect(result).toEqual({ ok: false, message: 'No camera or microphone found', audioOnly: null });
  });

  it('an audio call needs only the microphone', async () => {
    const media = fakeMediaAccess({ camera: 'NotFoundError' });
    const ok = await acquireCallMedia(media, 'audio', choice);
    expect(ok.ok && ok.stream.getTracks().map((t) => t.kind)).toEqual(['audio']);
    const failed = await acquireCallMedia(fakeMediaAccess({ microphone: 'NotReadableError' }), 'audio', choice);
    expect(failed).toEqual({ ok: false, message: 'The microphone is in use by another app or could not be started', audioOnly: null });
  });

  it('explains an insecure page', async () => {
    const media: MediaAccess = { ...fakeMediaAccess(), available: false };
    const result = await acquireCallMedia(media, 'audio', choice);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/secure https connection/);
  });
});

describe('acquireTrack', () => {
  it('gets one track of the chosen device', async () => {
    const media = fakeMediaAccess();
    const result = await acquireTrack(media, 'video', { microphoneId: null, cameraId: 'cam-2' });
    expect(result.ok && result.track.kind).toBe('video');
    expect(media.requests[0]).toEqual({ video: { width: { ideal: 1280 }, height: { ideal: 720 }, deviceId: { ideal: 'cam-2' } } });
  });

  it('says why it could not', async () => {
    expect(await acquireTrack(fakeMediaAccess({ camera: 'NotFoundError' }), 'video', choice)).toEqual({ ok: false, message: 'No camera found' });
  });
});
