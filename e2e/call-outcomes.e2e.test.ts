// Journey e: every way a call can end other than a plain hang-up, seen through the UI of each
// device: declined, cancelled, busy, unavailable, no answer, glare, answered elsewhere, a device
// that reloads mid-call, and a device without camera or microphone.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { launchBrowser } from './support/browser.ts';
import {
  END_TEXT,
  HISTORY,
  NO_MEDIA_DEVICE_ARGS,
  answerCall,
  callButtons,
  callDevice,
  callStatus,
  delaySignalling,
  clickAtOnce,
  countHistory,
  expectMediaBothWays,
  hangUpAndWait,
  incomingCall,
  livePeerConnections,
  placeCall,
  rtpBytes,
  signedInDevice,
  sentEvents,
  sleep,
  waitConnected,
  waitForEndText,
  waitForHistory,
  waitNoLivePeerConnection,
} from './support/call.ts';
import { useJourney, type Journey } from './support/journey.ts';
import { mainView, openConversation, signIn } from './support/ui.ts';
import { ALEX, DANA, NOOR } from './support/users.ts';
import type { Page } from 'playwright-core';

/** Short, so a device that vanished ends its call quickly (the server default is 10 s). */
const GRACE_S = 2;
/** How long after the grace period the caller may take to show the end. */
const END_SLACK_S = 5;
/** The downlink delay that makes both glare invites reach the server. */
const SLOW_DOWNLINK_MS = 1_000;

const journey = useJourney({ env: { CALL_RECONNECT_GRACE_S: String(GRACE_S) } });

// A test that fails mid-call leaves its call to the server's grace timer once its contexts close;
// the next test waits that out so it does not find its people still "in a call".
let previousFailed = false;
beforeEach(async () => {
  if (previousFailed) await sleep((GRACE_S + 1) * 1000);
  previousFailed = false;
});
afterEach((ctx) => {
  previousFailed = ctx.task.result?.state === 'fail';
});

const adminAndDoctor = async (j: Journey = journey) => {
  const [admin, doctor] = await Promise.all([signedInDevice(j, 'admin', ALEX, DANA), signedInDevice(j, 'doctor', DANA, ALEX)]);
  return { admin, doctor };
};

/** Admin calls doctor (video), doctor answers, both connected. */
async function connectedVideoCall(admin: Page, doctor: Page): Promise<void> {
  await placeCall(admin, 'video');
  await answerCall(doctor);
  await Promise.all([waitConnected(admin), waitConnected(doctor)]);
}

