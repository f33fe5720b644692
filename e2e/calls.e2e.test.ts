// Journey d: a video call and an audio call between two people, through the UI only, with media
// measured in both directions from outside the app, and the calls written into the history.
import { describe, expect, test } from 'vitest';
import { screenshot } from './support/browser.ts';
import {
  HISTORY,
  answerCall,
  callButtons,
  callStatus,
  callView,
  cameraSize,
  expectMediaBothWays,
  hangUpAndWait,
  incomingCall,
  placeCall,
  waitConnected,
  waitForHistory,
  signedInDevice,
} from './support/call.ts';
import { useJourney } from './support/journey.ts';
import { ALEX, DANA } from './support/users.ts';

const journey = useJourney();

/** Admin and doctor signed in, each with their conversation open. */
async function adminAndDoctor() {
  const [admin, doctor] = await Promise.all([signedInDevice(journey, 'admin', ALEX, DANA), signedInDevice(journey, 'doctor', DANA, ALEX)]);
  return { admin, doctor };
}

describe('calls', () => {
  test('a video call connects with media both ways, mutes, and the caller hangs up', async () => {
    const { admin, doctor } = await adminAndDoctor();

    await placeCall(admin, 'video');
    const incoming = incomingCall(doctor);
    await incoming.dialog.waitFor();
    // The callee can pick devices before answering.
    await incoming.microphone.waitFor();
    await incoming.camera.waitFor();
    await incoming.decline.waitFor();
    // The caller hears that the other side rings.
    await callStatus(admin, /Ringing/).waitFor();
    await screenshot(doctor, 'incoming-call');
    // While it rings the caller's camera runs at the start size: the first frames come sooner.
    await expect.poll(() => cameraSize(admin), { message: "the caller's camera while ringing" }).toBe('640×480');

    await incoming.answer.click();
    await incoming.dialog.waitFor({ state: 'hidden' });
    await Promise.all([waitConnected(admin), waitConnected(doctor)]);
    await expectMediaBothWays('video call', { name: 'admin', page: admin }, { name: 'doctor', page: doctor }, 'video');
    // The status line names the phase and runs a timer.
    await callStatus(admin, /\bConnected\b/).waitFor();
    await callStatus(admin, /\d+:\d{2}/).waitFor();
    expect(await callView(admin).localVideo.count(), 'a "Local video" element').toBeGreaterThan(0);
    await screenshot(admin, 'call');

    const adminButtons = callButtons(admin);
    await adminButtons.mute.click();
    await adminButtons.unmute.waitFor();
    await adminButtons.unmute.click();
    await adminButtons.mute.waitFor();
    // Camera off and on, three times: the camera re-uses its m-section, the SDP does not grow.
    for (let i = 0; i < 3; i++) {
      await adminButtons.cameraOff.click();
      await adminButtons.cameraOn.waitFor();
      await adminButtons.cameraOn.click();
      await adminButtons.cameraOff.waitFor();
    }
    const transceivers = await admin.evaluate(() =>
      ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed').map((pc) => pc.getTransceivers().length),
    );
    expect(transceivers, 'transceivers on the live connection after three camera off/on').toEqual([2]);
    await expectMediaBothWays('video call, camera back on', { name: 'admin', page: admin }, { name: 'doctor', page: doctor }, 'video');

    // Call details: the path, protocol and figures of the live connection.
    await admin.getByRole('button', { name: 'Call details' }).click();
    const details = admin.getByRole('group', { name: 'Connection details' });
    await expect.poll(() => details.innerText(), { timeout: 5_000 }).toMatch(/Direct[\s\S]*UDP[\s\S]*\d+ ms/);

    await hangUpAndWait(admin, doctor);
    await Promise.all([waitForHistory(admin, HISTORY.completed('video')), waitForHistory(doctor, HISTORY.completed('video'))]);
    // The history entry keeps how the call went (reported by the devices with call.stats).
    await Promise.all([waitForHistory(admin, /Direct · UDP · \d+ ms · [\d.]+ % loss/), waitForHistory(doctor, /Direct · UDP · \d+ ms · [\d.]+ % loss/)]);
  });

  test('an audio call carries audio both ways and no video, and the callee hangs up', async () => {
    const { admin, doctor } = await adminAndDoctor();

    await placeCall(admin, 'audio');
    await answerCall(doctor);
    await Promise.all([waitConnected(admin), waitConnected(doctor)]);
    await expectMediaBothWays('audio call', { name: 'admin', page: admin }, { name: 'doctor', page: doctor }, 'audio');

    await hangUpAndWait(doctor, admin);
    await Promise.all([waitForHistory(admin, HISTORY.completed('audio')), waitForHistory(doctor, HISTORY.completed('audio'))]);
  });
});
