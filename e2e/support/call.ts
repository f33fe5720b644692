// Calls through Parley's UI, and proof from outside the app that media really flows.
//
// The proof never asks the app: an init script wraps the page's RTCPeerConnection so every
// connection the page creates is also kept in `window.__pcs`, and the test reads getStats() from
// those. "connected" and a sized <video> are not proof on their own (WEBRTC-TESTING.md: a call was
// seen to connect and then freeze), so calls are judged by a sustained rate in each direction.
import { expect } from 'vitest';
import type { BrowserContextOptions, Locator, Page } from 'playwright-core';
import { CHROMIUM_ARGS, consoleLines, type TestBrowser } from './browser.ts';
import type { Journey } from './journey.ts';
import { mainView, openConversation, signIn } from './ui.ts';
import type { TestUser } from './users.ts';

export type CallKind = 'audio' | 'video';

/** Answer → both sides connected, on loopback (seen: well under a second; slack for two busy cores). */
export const CONNECT_TIMEOUT_MS = 15_000;
/** How long an end text is looked for; the UI shows it about 4 s, so it must be caught while shown. */
export const END_TEXT_TIMEOUT_MS = 10_000;
/** The window media rates are measured over. */
export const MEASURE_WINDOW_MS = 2_000;
/** Sustained rates that prove media flows (WEBRTC-TESTING.md): the fake mic sends ~2.7 KB/s, the fake camera ~20 fps. */
export const MIN_AUDIO_BYTES_PER_S = 1_000;
export const MIN_VIDEO_FRAMES_PER_S = 5;

/** Chromium without the fake camera/microphone and without the auto-accepting permission prompt. */
export const NO_MEDIA_DEVICE_ARGS: readonly string[] = CHROMIUM_ARGS.filter(
  (a) => a !== '--use-fake-device-for-media-stream' && a !== '--use-fake-ui-for-media-stream',
);

// Runs in the page before any of its scripts. A Proxy keeps `instanceof`, statics such as
// generateCertificate and the prototype exactly as they were; the app cannot tell.
export const PEER_CONNECTION_PROBE = `(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || window.__pcs) return;
  Object.defineProperty(window, '__pcs', { value: [], enumerable: false });
  const Probe = new Proxy(Native, {
    construct(target, args, newTarget) {
      const pc = Reflect.construct(target, args, newTarget);
      window.__pcs.push(pc);
      return pc;
    },
  });
  window.RTCPeerConnection = Probe;
  if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = Probe;
})();`;

/**
 * A device for call journeys: `journey.device` plus the RTCPeerConnection probe, installed before
 * the first navigation so it also covers every later reload.
 */
export async function callDevice(journey: Journey, label: string, options?: BrowserContextOptions, from?: TestBrowser): Promise<Page> {
  const page = await journey.device(label, options, from);
  await page.context().addInitScript(PEER_CONNECTION_PROBE);
  recordSentEvents(page);
  return page;
}

/** socket.io events each page sent, in order, with the time they left (Date.now()). */
const sent = new WeakMap<Page, { name: string; at: number }[]>();

function recordSentEvents(page: Page): void {
  const events: { name: string; at: number }[] = [];
  sent.set(page, events);
  page.on('websocket', (ws) =>
    ws.on('framesent', (frame) => {
      const name = socketIoEventName(frame.payload);
      if (name !== undefined) events.push({ name, at: Date.now() });
    }),
  );
}

/** The socket.io events `page` sent so far (only for pages made with callDevice). */
export function sentEvents(page: Page, name?: string): readonly { name: string; at: number }[] {
  const all = sent.get(page) ?? [];
  return name === undefined ? all : all.filter((e) => e.name === name);
}

/** A call device signed in as `user`, with the conversation with `peer` open when one is given. */
export async function signedInDevice(journey: Journey, label: string, user: TestUser, peer?: TestUser, from?: TestBrowser, options?: BrowserContextOptions): Promise<Page> {
  const page = await callDevice(journey, label, options, from);
  await signIn(page, journey.server.url, user);
  if (peer) await openConversation(page, peer.name.split(' ')[0]!, peer.name);
  return page;
}

