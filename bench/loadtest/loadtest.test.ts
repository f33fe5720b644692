// The load test against a real Parley server: a smoke-size run (werift devices, real protocol,
// data channel and RTP both ways, /metrics read back), and the clear messages for bad input.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {} from '../../apps/server/src/testing/global-setup.ts'; // the harness's provided context
import { startTestServer, type TestServer } from '../../apps/server/src/testing/harness.ts';
import { TargetError } from './admin.ts';
import { runLoadtest } from './cli.ts';
import { LoadtestUsageError, parseOptions } from './options.ts';
import { freePort } from '../lib/proc.ts';

const TOKEN = 'loadtest-metrics-token-0123456789';
const never = new Promise<void>(() => undefined);
const sink = { write: () => true } as unknown as NodeJS.WritableStream;

describe('loadtest options', () => {
  it('refuses what cannot run, saying what is wrong', () => {
    const bad: Array<[string[], RegExp]> = [
      [[], /--url is required/],
      [['--url', 'not a url'], /is not a URL/],
      [['--url', 'ftp://127.0.0.1:21'], /must be http/],
      [['--url', 'http://127.0.0.1:3000', '--calls', '0'], /--calls must be a whole number from 1/],
      [['--url', 'http://127.0.0.1:3000', '--calls', 'ten'], /--calls must be a whole number/],
      [['--url', 'http://127.0.0.1:3000', '--calls', '5', '--concurrency', '6'], /cannot be more than --calls/],
      [['--url', 'http://127.0.0.1:3000', '--colls', '5'], /Unknown option '--colls'/],
    ];
    for (const [argv, message] of bad) expect(() => parseOptions(argv, {}), argv.join(' ')).toThrow(message);
    expect(() => parseOptions(['--calls', '0'], {})).toThrow(LoadtestUsageError);
  });

  it('takes the defaults and the environment', () => {
    expect(parseOptions(['--url', 'http://127.0.0.1:3000/ignored', '--calls', '4', '--media'], { METRICS_TOKEN: 'x'.repeat(20) })).toMatchObject({
      url: 'http://127.0.0.1:3000',
      calls: 4,
      concurrency: 4,
      media: true,
      durationS: 5,
      rampS: 1,
      audioPps: 10,
      videoPps: 5,
      adminEmail: 'admin@example.com',
      adminPassword: 'parley-demo-pass',
      metricsToken: 'x'.repeat(20),
    });
  });
});

describe('loadtest against a real server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => s?.close());

  const options = (extra: string[]) => {
    const o = parseOptions(['--url', s.url, ...extra], {});
    if (o === 'help') throw new Error('help');
    return o;
  };

  it('runs whole calls with data and RTP both ways, and /metrics agrees: +3 ended, none active', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loadtest-trace-'));
    const trace = path.join(dir, 'trace.txt');
    const report = await runLoadtest(options(['--calls', '3', '--concurrency', '2', '--media', '--duration', '2', '--metrics-token', TOKEN, '--cleanup', '--trace', trace]), { err: sink, interrupted: never });
    expect(report.details).toEqual([]);
    expect(report).toMatchObject({ attempted: 3, connected: 3, completed: 3, failed: 0, failures: {}, interrupted: false });
    expect(report.inviteToRingMs!.p50).toBeGreaterThan(0);
    expect(report.answerToConnectedMs!.max).toBeGreaterThanOrEqual(report.answerToConnectedMs!.p50);
    expect(report.dataMessages.sent).toBeGreaterThan(0);
    expect(report.dataMessages.received).toBe(report.dataMessages.sent);
    // 10 audio + 5 video packets a second each way (the defaults), over (most of) the 2 s each call is held.
    expect(report.mediaPackets!.expected).toBeGreaterThan(3 * 2 * 15 * 1.5);
    expect(report.mediaPackets!.received).toBe(report.mediaPackets!.expected);
    expect(report.mediaPackets!.ratio).toBeGreaterThanOrEqual(0.98);
    expect(report.server).toMatchObject({ callsEnded: 3, activeAfter: 0, agrees: true });
    // What /metrics says, read here independently of the tool.
    const text = (await s.request('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).body as string;
    expect(text).toMatch(/^parley_active_calls 0$/m);
    expect(text).toMatch(/^parley_calls_ended_total\{reason="user_hangup"\} 3$/m);
    // --cleanup deactivated the four test users.
    const admin = await s.login('admin@example.com');
    const users = (await s.request('GET', '/api/admin/users', { cookie: admin })).body.users as Array<{ email: string; active: boolean }>;
    const testUsers = users.filter((u) => u.email.includes('loadtest'));
    expect(testUsers).toHaveLength(4);
    expect(testUsers.every((u) => !u.active)).toBe(true);
    // The device processes' own load, and the slowest calls' timelines on one clock, both sides.
    expect(report.clients).toHaveLength(report.options.workers);
    for (const c of report.clients) expect(c.cpuMeanPct).toBeGreaterThan(0);
    const text2 = fs.readFileSync(trace, 'utf8');
    fs.rmSync(dir, { recursive: true, force: true });
    expect(text2).toMatch(/^## slowest 1: answer → connected \d+ ms$/m);
    for (const line of [/ caller sends call\.invite$/m, / callee receives call\.invite$/m, / caller werift gathering complete/m, / callee werift connection connected$/m, / both connected$/m]) {
      expect(text2).toMatch(line);
    }
    expect(text2.match(/^pid \d+: /gm)).toHaveLength(report.options.workers);
  }, 120_000);

  it('says so when the admin credentials are wrong', async () => {
    await expect(runLoadtest(options(['--calls', '1', '--admin-password', 'wrong-password']), { err: sink, interrupted: never })).rejects.toThrow(
      /admin sign-in was refused \(admin@example.com\)/,
    );
  });

  it('says so when nothing listens at the URL, or the URL is not Parley', async () => {
    const port = await freePort();
    const nothing = parseOptions(['--url', `http://127.0.0.1:${port}`], {}) as Exclude<ReturnType<typeof parseOptions>, 'help'>;
    await expect(runLoadtest(nothing, { err: sink, interrupted: never })).rejects.toThrow(/Cannot reach .*connection refused/);
    const other = http.createServer((_req, res) => res.writeHead(404).end('not here'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const o = parseOptions(['--url', url], {}) as Exclude<ReturnType<typeof parseOptions>, 'help'>;
      await expect(runLoadtest(o, { err: sink, interrupted: never })).rejects.toThrow(TargetError);
      await expect(runLoadtest(o, { err: sink, interrupted: never })).rejects.toThrow(/does not look like a Parley server/);
    } finally {
      other.close();
    }
  });
});