describe('call outcomes', () => {
  test('unavailable: calling someone signed in nowhere ends at once', async () => {
    const admin = await signedInDevice(journey, 'admin', ALEX, NOOR);
    const started = Date.now();
    await placeCall(admin, 'video');
    await waitForEndText(admin, END_TEXT.unavailable, 3_000);
    console.log(`[outcome] unavailable shown ${Date.now() - started} ms after "Video call"`);
    await waitForHistory(admin, HISTORY.outcome('video', 'unavailable'));
    expect(await livePeerConnections(admin)).toHaveLength(0);
  });

  test('declined: the caller sees "Declined" and both histories record it', async () => {
    const { admin, doctor } = await adminAndDoctor();
    await placeCall(admin, 'video');
    const incoming = incomingCall(doctor);
    await incoming.decline.click();
    await incoming.dialog.waitFor({ state: 'hidden' });
    await waitForEndText(admin, END_TEXT.declined);
    await Promise.all([
      waitForHistory(admin, HISTORY.outcome('video', 'declined')),
      waitForHistory(doctor, HISTORY.declinedByMe('video')),
    ]);
    await waitNoLivePeerConnection(admin);
  });

  test('cancelled: the caller hangs up while it rings; the callee’s dialog closes and shows a missed call', async () => {
    const { admin, doctor } = await adminAndDoctor();
    await placeCall(admin, 'video');
    const incoming = incomingCall(doctor);
    await incoming.dialog.waitFor();
    await callStatus(admin, /Ringing/).waitFor();
    await callButtons(admin).hangUp.click();
    await incoming.dialog.waitFor({ state: 'hidden' });
    await waitForEndText(doctor, END_TEXT.missed);
    await Promise.all([
      waitForHistory(doctor, HISTORY.missed('video')),
      waitForHistory(admin, HISTORY.outcome('video', 'cancelled')),
    ]);
  });

  describe('with a 3 s ring timeout', () => {
    const RING_S = 3;
    const shortRing = useJourney({ env: { CALL_RING_TIMEOUT_S: String(RING_S) } });

    test('no answer: the caller sees "No answer", the callee’s dialog closes and the history says missed', async () => {
      const { admin, doctor } = await adminAndDoctor(shortRing);
      await placeCall(admin, 'video');
      const incoming = incomingCall(doctor);
      await incoming.dialog.waitFor();
      const ringing = Date.now();
      await waitForEndText(admin, END_TEXT.noAnswer, (RING_S + END_SLACK_S) * 1000);
      console.log(`[outcome] no answer shown ${Date.now() - ringing} ms after the callee's dialog appeared (ring timeout ${RING_S} s)`);
      await incoming.dialog.waitFor({ state: 'hidden', timeout: 3_000 });
      await Promise.all([
        waitForHistory(doctor, HISTORY.missed('video')),
        waitForHistory(admin, HISTORY.outcome('video', 'no answer')),
      ]);
    });
  });

  test('busy: calling someone already in a call says "Busy" and the ongoing call keeps its media', async () => {
    const [{ admin, doctor }, nurse] = await Promise.all([adminAndDoctor(), signedInDevice(journey, 'nurse', NOOR, DANA)]);
    await connectedVideoCall(admin, doctor);

    await placeCall(nurse, 'video');
    await waitForEndText(nurse, END_TEXT.busy);
    expect(await incomingCall(doctor).dialog.count(), 'a second incoming dialog on the busy doctor').toBe(0);
    await waitForHistory(nurse, HISTORY.outcome('video', 'busy'));

    await expectMediaBothWays('busy: the ongoing call', { name: 'admin', page: admin }, { name: 'doctor', page: doctor }, 'video');
    await hangUpAndWait(admin, doctor);
  });

  /** One call and only one: a connected RTCPeerConnection per side, media both ways, no dialog left ringing. */
  async function expectOneCall(label: string, admin: Page, doctor: Page): Promise<void> {
    await expectMediaBothWays(label, { name: 'admin', page: admin }, { name: 'doctor', page: doctor }, 'video');
    // 2 s have passed since both connected: a second call would be ringing by now.
    for (const [who, page] of [['admin', admin], ['doctor', doctor]] as const) {
      const live = await livePeerConnections(page);
      expect(live, `${who}: live RTCPeerConnections`).toHaveLength(1);
      expect(live[0]!.connectionState, `${who}: connection state`).toBe('connected');
      expect(await incomingCall(page).dialog.count(), `${who}: an incoming dialog left open`).toBe(0);
    }
  }

  test('glare: both press "Video call" at once and get exactly one call', async () => {
    const { admin, doctor } = await adminAndDoctor();
    const before = await Promise.all([countHistory(admin, HISTORY.completed('video')), countHistory(doctor, HISTORY.completed('video'))]);

    const took = await clickAtOnce([callButtons(admin).videoCall, callButtons(doctor).videoCall]);
    expect(took, 'both "Video call" buttons took the click (admin, doctor)').toEqual([true, true]);
    await Promise.all([waitConnected(admin), waitConnected(doctor)]);
    // Either resolution is right: the server merges two invites, or the side still getting its
    // camera takes the other's call before sending its own.
    const invites = { admin: sentEvents(admin, 'call.invite').length, doctor: sentEvents(doctor, 'call.invite').length };
    console.log(`[outcome] glare: call.invite sent by admin ${invites.admin}, doctor ${invites.doctor} (${invites.admin + invites.doctor === 2 ? 'merged by the server' : 'taken on the device'})`);
    expect(invites.admin + invites.doctor, 'call.invite frames sent in all').toBeGreaterThanOrEqual(1);
    expect(Math.max(invites.admin, invites.doctor), 'call.invite frames sent by one side').toBeLessThanOrEqual(1);
    await expectOneCall('glare', admin, doctor);

    await hangUpAndWait(admin, doctor);
    await Promise.all([
      waitForHistory(admin, HISTORY.completed('video')),
      waitForHistory(doctor, HISTORY.completed('video')),
    ]);
    // Exactly one call was recorded: wait for it, then make sure no second entry follows.
    await sleep(1_000);
    expect(await countHistory(admin, HISTORY.completed('video')), 'admin: completed video calls in the history').toBe(before[0] + 1);
    expect(await countHistory(doctor, HISTORY.completed('video')), 'doctor: completed video calls in the history').toBe(before[1] + 1);
  });

  test('glare over a slow downlink: both invites reach the server, which merges them into one call', async () => {
    // Every frame from the server reaches each page 1 s late (order kept), so neither hears of the
    // other's call before sending its own invite: the server must merge them.
    const [admin, doctor] = await Promise.all([callDevice(journey, 'admin'), callDevice(journey, 'doctor')]);
    await Promise.all([delaySignalling(admin, 'all', SLOW_DOWNLINK_MS), delaySignalling(doctor, 'all', SLOW_DOWNLINK_MS)]);
    await Promise.all([signIn(admin, journey.server.url, ALEX), signIn(doctor, journey.server.url, DANA)]);
    await Promise.all([openConversation(admin, 'Dana', DANA.name), openConversation(doctor, 'Alex', ALEX.name)]);

    const took = await clickAtOnce([callButtons(admin).videoCall, callButtons(doctor).videoCall]);
    expect(took, 'both "Video call" buttons took the click (admin, doctor)').toEqual([true, true]);
    await Promise.all([waitConnected(admin, 20_000), waitConnected(doctor, 20_000)]);
    expect(sentEvents(admin, 'call.invite'), 'call.invite frames the admin sent').toHaveLength(1);
    expect(sentEvents(doctor, 'call.invite'), 'call.invite frames the doctor sent').toHaveLength(1);
    await expectOneCall('glare, slow downlink', admin, doctor);

    await hangUpAndWait(admin, doctor);
  });

  test('answered elsewhere: both of the doctor’s devices ring, one answers, the other stops ringing', async () => {
    const [admin, doctor, doctor2] = await Promise.all([
      signedInDevice(journey, 'admin', ALEX, DANA),
      signedInDevice(journey, 'doctor', DANA),
      signedInDevice(journey, 'doctor-2', DANA),
    ]);
    await placeCall(admin, 'video');
    await Promise.all([incomingCall(doctor).dialog.waitFor(), incomingCall(doctor2).dialog.waitFor()]);

    // Both ringing devices connect with the caller while they ring (decision 020): one connection
    // per device on the caller, ICE and DTLS up, and not one byte of media either way before the click.
    const connected = async (page: Page) => (await livePeerConnections(page)).filter((c) => c.connectionState === 'connected').length;
    await expect.poll(() => connected(admin), { timeout: 10_000, message: 'the caller connected with both ringing devices' }).toBe(2);
    await expect.poll(() => Promise.all([connected(doctor), connected(doctor2)]), { timeout: 10_000 }).toEqual([1, 1]);
    await sleep(1_000);
    // Each ringing device shows its own camera (decision 021); nothing of it is sent.
    for (const page of [doctor, doctor2]) {
      const preview = incomingCall(page).dialog.getByLabel('Your camera');
      await expect.poll(() => preview.evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 5_000, message: 'the camera preview shows frames' }).toBeGreaterThan(0);
    }
    for (const [name, page] of [['admin', admin], ['doctor', doctor], ['doctor-2', doctor2]] as const) {
      const bytes = await rtpBytes(page);
      console.log(`[outcome] while ringing, ${name}: ${bytes.connections} connection(s), ${bytes.sent} B of media sent, ${bytes.received} B received`);
      expect(bytes, `${name} sent or received media before anyone answered`).toMatchObject({ sent: 0, received: 0 });
    }

    await incomingCall(doctor2).answer.click();
    await incomingCall(doctor).dialog.waitFor({ state: 'hidden', timeout: 5_000 });
    await Promise.all([waitConnected(admin), waitConnected(doctor2)]);
    await expectMediaBothWays('answered elsewhere', { name: 'admin', page: admin }, { name: 'doctor-2', page: doctor2 }, 'video');
    expect(await livePeerConnections(doctor), 'the device that did not answer holds no connection').toHaveLength(0);
    expect(await livePeerConnections(admin), 'the caller let go of its connection to the device that did not answer').toHaveLength(1);
    expect(await incomingCall(doctor).dialog.count(), 'the device that did not answer still shows the dialog').toBe(0);

    await hangUpAndWait(admin, doctor2);
  });

  test('reload mid-call: the caller sees the connection lost within the grace period, then they call again', async () => {
    const { admin, doctor } = await adminAndDoctor();
    await connectedVideoCall(admin, doctor);
    await expectMediaBothWays('before the reload', { name: 'admin', page: admin }, { name: 'doctor', page: doctor }, 'video');

    const reloaded = Date.now();
    await doctor.reload();
    await waitForEndText(admin, END_TEXT.peerDisconnected, (GRACE_S + END_SLACK_S) * 1000);
    const took = Date.now() - reloaded;
    console.log(`[outcome] "connection was lost" shown ${took} ms after the callee reloaded (grace ${GRACE_S} s)`);
    await waitNoLivePeerConnection(admin);
    await waitForHistory(admin, /Video call · \d+:\d{2} · connection lost/);

    // The reloaded page is a new device of the same session; it can place a call again.
    await mainView(doctor).search.waitFor();
    await openConversation(doctor, 'Alex', ALEX.name);
    await placeCall(doctor, 'video');
    await answerCall(admin);
    await Promise.all([waitConnected(admin), waitConnected(doctor)]);
    await expectMediaBothWays('after the reload', { name: 'admin', page: admin }, { name: 'doctor', page: doctor }, 'video');
    await hangUpAndWait(doctor, admin);
  });

  test('media failed: a callee without camera or microphone answers and both sides say why the call failed', async () => {
    // A browser with no fake devices and no auto-accepted prompt: getUserMedia finds nothing to open.
    const noMedia = await launchBrowser({ args: NO_MEDIA_DEVICE_ARGS });
    try {
      const [admin, doctor] = await Promise.all([
        signedInDevice(journey, 'admin', ALEX, DANA),
        signedInDevice(journey, 'doctor-no-media', DANA, ALEX, noMedia, { permissions: [] }),
      ]);
      await placeCall(admin, 'video');
      await answerCall(doctor);
      await Promise.all([waitForEndText(admin, END_TEXT.mediaFailed), waitForEndText(doctor, END_TEXT.mediaFailed)]);
      await Promise.all([waitNoLivePeerConnection(admin), waitNoLivePeerConnection(doctor)]);
    } finally {
      await noMedia.close();
    }
  });
});
