// Parley's own calls across NATs, through the real UI: admin signs in from a browser in lanA, the
// doctor from lanB, both reaching the server in pub through their NAT routers; admin presses
// "Video call", the doctor answers. The server hands out STUN and TURN from the lab's coturn like a
// real deployment (TURN_MODE=external); the network decides which path ICE takes.
//
// Two labs, one per NAT kind, each shared by its scenarios:
//   cone:      1 direct (srflx) · 5 a LAN's link cut for 10 s mid-call · 6 the Parley server restarted mid-call
//   symmetric: 3 TURN/UDP · 4 UDP blocked → TURN/TCP · 4b UDP blocked → TURNS (TLS 5349) · 2 no TURN → fails, with the TURN message
// Scenarios that need the server to hand out other ICE servers restart it on the same port and
// database (the browsers stay signed in), as an administrator changing the configuration would.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { captureFailure, type TestBrowser } from '../support/browser.ts';
import {
  countHistory,
  hangUpAndWait,
  HISTORY,
  incomingCall,
  MIN_AUDIO_BYTES_PER_S,
  MIN_VIDEO_FRAMES_PER_S,
  placeCall,
  remoteVideoSize,
  sentEvents,
  signedInDevice,
  waitConnected,
} from '../support/call.ts';
import { webDist } from '../support/paths.ts';
import { ALEX, DANA } from '../support/users.ts';
import { createLab, LAB_CHROMIUM_ARGS, labJourney, labUnavailableReason, type Lab, type LabJourney, type LabServer, type LabTurn, type Lan, type NatKind } from './lab.ts';
import { appSelectedPair, describePair, type SelectedPair } from './raw-call.ts';
import {
  ackOf,
  answerTimed,
  expectFlowBothWays,
  fmtWindow,
  framesAdvance,
  measureWindow,
  recordFrames,
  recordStatus,
  resultsTable,
  eventsWithAcks,
  short,
  statusLog,
  waitFlowBothWays,
  waitStatus,
  type ResultRow,
  type SeenText,
} from './ui-call.ts';

