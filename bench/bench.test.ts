// Keeps the benchmarks working: each runs at its smoke size against real servers (Parley's own
// entry point, a bare socket.io relay, the PeerJS server). No timing is asserted: on a shared
// machine only `npm run bench` at full size, under the heavy lock, says anything about speed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAT_SMOKE, runChat } from './chat/chat.bench.ts';
import { IDLE_SMOKE, runIdle } from './idle/idle-connect.bench.ts';
import { LOADTEST_SMOKE, runLoadtestBench } from './loadtest/loadtest.bench.ts';
import { SETUP_SMOKE, runSetup } from './setup/setup.bench.ts';
import { repoRoot } from './lib/proc.ts';
import { writeTable } from './run.ts';
import { SIGNALLING_SMOKE, runSignalling, runSignallingAb } from './signalling/signalling.bench.ts';

describe('benchmarks at smoke size', () => {
  it('setup: a Parley call, a bare call and the pre-connected bare calls each reach a first remote frame on both sides, timed from the Answer click', async () => {
    const r = await runSetup({ ...SETUP_SMOKE, preconnected: true, preview: true });
    const { preconnected: pre, preview, preconnectedPreview: prePreview } = r.apps;
    if (!pre || !preview || !prePreview) throw new Error('no figures of the bare variants');
    for (const app of [r.apps.parley, r.apps.bare, pre, preview, prePreview]) {
      expect(app.setupMs).toHaveLength(SETUP_SMOKE.calls);
      expect(app.medianMs).toBeGreaterThan(0);
      expect(app.calleeFrameMedianMs).toBeGreaterThan(0);
      expect(app.callerFrameMedianMs).toBeGreaterThan(0);
      // The timeline saw each side's peer connection and first frame.
      for (const side of ['caller', 'callee']) expect(app.timeline.map((t) => t.step)).toContain(`${side} pc:first-frame`);
    }
    expect(Number.isFinite(r.ratio)).toBe(true);
    for (const app of ['preview', 'preconnected', 'preconnectedPreview'] as const) expect(Number.isFinite(r.extraRatios[app])).toBe(true);
    // Pre-connected: DTLS was up on both sides before the click, and no video reached either side before it.
    const at = (app: typeof pre, step: string) => app.timeline.find((t) => t.step === step)?.medianMs;
    for (const app of [pre, prePreview]) {
      for (const side of ['caller', 'callee']) {
        expect(at(app, `${side} pc:dtls connected`)).toBeLessThan(0);
        expect(at(app, `${side} pc:video unmute`)).toBeGreaterThan(0);
      }
    }
    // With the preview the callee's camera was running before the click (and DTLS was not up without
    // pre-connecting); without it, the camera starts on the click.
    for (const app of [preview, prePreview]) expect(at(app, 'callee gum:end')).toBeLessThan(0);
    for (const app of [r.apps.bare, pre]) expect(at(app, 'callee gum:end')).toBeGreaterThan(0);
    expect(at(preview, 'callee pc:dtls connected')).toBeGreaterThan(0);
  }, 240_000);

  it('chat: every message sent through Parley and the bare relay is delivered and timed', async () => {
    const r = await runChat(CHAT_SMOKE);
    for (const s of [r.servers.parley, r.servers.socketio]) {
      expect(s.sent).toBe((CHAT_SMOKE.ratePerS * CHAT_SMOKE.durationMs) / 1000);
      expect(s.delivered).toBe(s.sent);
      expect(s.refused).toBe(0);
      expect(s.deliverMs.p99).toBeGreaterThan(0);
    }
    expect(Number.isFinite(r.ratios.p99VsSocketio)).toBe(true);
  }, 120_000);

  it('signalling: every call set-up completes on Parley, bare socket.io and PeerJS, with each forwarded message timed', async () => {
    const r = await runSignalling(SIGNALLING_SMOKE);
    const perCall = 2 + 2 * SIGNALLING_SMOKE.iceEach; // offer, answer, candidates
    for (const s of Object.values(r.servers)) {
      expect(s.completed).toBe(SIGNALLING_SMOKE.calls);
      expect(s.refused).toBe(0);
      expect(s.forwardMs.n).toBe(SIGNALLING_SMOKE.calls * perCall);
      expect(s.messages).toBe(SIGNALLING_SMOKE.calls * (perCall + 4)); // + invite, ringing, accept, hang up
    }
    expect(Number.isFinite(r.ratios.cpuVsSocketio)).toBe(true);
  }, 180_000);

  it('signalling --ab: Parley and another checkout (here this one) alternate, round by round, and every set-up completes', async () => {
    const rounds = await runSignallingAb({ ...SIGNALLING_SMOKE, before: repoRoot }, 2);
    expect(rounds.map((r) => `${r.round}:${r.server}`)).toEqual(['0:before', '0:after', '1:after', '1:before']);
    for (const r of rounds) {
      expect(r.completed).toBe(SIGNALLING_SMOKE.calls);
      expect(r.cpuMsPer1000Messages).toBeGreaterThanOrEqual(0);
    }
  }, 180_000);

  it("writes the table with each row's run time and load average, and leaves the text around the markers alone", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-table-'));
    try {
      const row = { benchmark: '2. Signalling: server CPU per 1,000 messages', target: '≤ 1.3× bare socket.io', measured: 'Parley 1 ms', met: false };
      fs.writeFileSync(path.join(dir, 'signalling.json'), JSON.stringify({ machine: 'm', at: '2026-12-02T04:05:06.000Z', loadAverage: 1.25, rows: [row] }));
      fs.writeFileSync(path.join(dir, 'chat.json'), JSON.stringify({ machine: 'm', at: '2026-12-01T23:33:00.000Z', rows: [{ ...row, benchmark: '4. Chat' }] }));
      const doc = path.join(dir, 'doc.md');
      fs.writeFileSync(doc, 'before\n<!-- bench:table:begin -->\nold\n<!-- bench:table:end -->\nafter\n');
      writeTable(dir, doc);
      const text = fs.readFileSync(doc, 'utf8');
      expect(text).toContain('| 2. Signalling: server CPU per 1,000 messages | ≤ 1.3× bare socket.io | Parley 1 ms (2026-12-02 04:05 UTC, load average 1.25) | **no** |');
      // A results file saved before the load average was recorded keeps its date only.
      expect(text).toContain('| 4. Chat | ≤ 1.3× bare socket.io | Parley 1 ms (2026-12-01) | **no** |');
      expect(text.startsWith('before\n<!-- bench:table:begin -->\n')).toBe(true);
      expect(text.endsWith('<!-- bench:table:end -->\nafter\n')).toBe(true);
      expect(text).not.toContain('old');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('idle: every person connects an authenticated socket to Parley (as npm start runs it) and to bare socket.io, and the memory is read', async () => {
    const r = await runIdle(IDLE_SMOKE);
    const [size] = r.sizes;
    for (const run of [size!.parley, size!.socketio]) {
      expect(run).toMatchObject({ n: IDLE_SMOKE.sizes[0], connected: IDLE_SMOKE.sizes[0], failed: 0, finished: true });
      expect(run.connectsPerS).toBeGreaterThan(0);
      expect(run.idleRssMb).toBeGreaterThan(0);
    }
    // Presence goes to followers only: a connect sends each person their own hello, nothing about the others.
    expect(size!.parley.framesPerClient).toBe(1);
    expect(Number.isFinite(size!.ratios.rateVsSocketio)).toBe(true);
  }, 180_000);

  it('loadtest: every call of the load tool against Parley (as npm start runs it) completes with media both ways, and /metrics agrees', async () => {
    const r = await runLoadtestBench(LOADTEST_SMOKE);
    expect(r.report.details).toEqual([]);
    expect(r.report).toMatchObject({ attempted: LOADTEST_SMOKE.calls, completed: LOADTEST_SMOKE.calls, failed: 0 });
    expect(r.report.mediaPackets!.expected).toBeGreaterThan(0);
    expect(r.report.mediaPackets!.received).toBe(r.report.mediaPackets!.expected);
    expect(r.report.server).toMatchObject({ callsEnded: LOADTEST_SMOKE.calls, activeAfter: 0, agrees: true });
    expect(r.proc.cpuSeconds).toBeGreaterThan(0);
  }, 180_000);
});
