import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';

const TOKEN = 'metrics-token-for-tests-0123';

/** Reads one sample from Prometheus text: `name{labels} value`. Absent: 0. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('GET /metrics', () => {
  let s: TestServer;
  const ids: Record<string, string> = {};
  const cookies: Record<string, string> = {};

  const scrape = async () => {
    const res = await s.request('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return res.body as string;
  };
  const device = async (who: string) => {
    const deviceId = `${who}-${randomUUID().slice(0, 8)}`;
    const socket = await s.connect(cookies[who]!, { deviceId });
    const emit = (event: string, payload: Record<string, unknown>) =>
      (socket.emitWithAck as (e: string, p: unknown) => Promise<{ ok: boolean }>)(event, { deviceId, ...payload });
    return { socket, deviceId, emit };
  };

  beforeAll(async () => {
    s = await startTestServer({ env: { METRICS_TOKEN: TOKEN, TURN_URLS: 'turn:127.0.0.1:3478', TURN_SECRET: 'a-turn-secret-of-16+chars' } });
    for (const [who, email] of [['alex', 'admin@example.com'], ['dana', 'doctor@example.com'], ['noor', 'nurse@example.com']] as const) {
      cookies[who] = await s.login(email);
      ids[who] = (await s.request('GET', '/api/me', { cookie: cookies[who] })).body.user.id;
    }
  });
  afterAll(async () => s?.close());

  it('refuses a scrape without the token or with a wrong one (401), in Prometheus text with the token', async () => {
    expect((await s.request('GET', '/metrics')).status).toBe(401);
    expect((await s.request('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await s.request('GET', '/metrics', { headers: { authorization: TOKEN } })).status).toBe(401);
    const res = await s.request('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // prom-client's Node process defaults.
    expect(res.body).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(res.body).toMatch(/^process_resident_memory_bytes \d/m);
    expect(res.body).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('follows a real call through socket.io: active while it lasts, ended by reason, set-up time, back to 0', async () => {
    const before = await scrape();
    const alex = await device('alex');
    const dana = await device('dana');
    expect(sample(await scrape(), 'parley_sockets_connected')).toBe(sample(before, 'parley_sockets_connected') + 2);

    const callId = randomUUID();
    const invited = nextEvent(dana.socket, 'call.invite');
    expect(await alex.emit('call.invite', { callId, toUserId: ids.dana, kind: 'audio' })).toEqual({ ok: true });
    await invited;
    expect(sample(await scrape(), 'parley_active_calls')).toBe(1);

    // Noor calls Dana while she is in a call: busy, never active.
    const noor = await device('noor');
    const busy = nextEvent(noor.socket, 'call.busy');
    await noor.emit('call.invite', { callId: randomUUID(), toUserId: ids.dana, kind: 'audio' });
    await busy;

    const accepted = nextEvent(alex.socket, 'call.accept');
    await dana.emit('call.accept', { callId });
    await accepted;
    expect(await dana.emit('call.stats', { callId, quality: { path: 'direct', protocol: 'udp', rttMs: 1, lossPct: 0 } })).toEqual({ ok: true });
    await alex.emit('call.stats', { callId, quality: { path: 'direct', protocol: 'udp', rttMs: 1, lossPct: 0 } });
    const during = await scrape();
    expect(sample(during, 'parley_active_calls')).toBe(1);
    // The first report counts; the second device's does not add a second set-up.
    expect(sample(during, 'parley_call_setup_seconds_count')).toBe(1);
    expect(sample(during, 'parley_call_setup_seconds_bucket', 'le="+Inf"')).toBe(1);
    expect(sample(during, 'parley_calls_ended_total', 'reason="busy"')).toBe(1);

    const hungUp = nextEvent(alex.socket, 'call.hangup');
    await dana.emit('call.hangup', { callId, reason: 'user_hangup' });
    await hungUp;

    // A declined call: rang, then ended.
    const second = randomUUID();
    const invited2 = nextEvent(dana.socket, 'call.invite');
    await noor.emit('call.invite', { callId: second, toUserId: ids.dana, kind: 'video' });
    await invited2;
    const rejected = nextEvent(noor.socket, 'call.reject');
    await dana.emit('call.reject', { callId: second, reason: 'declined' });
    await rejected;

    const after = await scrape();
    expect(sample(after, 'parley_active_calls')).toBe(0);
    expect(sample(after, 'parley_calls_ended_total', 'reason="user_hangup"')).toBe(sample(before, 'parley_calls_ended_total', 'reason="user_hangup"') + 1);
    expect(sample(after, 'parley_calls_ended_total', 'reason="declined"')).toBe(1);
    expect(sample(after, 'parley_call_setup_seconds_count')).toBe(1);
    for (const d of [alex, dana, noor]) d.socket.disconnect();
  });

  it('counts stored messages (not resent duplicates) and handed-out TURN credentials', async () => {
    const alex = await device('alex');
    const conversation = (await s.request('POST', '/api/conversations', { cookie: cookies.alex, body: { userId: ids.dana } })).body.conversation;
    const before = await scrape();
    const message = { id: randomUUID(), conversationId: conversation.id, body: 'hello' };
    const send = (m: typeof message) => (alex.socket.emitWithAck as (e: string, p: unknown) => Promise<{ ok: boolean }>)('message.send', m);
    for (const m of [message, message, { ...message, id: randomUUID() }]) expect(await send(m)).toMatchObject({ ok: true });
    expect((await s.request('GET', '/api/rtc-config', { cookie: cookies.alex })).status).toBe(200);
    const after = await scrape();
    expect(sample(after, 'parley_messages_total') - sample(before, 'parley_messages_total')).toBe(2);
    expect(sample(after, 'parley_turn_credentials_issued_total') - sample(before, 'parley_turn_credentials_issued_total')).toBe(1);
    (alex.socket as TestSocket).disconnect();
  });
});

describe('GET /metrics without METRICS_TOKEN', () => {
  it('does not exist', async () => {
    const s = await startTestServer();
    try {
      expect((await s.request('GET', '/metrics')).status).toBe(404);
      expect((await s.request('GET', '/metrics', { headers: { authorization: 'Bearer anything-at-all-here' } })).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
