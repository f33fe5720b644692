// A call placed from Parley's UI in Chromium (fake camera and microphone) is answered by a Parley
// device in Node running the engine's CallAgent on werift — the agent the web app runs. Media is measured on both sides: Chromium's
// getStats() counts the audio the Node device generates and the video it echoes back (frames
// decoded), and the Node device counts the RTP of Chromium's audio and video.
import { RtpCounter, RtpSource, weriftLocalStream } from '@parley/call/werift';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callButtons,
  cameraSize,
  END_TEXT,
  measureInbound,
  MIN_AUDIO_BYTES_PER_S,
  MIN_VIDEO_FRAMES_PER_S,
  placeCall,
  remoteVideoSize,
  signedInDevice,
  waitConnected,
  waitForEndText,
  waitNoLivePeerConnection,
} from './support/call.ts';
import { useJourney } from './support/journey.ts';
import { NodeDevice } from './support/node-device.ts';
import { ALEX, DANA } from './support/users.ts';
import { describeDirection, echo, remoteTracks, waitEnded, waitPhase } from './support/werift-call.ts';

const MEASURE_MS = 2_000;
/** Chromium's fake microphone sends Opus at 50 packets/s. */
const MIN_AUDIO_PPS = 20;
/**
 * Its fake camera runs at ~20 frames/s, each frame at least one RTP packet; at the start of a call,
 * with the bandwidth estimate still low, a frame is often exactly one, and a loaded CI machine drops
 * capture frames (19.98 packets/s was measured once). The floor is the one the browser side uses for
 * decoded frames: it proves video flows without racing the capture clock.
 */
const MIN_VIDEO_PPS = MIN_VIDEO_FRAMES_PER_S;

describe('a werift device in Node answers a call placed from Chromium', () => {
  const journey = useJourney();
  let dana: NodeDevice | undefined;

  afterEach(() => {
    dana?.close();
    dana = undefined;
  });

  it('Chromium calls, Node answers: media both ways, measured on both sides; hang-up from the UI ends it in Node', async () => {
    dana = await NodeDevice.signIn('dana-node', journey.server.url, DANA);
    const alex = await signedInDevice(journey, 'alex', ALEX, DANA);

    const incoming = dana.nextIncoming();
    await placeCall(alex, 'video');
    const session = await incoming;
    expect(session.kind).toBe('video');
    expect(session.peerName).toBe(ALEX.name);
    // While it rings the camera runs at the start size: the first frames come sooner.
    await expect.poll(() => cameraSize(alex), { message: "Chromium's camera while ringing" }).toBe('640×480');

    // Dana's Node device answers with generated Opus-shaped audio and an echo of Alex's video.
    const media = weriftLocalStream('video');
    const audioSource = new RtpSource(media.audio);
    const remote = remoteTracks(session);
    expect(await session.accept(media.stream)).toBe(true);
    await Promise.all([waitPhase(session, 'connected'), waitConnected(alex)]);

    const [heardAudio, seenVideo] = await Promise.all([remote.audio, remote.video]);
    const stopEcho = echo(dana.peerConnection!, seenVideo, media.video!);
    audioSource.start();
    const audioCounter = new RtpCounter(heardAudio);
    const videoCounter = new RtpCounter(seenVideo);

    // Measure once the echoed video decodes in Chromium, so the window holds a running call.
    const size = await remoteVideoSize(alex);
    expect(size.width, 'Chromium: "Remote video" videoWidth').toBeGreaterThan(0);
    const sentBefore = audioSource.sent;
    const [inBrowser, nodeAudio, nodeVideo] = await Promise.all([measureInbound(alex, MEASURE_MS), audioCounter.measure(MEASURE_MS), videoCounter.measure(MEASURE_MS)]);
    const sent = audioSource.sent - sentBefore;
    console.log(
      `[werift↔chromium] chromium←node audio ${inBrowser.audioBytesPerS} B/s (${sent} packets sent), video ${inBrowser.videoFramesPerS} fps (echo); ` +
        `${describeDirection('node←chromium audio', { received: nodeAudio })}; ${describeDirection('node←chromium video', { received: nodeVideo })}`,
    );

    // Chromium receives the Node device's audio and decodes the video it sends back.
    expect(inBrowser.peerConnections).toBe(1);
    expect(inBrowser.audioBytesPerS, 'node→chromium audio bytes/s').toBeGreaterThanOrEqual(MIN_AUDIO_BYTES_PER_S);
    expect(inBrowser.videoFramesPerS, 'node→chromium video frames/s').toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES_PER_S);
    // The Node device receives Chromium's audio and video RTP.
    expect(nodeAudio.packetsPerSecond, 'chromium→node audio packets/s').toBeGreaterThanOrEqual(MIN_AUDIO_PPS);
    expect(nodeVideo.packetsPerSecond, 'chromium→node video packets/s').toBeGreaterThanOrEqual(MIN_VIDEO_PPS);
    // Media flows: the camera (this browser's only page holding it) is raised to the full size, in place.
    await expect.poll(() => cameraSize(alex), { timeout: 10_000 }).toBe('1280×720');

    // Alex hangs up in the UI: the Node device's call ends with the reason, by the remote side.
    const ended = waitEnded(session);
    await callButtons(alex).hangUp.click();
    expect(await ended).toEqual({ reason: 'user_hangup', by: 'remote' });
    await waitForEndText(alex, END_TEXT.hungUp);
    await waitNoLivePeerConnection(alex);
    stopEcho();
    audioSource.stop();
  });
});