/** Through TURN seen in ~160 ms on the raw lab; the UI adds ringing and answering. */
const CONNECT_TIMEOUT_MS = 20_000;
/** The engine ends a call that never connected 18 s after the answer; the person must read why within 20 s. */
const FAILED_CALL_NOTICE_MS = 20_000;
/** What the person reads when no relay could carry the call (the web UI's wording, apps/web endReasons.ts). */
const TURN_MESSAGE = /Can[’']t reach the relay \(TURN\) server/;
// Chromium notices a dead path only after ~5.5 s without consent responses (ICE "disconnected");
// a 5 s cut heals by itself before that (seen: no restart, media back ~2 s after). 10 s makes the
// engine's own recovery run: "Reconnecting…", an ICE restart on fresh credentials, media back.
const LINK_CUT_MS = 10_000;
/** After the link is back: the engine restarts ICE after 2 s "disconnected" and gives up after 30 s. */
const RECOVERY_TIMEOUT_MS = 35_000;
/** After the restarted server answers: socket.io retries within ~5 s (backoff 1 s → 5 s), then both devices resume. */
const RESUME_TIMEOUT_MS = 30_000;
/** A restarted server answering /healthz: ~2 s when idle, seen 15 s on two cores busy with other suites' browsers. */
const RESTART_READY_TIMEOUT_MS = 60_000;

/**
 * Whether the web bundle the server serves asks the server for ICE servers. Until it does, a call
 * between two LANs has host candidates only and cannot connect, whatever the network: these
 * scenarios would test a missing feature, not the network. (globalSetup has rebuilt dist by now.)
 */
function bundleAsksForIceServers(): boolean {
  try {
    const html = readFileSync(path.join(webDist, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script[^>]+src="\/?([^"]+\.js)"/g)].map((m) => m[1]!);
    return scripts.some((s) => readFileSync(path.join(webDist, s), 'utf8').includes('/api/rtc-config'));
  } catch {
    return false;
  }
}

const unavailable = labUnavailableReason() ?? (bundleAsksForIceServers() ? undefined : 'the web app does not fetch /api/rtc-config yet (apps/web/src/features/call/rtcConfig.ts hands out no ICE servers)');
if (unavailable) {
  console.warn(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      `!!! PARLEY CALLS ACROSS NATs SKIPPED: ${unavailable}.`,
      '!!! Calls through the UI between two networks (cone NAT direct, symmetric NAT without TURN,',
      '!!! TURN over UDP, TCP and TLS, a link cut mid-call, a server restart mid-call) were NOT tested.',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  );
}

interface Stage {
  lab: Lab;
  turn: LabTurn;
  /** The server now running (a restart replaces it: same port, same database). */
  server: LabServer;
  /** The environment it runs with. */
  env: Record<string, string>;
  browsers: Record<Lan, TestBrowser>;
  journey: LabJourney;
}

/**
 * A lab of `nat` NATs with coturn (TURN on 3478 UDP/TCP and TLS on 5349), the server handing out
 * STUN + TURN/UDP + TURN/TCP, and a browser per LAN that trusts coturn's self-signed TLS key.
 */
async function openStage(nat: NatKind): Promise<Stage> {
  const lab = await createLab({ nat });
  try {
    const turn = await lab.startTurn({ tls: true });
    const env = turn.serverEnv([turn.urls.udp, turn.urls.tcp]);
    const server = await lab.startServer({ env });
    const args = [...LAB_CHROMIUM_ARGS, ...turn.browserArgs];
    const [lanA, lanB] = await Promise.all([
      lab.launchBrowser('lanA', { origin: server.origin, args }),
      lab.launchBrowser('lanB', { origin: server.origin, args }),
    ]);
    return { lab, turn, server, env, browsers: { lanA, lanB }, journey: labJourney(server, { lanA, lanB }) };
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

/** Restarts the stage's server on the same port and database with another environment (between tests). */
async function reconfigure(stage: Stage, env: Record<string, string>): Promise<void> {
  stage.server = await stage.lab.restartServer(stage.server, { env, readyTimeoutMs: RESTART_READY_TIMEOUT_MS });
  stage.env = env;
}

/** Admin in lanA and the doctor in lanB, signed in, each with the other's conversation open, their status lines recorded. */
async function signInBoth(stage: Stage): Promise<{ admin: Page; doctor: Page }> {
  const { journey, browsers } = stage;
  const [admin, doctor] = await Promise.all([
    signedInDevice(journey, 'admin-lanA', ALEX, DANA, browsers.lanA),
    signedInDevice(journey, 'doctor-lanB', DANA, ALEX, browsers.lanB),
  ]);
  await Promise.all([recordStatus(admin), recordStatus(doctor)]);
  return { admin, doctor };
}

interface Connected {
  admin: Page;
  doctor: Page;
  pair: SelectedPair | undefined;
  /** The doctor pressing "Answer" → the admin's page decoding the first remote video frame. */
  firstFrameMs: number | undefined;
}

/** Admin (lanA) video-calls the doctor (lanB) through the UI; resolves once media flows both ways at a sustained rate. */
async function videoCallAcross(stage: Stage, label: string): Promise<Connected> {
  const { admin, doctor } = await signInBoth(stage);
  await placeCall(admin, 'video');
  const timing = await answerTimed(doctor, admin);
  await Promise.all([waitConnected(admin, CONNECT_TIMEOUT_MS), waitConnected(doctor, CONNECT_TIMEOUT_MS)]);
  const [sizeA, sizeB] = await Promise.all([remoteVideoSize(admin), remoteVideoSize(doctor)]);
  expect(sizeA.width, 'admin: "Remote video" videoWidth').toBeGreaterThan(0);
  expect(sizeB.width, 'doctor: "Remote video" videoWidth').toBeGreaterThan(0);
  await expectFlowBothWays(label, { name: 'admin', page: admin }, { name: 'doctor', page: doctor });
  const pair = await appSelectedPair(admin);
  const firstFrameMs = await timing.firstFrameMs();
  console.log(`[network lab] ${label}: selected pair (admin side) ${describePair(pair)}; answer → first frame ${firstFrameMs ?? '?'} ms`);
  return { admin, doctor, pair, firstFrameMs };
}

/** How many RTCPeerConnections the page ever created (the probe keeps closed ones too). */
const peerConnectionsEver = (page: Page) => page.evaluate(() => ((window as unknown as { __pcs?: unknown[] }).__pcs ?? []).length);

/** Status texts as a short timeline relative to `t0`: `+0.0s "…"`. */
const timeline = (log: readonly SeenText[], t0: number) => log.map((s) => `+${((s.at - t0) / 1000).toFixed(1)}s "${s.status}"${s.dialogs ? ` [dialog: ${s.dialogs}]` : ''}`).join('\n    ');

/** Polls until the open conversation's log holds more entries matching `entry` than `before`. */
async function waitHistoryGrows(page: Page, entry: RegExp, before: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await countHistory(page, entry);
    if (n > before) return n;
    if (Date.now() > deadline) throw new Error(`no new history entry matching ${entry} within ${timeoutMs} ms (still ${n})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(unavailable !== undefined)('Parley calls across NATs, through the UI', () => {
  let stage: Stage | undefined;
  const rows: ResultRow[] = [];
  const started = Date.now();
  /** The running test's row of the results table; a failure writes its reason into it. */
  let current: ResultRow | undefined;
  const rowFor = (scenario: string): ResultRow => {
    current = { scenario, result: 'running', pair: '-' };
    rows.push(current);
    return current;
  };

  afterAll(() => {
    console.log(resultsTable(rows, Date.now() - started));
  });

  afterEach(async (ctx) => {
    if (current && ctx.task.result?.state === 'fail') {
      const why = (ctx.task.result.errors?.[0]?.message ?? 'failed').split('\n')[0]!.slice(0, 160);
      current.result = `FAILED: ${why}`;
    }
    current = undefined;
    if (!stage) return;
    if (ctx.task.result?.state === 'fail') {
      const evidence = await captureFailure(ctx.task.name, stage.journey.pages);
      const statuses = await Promise.all(Object.entries(stage.journey.pages).map(async ([label, page]) => `  ${label}:\n    ${timeline(await statusLog(page), started)}`));
      console.error(
        `\n[network lab] "${ctx.task.name}" failed.\n${evidence}\n--- status lines seen (since the file started) ---\n${statuses.join('\n')}\n--- server output (tail) ---\n${stage.server.output().slice(-4_000)}`,
      );
    }
    await stage.journey.closeDevices();
  });

  describe('cone NATs', () => {
    beforeAll(async () => {
      stage = await openStage('cone');
    });
    afterAll(async () => {
      await stage?.lab.destroy();
      stage = undefined;
    });

    test('1. a video call connects directly (srflx, no relay) and media flows both ways', async () => {
      const row = rowFor('1 cone NATs, STUN');
      const { admin, doctor, pair, firstFrameMs } = await videoCallAcross(stage!, '1 cone NATs');
      Object.assign(row, { result: 'connected, media both ways', pair: describePair(pair), answerToFirstFrameMs: firstFrameMs });
      expect([pair?.local.type, pair?.remote.type], describePair(pair)).toContain('srflx');
      expect([pair?.local.type, pair?.remote.type], describePair(pair)).not.toContain('relay');
      await hangUpAndWait(admin, doctor);
    });

    test('5. lanA loses its link for 10 s mid-call: Reconnecting…, an ICE restart, media back in the same call', async () => {
      const { lab } = stage!;
      const row = rowFor('5 cone NATs, lanA link cut 10 s');
      const { admin, doctor, pair, firstFrameMs } = await videoCallAcross(stage!, '5 cone NATs, before the cut');
      Object.assign(row, { pair: describePair(pair), answerToFirstFrameMs: firstFrameMs });
      const pcsBefore = await Promise.all([peerConnectionsEver(admin), peerConnectionsEver(doctor)]);
      const offersBefore = [sentEvents(admin, 'call.offer').length, sentEvents(doctor, 'call.offer').length];

      const cutAt = Date.now();
      const cut = lab.cutLink('lanA', LINK_CUT_MS);
      // Mid-cut nothing arrives either way: a window well inside the cut, with its wall-clock bounds checked.
      await new Promise((r) => setTimeout(r, 1_500));
      const [duringA, duringB] = await Promise.all([measureWindow(admin, 1_500), measureWindow(doctor, 1_500)]);
      await cut;
      const upAt = Date.now();
      expect(Math.max(duringA.to, duringB.to), 'the mid-cut window closed before the link came back').toBeLessThan(cutAt + LINK_CUT_MS);
      for (const [who, w] of [['admin (lanA, cut off)', duringA], ['doctor', duringB]] as const) {
        expect(w.audioBytesPerS, `audio reaching ${who} while lanA is cut off`).toBeLessThan(MIN_AUDIO_BYTES_PER_S);
        expect(w.videoFramesPerS, `video frames decoded by ${who} while lanA is cut off`).toBeLessThan(MIN_VIDEO_FRAMES_PER_S);
      }

      // Back: frames advance again on both sides, then a sustained 2 s window both ways.
      const [backA, backB] = await Promise.all([framesAdvance(admin, 3, RECOVERY_TIMEOUT_MS), framesAdvance(doctor, 3, RECOVERY_TIMEOUT_MS)]);
      const flow = await waitFlowBothWays(admin, doctor, RECOVERY_TIMEOUT_MS);
      const [logA, logB] = await Promise.all([statusLog(admin), statusLog(doctor)]);
      const sinceCut = (l: SeenText[]) => l.filter((s) => s.at >= cutAt);
      // The call's own status line (the region with "ICE:"), not the chat's connection banner.
      const callLine = (x: SeenText) => x.status.split(' | ').find((t) => t.includes('ICE:')) ?? '';
      const reconnecting = (l: SeenText[]) => sinceCut(l).find((x) => callLine(x).startsWith('Reconnecting…'));
      const socketLost = (l: SeenText[]) => sinceCut(l).some((x) => x.status.split(' | ').some((t) => t.startsWith('Reconnecting… Messages')));
      const [rA, rB] = [reconnecting(logA), reconnecting(logB)];
      const offersAfter = [sentEvents(admin, 'call.offer').length - offersBefore[0]!, sentEvents(doctor, 'call.offer').length - offersBefore[1]!];
      const pcsAfter = await Promise.all([peerConnectionsEver(admin), peerConnectionsEver(doctor)]);
      const iceSeen = [...new Set(sinceCut(logA).concat(sinceCut(logB)).map((s) => /ICE: (\w+)/.exec(s.status)?.[1]).filter(Boolean))];
      console.log(
        `[network lab] 5: cut ${LINK_CUT_MS} ms; mid-cut admin←doctor ${fmtWindow(duringA)}, doctor←admin ${fmtWindow(duringB)}; ` +
          `frames again ${backA === undefined ? 'never' : `${backA - upAt} ms`} (admin) / ${backB === undefined ? 'never' : `${backB - upAt} ms`} (doctor) after the link came back; ` +
          `call status "Reconnecting…": admin ${rA ? `at +${((rA.at - cutAt) / 1000).toFixed(1)}s` : 'not shown'}, doctor ${rB ? `at +${((rB.at - cutAt) / 1000).toFixed(1)}s` : 'not shown'}; ` +
          `chat banner (socket lost): admin ${socketLost(logA) ? 'shown' : 'not shown'}, doctor ${socketLost(logB) ? 'shown' : 'not shown'}; ` +
          `ICE states shown since the cut: ${iceSeen.join(', ')}; offers after the cut (ICE restart): admin ${offersAfter[0]}, doctor ${offersAfter[1]}\n` +
          `  admin status:\n    ${timeline(sinceCut(logA), cutAt)}\n  doctor status:\n    ${timeline(sinceCut(logB), cutAt)}`,
      );
      const recovery = offersAfter.some((n) => n > 0) ? `ICE restart (${offersAfter[0]}+${offersAfter[1]} offers)` : 'healed by itself (no ICE restart)';
      const shown = (r: SeenText | undefined, next: SeenText[]) => {
        if (!r) return undefined;
        const until = next.find((x) => x.at > r.at && !callLine(x).startsWith('Reconnecting…'));
        return `${((r.at - cutAt) / 1000).toFixed(1)} s after the cut${until ? ` for ${until.at - r.at} ms` : ''}`;
      };
      const [shownA, shownB] = [shown(rA, logA), shown(rB, logB)];
      row.pair = describePair(await appSelectedPair(admin));
      row.result = flow
        ? `recovered, same call: mid-cut ${duringA.audioBytesPerS}/${duringB.audioBytesPerS} B/s; media again ${backA !== undefined && backB !== undefined ? `${Math.max(backA, backB) - upAt} ms` : '?'} after link up; ${recovery}; ` +
          `"Reconnecting…" ${shownA || shownB ? [shownA && `admin ${shownA}`, shownB && `doctor ${shownB}`].filter(Boolean).join(', ') : 'not shown'}`
        : 'media did not come back';
      expect(flow, `media both ways (≥ ${MIN_AUDIO_BYTES_PER_S} B/s, ≥ ${MIN_VIDEO_FRAMES_PER_S} fps) within ${RECOVERY_TIMEOUT_MS} ms of the link coming back`).toBeDefined();
      expect(rA ?? rB, 'the call status said "Reconnecting…" on at least one side').toBeDefined();
      expect(offersAfter[0]! + offersAfter[1]!, 'offers after the cut: the engine restarted ICE').toBeGreaterThan(0);

      // The same call: never ended, never rang again, no call placed anew, no new RTCPeerConnection.
      for (const [who, log] of [['admin', logA], ['doctor', logB]] as const) {
        expect(sinceCut(log).filter((s) => /Call ended|Call failed/.test(s.status)).map((s) => s.status), `${who}: end texts during or after the cut`).toEqual([]);
        expect(sinceCut(log).filter((s) => /Incoming/.test(s.dialogs)).map((s) => s.dialogs), `${who}: incoming-call dialogs during or after the cut`).toEqual([]);
      }
      expect(await incomingCall(doctor).dialog.count(), 'an "Incoming…" dialog on the doctor').toBe(0);
      expect(sentEvents(admin, 'call.invite').length, 'calls the admin placed').toBe(1);
      expect(pcsAfter, 'RTCPeerConnections created (admin, doctor): the call kept its connection').toEqual(pcsBefore);
      expect(pair, 'a selected pair before the cut').toBeDefined();
      await hangUpAndWait(admin, doctor);
    }, 120_000);

    test('6. the Parley server restarts mid-call: media goes on, both devices resume, hang up ends it on both sides', async () => {
      const s = stage!;
      const row = rowFor('6 cone NATs, server restarted mid-call');
      const { admin, doctor, pair, firstFrameMs } = await videoCallAcross(s, '6 cone NATs, before the restart');
      Object.assign(row, { pair: describePair(pair), answerToFirstFrameMs: firstFrameMs });
      // The sockets a reconnect opens: their call.resume and its acknowledgement.
      const [framesA, framesB] = [recordFrames(admin), recordFrames(doctor)];
      const historyBefore = await Promise.all([countHistory(admin, HISTORY.completed('video')), countHistory(doctor, HISTORY.completed('video'))]);
      const resumesBefore = [sentEvents(admin, 'call.resume').length, sentEvents(doctor, 'call.resume').length];

      const old = s.server;
      const stopAt = Date.now();
      await old.stop();
      const stoppedAt = Date.now();
      expect(old.process.exited(), 'the old server process exited').toBe(true);
      // Media never passes through the server: it flows while no server runs.
      const down = await expectFlowBothWays('6 server down', { name: 'admin', page: admin }, { name: 'doctor', page: doctor });

      // A new process on the same port and database; info logs show the call being rebuilt.
      let serverLog = '';
      const env = { ...s.env, LOG_LEVEL: 'info' };
      s.server = await s.lab.startServer({ env, port: old.port, dataDir: old.dataDir, readyTimeoutMs: RESTART_READY_TIMEOUT_MS });
      const upAt = Date.now();
      s.server.process.child.stdout?.on('data', (chunk: Buffer) => (serverLog += chunk.toString('utf8')));
      serverLog += s.server.output();

      // Both devices' sockets reconnect and each sends call.resume; the server acknowledges both and rebinds the call.
      const deadline = Date.now() + RESUME_TIMEOUT_MS;
      let acks: [ReturnType<typeof ackOf>, ReturnType<typeof ackOf>];
      for (;;) {
        acks = [ackOf(framesA.frames, 'call.resume'), ackOf(framesB.frames, 'call.resume')];
        const rebuilt = /"outcome":"rebuilt"/.test(serverLog);
        if ((acks[0]?.ack && acks[1]?.ack && rebuilt) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const resumedAt = Date.now();
      // What each page sent the new server, in order, and how the server acknowledged it.
      const [talkA, talkB] = [eventsWithAcks(framesA.frames), eventsWithAcks(framesB.frames)];
      console.log(
        `[network lab] 6: old server ${old.process.child.exitCode !== null ? `exited ${old.process.child.exitCode}` : `killed by ${old.process.child.signalCode}`} ${stoppedAt - stopAt} ms after SIGTERM\n` +
          `  admin's events to the new server: ${talkA}\n  doctor's events to the new server: ${talkB}`,
      );
      console.log(
        `[network lab] 6: server down ${upAt - stopAt} ms (stop → healthy); call.resume acks: admin ${acks[0]?.ack ?? 'none'}, doctor ${acks[1]?.ack ?? 'none'} (${resumedAt - upAt} ms after healthy); ` +
          `server: ${serverLog.split('\n').filter((l) => l.includes('call.resume')).map((l) => /"outcome":"(\w+)"/.exec(l)?.[1]).join(', ') || 'no call.resume logged'}`,
      );
      expect(sentEvents(admin, 'call.resume').length, 'call.resume sent by the admin after the restart').toBeGreaterThan(resumesBefore[0]!);
      expect(sentEvents(doctor, 'call.resume').length, 'call.resume sent by the doctor after the restart').toBeGreaterThan(resumesBefore[1]!);
      expect(acks[0]?.ack, "admin's call.resume acknowledged").toBeDefined();
      expect(acks[1]?.ack, "doctor's call.resume acknowledged").toBeDefined();
      expect(acks[0]!.ack, "admin's call.resume acknowledgement").not.toMatch(/"ok":false|"code"/);
      expect(acks[1]!.ack, "doctor's call.resume acknowledgement").not.toMatch(/"ok":false|"code"/);
      expect(serverLog, 'the restarted server rebuilt the call from both devices').toMatch(/"outcome":"rebuilt"/);

      // Still the same call on both sides: nothing ended it while the server was away or rebuilding it.
      const [logA, logB] = await Promise.all([statusLog(admin), statusLog(doctor)]);
      for (const [who, log, talk] of [['admin', logA, talkA], ['doctor', logB, talkB]] as const) {
        const ends = log.filter((x) => x.at >= stopAt && /Call ended|Call failed/.test(x.status)).map((x) => `"${x.status}"`);
        expect(ends.join(', '), `${who}: the call ended across the restart (${who}'s events to the new server: ${talk})`).toBe('');
      }
      const after = await expectFlowBothWays('6 after the restart', { name: 'admin', page: admin }, { name: 'doctor', page: doctor });

      // Hang up works on the rebuilt call: the doctor's call ends with "Call ended", and the history gets its entry on both sides.
      await hangUpAndWait(admin, doctor);
      const historyAfter = await Promise.all([
        waitHistoryGrows(admin, HISTORY.completed('video'), historyBefore[0]!),
        waitHistoryGrows(doctor, HISTORY.completed('video'), historyBefore[1]!),
      ]);
      row.result = `media on throughout (server down: ${fmtWindow(down.a)} / ${fmtWindow(down.b)}); both resumed ${resumedAt - upAt} ms after it was back; hang up → "Call ended" + history on both`;
      expect(historyAfter[0]).toBeGreaterThan(historyBefore[0]!);
      expect(after.a.peerConnections).toBe(1);
    }, 180_000);
  });

  describe('symmetric NATs', () => {
    beforeAll(async () => {
      stage = await openStage('symmetric');
    });
    afterAll(async () => {
      await stage?.lab.destroy();
      stage = undefined;
    });

    test('3. a video call connects through the TURN relay over UDP and media flows both ways', async () => {
      const row = rowFor('3 symmetric NATs, TURN/UDP');
      const { admin, doctor, pair, firstFrameMs } = await videoCallAcross(stage!, '3 symmetric NATs');
      Object.assign(row, { result: 'connected, media both ways', pair: describePair(pair), answerToFirstFrameMs: firstFrameMs });
      expect(pair?.local.type, describePair(pair)).toBe('relay');
      expect(pair?.local.relayProtocol, describePair(pair)).toBe('udp');
      await hangUpAndWait(admin, doctor);
    });

    /** Proof that the block held: UDP packets the browser tried to send out of lanA, dropped by natA. */
    async function udpDroppedAtNatA(): Promise<number> {
      const out = await stage!.lab.exec('natA', ['iptables', '-L', 'PLAB-UDP', '-v', '-x', '-n']);
      return Number(/^\s*(\d+)\s+\d+\s+DROP/m.exec(out)?.[1] ?? 0);
    }

    test('4. with UDP blocked at both NATs, a video call connects through TURN over TCP', async () => {
      const row = rowFor('4 UDP blocked, TURN/TCP');
      await stage!.lab.setUdpBlocked(true);
      try {
        const { admin, doctor, pair, firstFrameMs } = await videoCallAcross(stage!, '4 UDP blocked');
        Object.assign(row, { result: `connected, media both ways (natA dropped ${await udpDroppedAtNatA()} UDP packets)`, pair: describePair(pair), answerToFirstFrameMs: firstFrameMs });
        expect(pair?.local.type, describePair(pair)).toBe('relay');
        expect(pair?.local.relayProtocol, describePair(pair)).toBe('tcp');
        await hangUpAndWait(admin, doctor);
      } finally {
        await stage!.lab.setUdpBlocked(false);
      }
    });

    test('4b. with UDP blocked and the server handing out TURNS only, a video call connects through TURN over TLS (5349)', async () => {
      const s = stage!;
      const row = rowFor('4b UDP blocked, TURNS (TLS 5349)');
      await reconfigure(s, s.turn.serverEnv([s.turn.urls.tls!]));
      await s.lab.setUdpBlocked(true);
      try {
        const { admin, doctor, pair, firstFrameMs } = await videoCallAcross(s, '4b UDP blocked, TURNS');
        Object.assign(row, { result: `connected, media both ways (natA dropped ${await udpDroppedAtNatA()} UDP packets)`, pair: describePair(pair), answerToFirstFrameMs: firstFrameMs });
        expect(pair?.local.type, describePair(pair)).toBe('relay');
        expect(pair?.local.relayProtocol, describePair(pair)).toBe('tls');
        await hangUpAndWait(admin, doctor);
      } finally {
        await s.lab.setUdpBlocked(false);
      }
    }, 120_000);

    test('2. without TURN the call cannot connect, and the person reads that the relay (TURN) server could not be reached within 20 s of answering', async () => {
      const s = stage!;
      const row = rowFor('2 symmetric NATs, no TURN');
      // STUN only, no relay: what a deployment without TURN hands out.
      await reconfigure(s, { STUN_URLS: s.turn.stunUrl });
      const { admin, doctor } = await signInBoth(s);
      const rtc = JSON.stringify(await admin.evaluate(() => fetch('/api/rtc-config').then((r) => r.json())));
      expect(rtc, 'the ICE servers the server hands out').toContain('stun:');
      expect(rtc, 'the ICE servers the server hands out').not.toMatch(/turns?:/);

      await placeCall(admin, 'video');
      const timing = await answerTimed(doctor, admin);
      const answeredAt = (await timing.answeredAt())!;
      expect(answeredAt, 'the Answer click was seen').toBeDefined();
      // The end shows on the person who answered (the engine's 18 s connect limit runs from the answer); allow past 20 s only to report how late it came.
      const end = await waitStatus(doctor, /Call failed|Call ended|TURN/, FAILED_CALL_NOTICE_MS + 10_000);
      // The caller's page learns it through the hangup the doctor's engine sends.
      const endAdmin = await waitStatus(admin, /Call failed|Call ended|TURN/, 5_000);
      const [logA, logB] = await Promise.all([statusLog(admin), statusLog(doctor)]);
      const turnMsg = (log: SeenText[]) => log.find((x) => TURN_MESSAGE.test(x.status));
      const [msgA, msgB] = [turnMsg(logA), turnMsg(logB)];
      const seen = (x: SeenText | undefined, n = 1_000) => (x ? `"${short(x.status, n)}" ${((x.at - answeredAt) / 1000).toFixed(1)} s after Answer` : 'nothing');
      console.log(`[network lab] 2: end on the doctor (answered): ${seen(end)}; on the admin (caller): ${seen(endAdmin)}\n  doctor status:\n    ${timeline(logB, answeredAt)}\n  admin status:\n    ${timeline(logA, answeredAt)}`);
      Object.assign(row, {
        result: `${end ? `no connection; doctor (answered): ${seen(end, 40)}; admin: ${seen(endAdmin, 40)}` : 'no end text'}${msgB || msgA ? '' : ' — the TURN message was NOT shown'}`,
        pair: describePair(await appSelectedPair(admin).catch(() => undefined)),
        answerToFirstFrameMs: await timing.firstFrameMs(),
      });

      // Never connected, never a frame.
      for (const [who, log] of [['admin', logA], ['doctor', logB]] as const) {
        expect(log.filter((x) => /ICE: (connected|completed)/.test(x.status)).map((x) => x.status), `${who}: status lines showing a connection`).toEqual([]);
      }
      expect(await timing.firstFrameMs(), 'answer → first frame (there must be none)').toBeUndefined();
      // The end, and the words, within 20 s of pressing Answer.
      expect(end, 'an end text on the doctor (who answered)').toBeDefined();
      expect(end!.at - answeredAt, 'answer → the end text (ms)').toBeLessThanOrEqual(FAILED_CALL_NOTICE_MS);
      expect(msgB?.status ?? `(end text seen: "${end!.status}")`, 'the doctor reads the TURN message').toMatch(TURN_MESSAGE);
      expect(msgB!.at - answeredAt, 'answer → the TURN message (ms)').toBeLessThanOrEqual(FAILED_CALL_NOTICE_MS);
    }, 150_000);
  });
});
