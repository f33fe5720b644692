// Timing and evidence for Parley calls driven through the UI in the lab: when the person answered,
// when the caller decoded its first remote frame, what the call's status line said over time, and
// media rates measured from outside the app (getStats of the pages' RTCPeerConnections, through the
// harness's probe in support/call.ts) over windows with wall-clock bounds.
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { incomingCall, MEASURE_WINDOW_MS, MIN_AUDIO_BYTES_PER_S, MIN_VIDEO_FRAMES_PER_S } from '../support/call.ts';

type ProbeWindow = Window & {
  __pcs?: RTCPeerConnection[];
  __labFirstFrameAt?: number;
  __labAnsweredAt?: number;
  __labStatus?: { at: number; status: string; dialogs: string }[];
};

// ---- answer → first frame ----

/**
 * Starts watching the caller's page for the first decoded remote video frame (getStats
 * `framesDecoded` > 0 on any live connection, polled every 20 ms in the page), then waits for the
 * callee's incoming-call dialog and presses "Answer", noting in the callee's page the instant the
 * click reached the button. `firstFrameMs()` then tells answer → first frame on the caller's page
 * (both Date.now() of one machine's clock), or undefined while no frame was decoded.
 */
export async function answerTimed(callee: Page, caller: Page): Promise<{ answeredAt: () => Promise<number | undefined>; firstFrameMs: () => Promise<number | undefined> }> {
  await caller.evaluate(() => {
    const w = window as ProbeWindow;
    w.__labFirstFrameAt = undefined;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        try {
          for (const pc of (w.__pcs ?? []).filter((p) => p.connectionState !== 'closed')) {
            let frames = 0;
            (await pc.getStats()).forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
              if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
            });
            if (frames > 0 && w.__labFirstFrameAt === undefined) {
              w.__labFirstFrameAt = Date.now();
              clearInterval(timer);
            }
          }
        } finally {
          busy = false;
        }
      })();
    }, 20);
    // Nothing decoded in a minute: this call has no video; stop polling.
    setTimeout(() => clearInterval(timer), 60_000);
  });
  const incoming = incomingCall(callee);
  await incoming.dialog.waitFor();
  await incoming.answer.evaluate((button) => {
    button.addEventListener('click', () => ((window as ProbeWindow).__labAnsweredAt = Date.now()), { capture: true, once: true });
  });
  await incoming.answer.click();
  const answeredAt = () => callee.evaluate(() => (window as ProbeWindow).__labAnsweredAt).catch(() => undefined);
  return {
    answeredAt,
    async firstFrameMs() {
      const [answered, frame] = await Promise.all([answeredAt(), caller.evaluate(() => (window as ProbeWindow).__labFirstFrameAt).catch(() => undefined)]);
      return answered === undefined || frame === undefined ? undefined : frame - answered;
    },
  };
}

// ---- the status line over time ----

export interface SeenText {
  at: number;
  /** The texts of the page's `role="status"` regions (the call's status line, the chat's connection banner), joined by " | ". */
  status: string;
  /** The accessible names of open dialogs ("Incoming video from Alex Admin"), joined by " | ". */
  dialogs: string;
}

/**
 * Records, in the page, every change of what its `role="status"` regions say and of which dialogs
 * are open, polled every 50 ms, each with Date.now(): a transient "Reconnecting…" or a ringing
 * dialog that a single look could miss is kept. Survives nothing but the page (not a reload).
 */
export async function recordStatus(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as ProbeWindow;
    if (w.__labStatus) return;
    const log: { at: number; status: string; dialogs: string }[] = [];
    w.__labStatus = log;
    let last = '';
    const texts = (selector: string, read: (e: Element) => string) =>
      [...document.querySelectorAll(selector)]
        .map((e) => read(e).replace(/\s+/g, ' ').trim())
        .filter(Boolean)
        .join(' | ');
    setInterval(() => {
      const status = texts('[role="status"]', (e) => e.textContent ?? '');
      const dialogs = texts('[role="dialog"], [role="alertdialog"], dialog[open]', (e) => e.getAttribute('aria-label') ?? e.textContent ?? '');
      const key = `${status}\n${dialogs}`;
      if (key !== last) {
        last = key;
        log.push({ at: Date.now(), status, dialogs });
      }
    }, 50);
  });
}

/** What `recordStatus` saw so far, oldest first. */
export async function statusLog(page: Page): Promise<SeenText[]> {
  return page.evaluate(() => (window as ProbeWindow).__labStatus ?? []).catch(() => []);
}