// ---- the UI contract ----

export const callButtons = (page: Page) => ({
  audioCall: page.getByRole('button', { name: 'Audio call', exact: true }),
  videoCall: page.getByRole('button', { name: 'Video call', exact: true }),
  hangUp: page.getByRole('button', { name: 'Hang up', exact: true }),
  mute: page.getByRole('button', { name: 'Mute', exact: true }),
  unmute: page.getByRole('button', { name: 'Unmute', exact: true }),
  cameraOff: page.getByRole('button', { name: 'Turn camera off', exact: true }),
  cameraOn: page.getByRole('button', { name: 'Turn camera on', exact: true }),
});

export const callView = (page: Page) => ({
  remoteVideo: page.getByLabel('Remote video', { exact: true }),
  localVideo: page.getByLabel('Local video', { exact: true }),
});

/**
 * The call's status line once it shows `text` (the phase "Ringing", "ICE: connected", a timer…).
 * Other live regions of the app (the chat's connection banner) are role "status" too, hence the text.
 */
export const callStatus = (page: Page, text: RegExp): Locator => page.getByRole('status').filter({ hasText: text }).first();

export const incomingCall = (page: Page) => {
  const dialog = page.getByRole('dialog', { name: /Incoming/ });
  return {
    dialog,
    answer: dialog.getByRole('button', { name: 'Answer', exact: true }),
    decline: dialog.getByRole('button', { name: 'Decline', exact: true }),
    microphone: dialog.getByLabel('Microphone', { exact: true }),
    camera: dialog.getByLabel('Camera', { exact: true }),
  };
};

/** End texts (call view / status), from the UI contract. Case-sensitive, so the history's lower-case wording never matches. */
export const END_TEXT = {
  declined: /Declined/,
  busy: /Busy/,
  noAnswer: /No answer/,
  unavailable: /Unavailable/,
  missed: /Missed call/,
  mediaFailed: /Call failed: camera or microphone unavailable/,
  peerDisconnected: /connection was lost/,
  hungUp: /^Call ended$/,
} as const;

const cap = (kind: CallKind) => (kind === 'video' ? 'Video' : 'Audio');

/** History entries in the message log, from the viewer's side (packages/protocol/src/call-history.ts). */
export const HISTORY = {
  completed: (kind: CallKind) => new RegExp(`${cap(kind)} call · \\d+:\\d{2}`),
  missed: (kind: CallKind) => new RegExp(`Missed ${kind} call`),
  declinedByMe: (kind: CallKind) => new RegExp(`Declined ${kind} call`),
  /** The caller's side of an unanswered call: "Video call · no answer", "… · declined", "… · busy". */
  outcome: (kind: CallKind, why: string) => new RegExp(`${cap(kind)} call · ${why}`),
} as const;

// ---- steps ----

/** Presses "Audio call" or "Video call" in the open conversation. */
export async function placeCall(page: Page, kind: CallKind): Promise<void> {
  const b = callButtons(page);
  await (kind === 'video' ? b.videoCall : b.audioCall).click();
}

/** Waits for the incoming-call dialog and presses "Answer". */
export async function answerCall(page: Page): Promise<void> {
  const incoming = incomingCall(page);
  await incoming.dialog.waitFor();
  await incoming.answer.click();
}

/** Waits until the status line reads ICE connected and Connection connected. */
export async function waitConnected(page: Page, timeout = CONNECT_TIMEOUT_MS): Promise<void> {
  await page
    .getByRole('status')
    .filter({ hasText: /ICE: (connected|completed)/ })
    .filter({ hasText: /Connection: connected/ })
    .first()
    .waitFor({ timeout });
}