/** Polls the recorded status texts until one matches `text`; the first match, or undefined after `timeoutMs`. */
export async function waitStatus(page: Page, text: RegExp, timeoutMs: number): Promise<SeenText | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await statusLog(page)).find((s) => text.test(s.status));
    if (hit || Date.now() > deadline) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves with Date.now() in the page once its live connections decoded `minFrames` more video
 * frames than when called (polled every 50 ms), or undefined after `timeoutMs`.
 */
export async function framesAdvance(page: Page, minFrames: number, timeoutMs: number): Promise<number | undefined> {
  return page
    .evaluate(
      async ([min, ms]) => {
        const frames = async () => {
          let n = 0;
          for (const pc of ((window as ProbeWindow).__pcs ?? []).filter((p) => p.connectionState !== 'closed')) {
            (await pc.getStats()).forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
              if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded ?? 0;
            });
          }
          return n;
        };
        const base = await frames();
        const deadline = Date.now() + ms;
        while (Date.now() < deadline) {
          if ((await frames()) >= base + min) return Date.now();
          await new Promise((r) => setTimeout(r, 50));
        }
        return undefined;
      },
      [minFrames, timeoutMs] as const,
    )
    .catch(() => undefined);
}

// ---- media rates with wall-clock bounds ----

export interface MediaWindow {
  audioBytesPerS: number;
  videoFramesPerS: number;
  peerConnections: number;
  /** Date.now() in the page when the window opened and closed. */
  from: number;
  to: number;
}

/** Inbound audio bytes/s and decoded video frames/s of `page`'s live connections over `ms`. */
export async function measureWindow(page: Page, ms: number): Promise<MediaWindow> {
  return page.evaluate(async (windowMs) => {
    const pcs = ((window as ProbeWindow).__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    const sample = async () => {
      let audioBytes = 0;
      let videoFrames = 0;
      for (const pc of pcs) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s: { type: string; kind?: string; bytesReceived?: number; framesDecoded?: number }) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.kind === 'audio') audioBytes += s.bytesReceived ?? 0;
          if (s.kind === 'video') videoFrames += s.framesDecoded ?? 0;
        });
      }
      return { audioBytes, videoFrames, at: Date.now() };
    };
    const a = await sample();
    await new Promise((r) => setTimeout(r, windowMs));
    const b = await sample();
    const s = (b.at - a.at) / 1000;
    return {
      audioBytesPerS: Math.round((b.audioBytes - a.audioBytes) / s),
      videoFramesPerS: Math.round(((b.videoFrames - a.videoFrames) / s) * 10) / 10,
      peerConnections: pcs.length,
      from: a.at,
      to: b.at,
    };
  }, ms);
}

const flowing = (w: MediaWindow) => w.audioBytesPerS >= MIN_AUDIO_BYTES_PER_S && w.videoFramesPerS >= MIN_VIDEO_FRAMES_PER_S;
export const fmtWindow = (w: MediaWindow) => `${w.audioBytesPerS} B/s, ${w.videoFramesPerS} fps`;

export interface Flow {
  /** What `a` received from `b`, and `b` from `a`, over the same window. */
  a: MediaWindow;
  b: MediaWindow;
  /** Windows measured before this one passed (each failed the thresholds). */
  earlier: { a: MediaWindow; b: MediaWindow }[];
}

/**
 * Media flows both ways at a sustained rate: audio ≥ 1 KB/s and video ≥ 5 decoded frames/s over one
 * 2 s window in each direction at once. On two busy cores a single window may dip (other suites'
 * browsers), so up to `attempts` consecutive windows are measured, each judged whole, until one
 * passes; the thresholds never change. Fails with every window measured.
 */
export async function expectFlowBothWays(label: string, a: { name: string; page: Page }, b: { name: string; page: Page }, attempts = 3): Promise<Flow> {
  const earlier: { a: MediaWindow; b: MediaWindow }[] = [];
  for (let i = 0; i < attempts; i++) {
    const [wa, wb] = await Promise.all([measureWindow(a.page, MEASURE_WINDOW_MS), measureWindow(b.page, MEASURE_WINDOW_MS)]);
    if (flowing(wa) && flowing(wb)) {
      console.log(`[media] ${label}: ${a.name}←${b.name} ${fmtWindow(wa)}; ${b.name}←${a.name} ${fmtWindow(wb)}${earlier.length ? ` (after ${earlier.length} short window(s))` : ''}`);
      return { a: wa, b: wb, earlier };
    }
    earlier.push({ a: wa, b: wb });
  }
  const all = earlier.map((w, i) => `#${i + 1}: ${a.name}←${b.name} ${fmtWindow(w.a)}; ${b.name}←${a.name} ${fmtWindow(w.b)}`).join('\n  ');
  expect.fail(`${label}: media did not flow both ways at ≥ ${MIN_AUDIO_BYTES_PER_S} B/s audio and ≥ ${MIN_VIDEO_FRAMES_PER_S} fps video in any of ${attempts} windows of ${MEASURE_WINDOW_MS} ms:\n  ${all}`);
}