/** `page` presses "Hang up"; both pages show "Call ended" and drop their connection. */
export async function hangUpAndWait(page: Page, other: Page): Promise<void> {
  await callButtons(page).hangUp.click();
  await Promise.all([waitForEndText(page, END_TEXT.hungUp), waitForEndText(other, END_TEXT.hungUp)]);
  await Promise.all([waitNoLivePeerConnection(page), waitNoLivePeerConnection(other)]);
}

/** Waits until an end text shows anywhere on the page (the call view or its status line). */
export async function waitForEndText(page: Page, text: RegExp, timeout = END_TEXT_TIMEOUT_MS): Promise<void> {
  await page.getByText(text).first().waitFor({ timeout });
}

/** Waits until the message log holds an entry matching `entry` (the conversation must be open). */
export async function waitForHistory(page: Page, entry: RegExp, timeout = END_TEXT_TIMEOUT_MS): Promise<void> {
  await mainView(page).log.getByText(entry).first().waitFor({ timeout });
}

/** How many entries of the open conversation's log match `entry`. */
export async function countHistory(page: Page, entry: RegExp): Promise<number> {
  return mainView(page).log.getByText(entry).count();
}

// ---- measuring media from outside the app ----

export interface PeerConnectionInfo {
  connectionState: string;
  iceConnectionState: string;
}

/** The page's RTCPeerConnections that are not closed (taken from the probe). */
export async function livePeerConnections(page: Page): Promise<PeerConnectionInfo[]> {
  return page.evaluate(() => {
    const pcs = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    return pcs.map((pc) => ({ connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState }));
  });
}

/** RTP payload bytes sent and received so far over `page`'s live connections (getStats outbound-rtp / inbound-rtp). */
export async function rtpBytes(page: Page): Promise<{ sent: number; received: number; connections: number }> {
  return page.evaluate(async () => {
    const pcs = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    let sent = 0;
    let received = 0;
    for (const pc of pcs) {
      (await pc.getStats()).forEach((s: { type: string; bytesSent?: number; bytesReceived?: number }) => {
        if (s.type === 'outbound-rtp') sent += s.bytesSent ?? 0;
        if (s.type === 'inbound-rtp') received += s.bytesReceived ?? 0;
      });
    }
    return { sent, received, connections: pcs.length };
  });
}

export interface InboundRates {
  /** Live (not closed) RTCPeerConnections measured. */
  peerConnections: number;
  /** inbound-rtp audio bytesReceived per second over the window. */
  audioBytesPerS: number;
  /** inbound-rtp video framesDecoded per second over the window. */
  videoFramesPerS: number;
  windowMs: number;
}

/** What `page` received over `windowMs`: sums of getStats() inbound-rtp over its live connections. */
export async function measureInbound(page: Page, windowMs = MEASURE_WINDOW_MS): Promise<InboundRates> {
  return page.evaluate(async (ms) => {
    const pcs = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    const sample = async () => {
      let audioBytes = 0;
      let videoFrames = 0;
      for (const pc of pcs) {
        if (pc.connectionState === 'closed') continue;
        const report = await pc.getStats();
        report.forEach((s: { type: string; kind?: string; bytesReceived?: number; framesDecoded?: number }) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.kind === 'audio') audioBytes += s.bytesReceived ?? 0;
          if (s.kind === 'video') videoFrames += s.framesDecoded ?? 0;
        });
      }
      return { audioBytes, videoFrames, at: performance.now() };
    };
    const a = await sample();
    await new Promise((r) => setTimeout(r, ms));
    const b = await sample();
    const seconds = (b.at - a.at) / 1000;
    return {
      peerConnections: pcs.length,
      audioBytesPerS: Math.round((b.audioBytes - a.audioBytes) / seconds),
      videoFramesPerS: Math.round(((b.videoFrames - a.videoFrames) / seconds) * 10) / 10,
      windowMs: Math.round(b.at - a.at),
    };
  }, windowMs);
}

/**
 * How many remote ICE candidates of each type (host, srflx, prflx, relay) the page's live
 * connections know. Candidates that came through signalling are host/srflx/relay; a connection that
 * lost them still connects on loopback, but only learns the peer as `prflx` from its checks.
 */
export async function remoteCandidateTypes(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const pcs = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    const counts: Record<string, number> = {};
    for (const pc of pcs) {
      (await pc.getStats()).forEach((s: { type: string; candidateType?: string }) => {
        if (s.type === 'remote-candidate') counts[s.candidateType ?? '?'] = (counts[s.candidateType ?? '?'] ?? 0) + 1;
      });
    }
    return counts;
  });
}

/**
 * The page's own camera as it captures now: "width×height" of the "Local video" element's track.
 * A call's camera starts at 640×480 and is raised to 1280×720 once media flows; two pages of one
 * browser share Chromium's fake camera, and a camera that another page holds cannot be raised.
 */
export function cameraSize(page: Page): Promise<string> {
  return callView(page).localVideo.evaluate((v: HTMLVideoElement) => {
    const s = (v.srcObject as MediaStream | null)?.getVideoTracks()[0]?.getSettings();
    return `${s?.width}×${s?.height}`;
  });
}

/** The decoded size of the "Remote video" element, polled until it has one or `timeout` passes. */
export async function remoteVideoSize(page: Page, timeout = 10_000): Promise<{ width: number; height: number }> {
  const video: Locator = callView(page).remoteVideo;
  await video.waitFor({ state: 'attached', timeout });
  const deadline = Date.now() + timeout;
  for (;;) {
    const size = await video.evaluate((v: HTMLVideoElement) => ({ width: v.videoWidth, height: v.videoHeight }));
    if (size.width > 0 || Date.now() > deadline) return size;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface MediaReport {
  /** What each side received: `a` is what page A received from B, and the other way round. */
  a: InboundRates;
  b: InboundRates;
}

/**
 * Proves media flows both ways between two pages in one call: audio ≥ 1 KB/s each way, and for
 * video ≥ 5 decoded frames/s each way and a remote <video> with a size; for audio calls, no video.
 * Logs the measured rates (the lead reports them).
 */
export async function expectMediaBothWays(
  label: string,
  a: { name: string; page: Page },
  b: { name: string; page: Page },
  kind: CallKind,
): Promise<MediaReport> {
  if (kind === 'video') {
    // Measure once frames are arriving, so the window holds a running call and not its first second.
    const [sizeA, sizeB] = await Promise.all([remoteVideoSize(a.page), remoteVideoSize(b.page)]);
    expect(sizeA.width, `${a.name}: "Remote video" videoWidth`).toBeGreaterThan(0);
    expect(sizeB.width, `${b.name}: "Remote video" videoWidth`).toBeGreaterThan(0);
  }
  const [ra, rb] = await Promise.all([measureInbound(a.page), measureInbound(b.page)]);
  const line = (to: string, from: string, r: InboundRates) =>
    `${to}←${from} audio ${r.audioBytesPerS} B/s, video ${r.videoFramesPerS} fps (${r.peerConnections} pc, ${r.windowMs} ms)`;
  console.log(`[media] ${label}: ${line(a.name, b.name, ra)}; ${line(b.name, a.name, rb)}`);

  for (const [to, from, r] of [[a.name, b.name, ra], [b.name, a.name, rb]] as const) {
    expect(r.peerConnections, `${to}: live RTCPeerConnections`).toBeGreaterThan(0);
    expect(r.audioBytesPerS, `${from}→${to} audio bytes/s`).toBeGreaterThanOrEqual(MIN_AUDIO_BYTES_PER_S);
    if (kind === 'video') expect(r.videoFramesPerS, `${from}→${to} video frames/s`).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES_PER_S);
    else expect(r.videoFramesPerS, `${from}→${to} video frames/s in an audio call`).toBe(0);
  }
  return { a: ra, b: rb };
}

/** Waits until the page holds no live RTCPeerConnection (the call's media is torn down). */
export async function waitNoLivePeerConnection(page: Page, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const live = await livePeerConnections(page);
    if (live.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`the page still holds ${live.length} RTCPeerConnection(s) ${timeout} ms after the call ended: ${JSON.stringify(live)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Console lines the engine wrote through the UI ("[Call] …"), or all lines matching `pattern`. */
export function callLogLines(page: Page, pattern: RegExp = /\[Call\]/): string[] {
  return consoleLines(page).filter((l) => pattern.test(l));
}

/** Resolves after `ms`; for the few places a journey must let time pass (a ring timeout). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Clicks several buttons, each on its own page, as close to the same instant as the browser allows:
 * actionability is checked first (a trial click), then each page gets one raw mouse click, all
 * sent together. A locator click alone waits for stability per page and can drift by tens of ms.
 * Resolves, per target, whether its button really took the click: a button the app disabled in the
 * meantime (say, because the other side's call arrived first) fires no click event.
 */
export async function clickAtOnce(targets: readonly Locator[]): Promise<boolean[]> {
  await Promise.all(targets.map((t) => t.click({ trial: true })));
  const boxes = await Promise.all(targets.map((t) => t.boundingBox()));
  // A listener of the test's own on each button, to see the click arrive (not an app hook).
  await Promise.all(
    targets.map((t) =>
      t.evaluate((el) => {
        const mark = el as HTMLElement & { __e2eClicked?: boolean };
        mark.__e2eClicked = false;
        el.addEventListener('click', () => (mark.__e2eClicked = true), { once: true, capture: true });
      }),
    ),
  );
  await Promise.all(
    targets.map((t, i) => {
      const box = boxes[i];
      if (!box) throw new Error(`${t} has no bounding box`);
      return t.page().mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    }),
  );
  return Promise.all(targets.map((t) => t.evaluate((el) => (el as HTMLElement & { __e2eClicked?: boolean }).__e2eClicked === true)));
}

// ---- holding back signalling on its way to a page ----

export interface SignalDelay {
  /** Frames held back so far, by event name ("(engine.io)" for pings and other non-event frames). */
  held: Record<string, number>;
  /** `call.ice` frames that went through to the page while at least one held frame was waiting. */
  iceWhileHeld: number;
  /** `call.ice` frames delivered after a held frame was released. */
  iceAfterRelease: number;
}

/** The event name of a socket.io EVENT frame (`42["call.offer",{…}]`, `4212["call.invite",…]` with an ack id, any namespace). */
export function socketIoEventName(frame: string | Buffer): string | undefined {
  if (typeof frame !== 'string') return undefined;
  return /^42(?:\/[^,]*,)?\d*\["([^"]+)"/.exec(frame)?.[1];
}

/**
 * Routes the page's socket.io WebSocket through the test: frames of `events` from the server are
 * delivered `delayMs` late, everything else (and everything the page sends) passes unchanged and at
 * once. `'all'` delays every frame from the server alike, order kept: a slow downlink.
 * Call before the page opens its socket (before signing in).
 */
export async function delaySignalling(page: Page, events: readonly string[] | 'all', delayMs: number): Promise<SignalDelay> {
  const report: SignalDelay = { held: {}, iceWhileHeld: 0, iceAfterRelease: 0 };
  let waiting = 0;
  let released = 0;
  await page.routeWebSocket(/socket\.io/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((frame) => server.send(frame));
    server.onMessage((frame) => {
      const name = socketIoEventName(frame);
      if (events === 'all' || (name !== undefined && events.includes(name))) {
        const key = name ?? '(engine.io)';
        report.held[key] = (report.held[key] ?? 0) + 1;
        waiting++;
        setTimeout(() => {
          waiting--;
          released++;
          try {
            ws.send(frame);
          } catch {
            // The page went away while the frame was held; nothing to deliver to.
          }
        }, delayMs);
        return;
      }
      if (name === 'call.ice' && waiting > 0) report.iceWhileHeld++;
      else if (name === 'call.ice' && released > 0) report.iceAfterRelease++;
      ws.send(frame);
    });
  });
  return report;
}