/**
 * Polls 2 s windows until media flows both ways again, for at most `timeoutMs`: after an outage.
 * Resolves with the passing window and when it opened, or undefined when none passed in time.
 */
export async function waitFlowBothWays(a: Page, b: Page, timeoutMs: number): Promise<{ a: MediaWindow; b: MediaWindow; tried: number } | undefined> {
  const deadline = Date.now() + timeoutMs;
  let tried = 0;
  while (Date.now() < deadline) {
    tried++;
    const [wa, wb] = await Promise.all([measureWindow(a, MEASURE_WINDOW_MS), measureWindow(b, MEASURE_WINDOW_MS)]);
    if (flowing(wa) && flowing(wb)) return { a: wa, b: wb, tried };
  }
  return undefined;
}

// ---- socket.io frames both ways ----

/**
 * socket.io frames a page sends and receives on every WebSocket it opens from now on (a reconnect
 * opens a new one), with Date.now(): `42…["event",…]` events and `43<id>[…]` acknowledgements.
 * Register before the sockets of interest open.
 */
export function recordFrames(page: Page): { frames: { dir: 'sent' | 'received'; at: number; payload: string }[] } {
  const rec = { frames: [] as { dir: 'sent' | 'received'; at: number; payload: string }[] };
  page.on('websocket', (ws) => {
    if (!/socket\.io/.test(ws.url())) return;
    ws.on('framesent', (f) => {
      if (typeof f.payload === 'string') rec.frames.push({ dir: 'sent', at: Date.now(), payload: f.payload });
    });
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string') rec.frames.push({ dir: 'received', at: Date.now(), payload: f.payload });
    });
  });
  return rec;
}

/** The acknowledgement of the event `name` sent in `frames` (matched by ack id), or undefined while none came. */
export function ackOf(frames: { dir: 'sent' | 'received'; payload: string }[], name: string): { sent: string; ack?: string } | undefined {
  const sent = frames.find((f) => f.dir === 'sent' && new RegExp(`^42(?:/[^,]*,)?\\d+\\["${name.replace('.', '\\.')}"`).test(f.payload));
  if (!sent) return undefined;
  const id = /^42(?:\/[^,]*,)?(\d+)\[/.exec(sent.payload)?.[1];
  const ack = frames.find((f) => f.dir === 'received' && new RegExp(`^43(?:/[^,]*,)?${id}\\[`).test(f.payload));
  return { sent: sent.payload, ...(ack ? { ack: ack.payload } : {}) };
}

// ---- the results table ----

export interface ResultRow {
  scenario: string;
  result: string;
  pair: string;
  answerToFirstFrameMs?: number;
}

/** The lab run's results as a plain-text table. */
export function resultsTable(rows: readonly ResultRow[], wallMs: number): string {
  const sorted = [...rows].sort((x, y) => x.scenario.localeCompare(y.scenario, 'en', { numeric: true }));
  const cols = ['scenario', 'result', 'selected pair (caller side)', 'answer → first frame'];
  const cells = sorted.map((r) => [r.scenario, r.result, r.pair, r.answerToFirstFrameMs === undefined ? '-' : `${r.answerToFirstFrameMs} ms`]);
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return ['', '[network lab] Parley calls through the UI', line(cols), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line), `wall time ${(wallMs / 1000).toFixed(1)} s`, ''].join('\n');
}

/** `call.stats→not_found, chat.sync→ok, call.resume→ok`: the events a page sent in `frames`, in order, each with how it was acknowledged. */
export function eventsWithAcks(frames: { dir: 'sent' | 'received'; payload: string }[]): string {
  const acks = new Map<string, string>();
  for (const f of frames) {
    const m = f.dir === 'received' ? /^43(?:\/[^,]*,)?(\d+)\[(.*)$/s.exec(f.payload) : null;
    if (!m) continue;
    acks.set(m[1]!, /"ok":true/.test(m[2]!) ? 'ok' : (/"code":"([^"]+)"/.exec(m[2]!)?.[1] ?? 'error'));
  }
  return frames
    .filter((f) => f.dir === 'sent')
    .map((f) => /^42(?:\/[^,]*,)?(\d*)\["([^"]+)"/.exec(f.payload))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[2]}→${m[1] ? (acks.get(m[1]) ?? 'no ack') : 'no ack asked'}`)
    .join(', ');
}

/** The first `n` characters of `text`, with "…" when cut. */
export const short = (text: string, n = 48) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
