import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { ClientToServerEvents, ServerToClientEvents } from '@parley/protocol';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer } from '../testing/harness.ts';
import { LocalPushService } from '../testing/local-push-service.ts';
import { withoutAddresses } from './log.ts';

/**
 * Issue #10, "Logs": a real server with its pino output captured, driven through sign-in, a wrong
 * password, a message, a call with SDP and candidates, a push subscription (and a push) and a TURN
 * credential fetch. No line may carry what the test sent that is secret or private; with
 * LOG_IPS=0 no line carries the client's address either. The same run with LOG_IPS=1 shows that
 * the address does reach the log when allowed, so the check can see it.
 */
const PASSWORD = 'parley-demo-pass';
const WRONG_PASSWORD = 'wrong-password-zebra-4242';
/** The client, as the trusted proxy (loopback) reports it. */
const CLIENT = '203.0.113.77';
const BODY = 'Blood results for bed 12: potassium 6.1, please call back';
const OFFER_SDP = 'v=0\r\no=- 4611731400430051336 2 IN IP4 198.51.100.40\r\ns=-\r\na=ice-ufrag:OfferUfragQ7\r\na=ice-pwd:OfferIcePwdSecretValue1234\r\na=fingerprint:sha-256 9F:1A:2B:3C:4D:5E:6F:70:81:92:A3:B4:C5:D6:E7:F8:09:1A:2B:3C:4D:5E:6F:70:81:92:A3:B4:C5:D6:E7:F8\r\n';
const ANSWER_SDP = 'v=0\r\no=- 9112233445566778899 2 IN IP4 198.51.100.41\r\ns=-\r\na=ice-ufrag:AnswerUfragZ3\r\na=ice-pwd:AnswerIcePwdSecretValue5678\r\n';
const CANDIDATE = 'candidate:842163049 1 udp 1677729535 198.51.100.23 61234 typ srflx raddr 10.20.30.40 rport 61234 generation 0 ufrag OfferUfragQ7';
const TURN_SECRET = 'a-long-shared-secret-for-the-log-test';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

describe.each([
  ['0', false],
  ['1', true],
] as const)('log lines with LOG_IPS=%s', (logIps, addressesAllowed) => {
  let s: TestServer | undefined;
  let push: LocalPushService | undefined;
  const sockets: Client[] = [];
  afterEach(async () => {
    for (const c of sockets) c.disconnect();
    await s?.close();
    await push?.close();
  });

  it('no line holds a password, session token, SDP, candidate, message body, push keys or TURN credential; addresses only when allowed', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    push = await LocalPushService.start();
    s = await startTestServer({
      env: {
        LOG_LEVEL: 'trace',
        LOG_IPS: logIps,
        TRUST_PROXY: '127.0.0.1',
        PUSH_ALLOW_LOCAL_ENDPOINTS: '1',
        TURN_URLS: 'turn:turn.parley.test:3478',
        TURN_SECRET,
        SOCKET_CONNECTS_PER_ADDRESS: '4',
      },
      app: { logStream, pushCa: push.ca },
    });
    const server = s;
    const fwd = { 'x-forwarded-for': CLIENT };
    const tokens: string[] = [];
    const signIn = async (email: string) => {
      const r = await server.request('POST', '/api/auth/login', { body: { email, password: PASSWORD }, headers: fwd });
      expect(r.status).toBe(200);
      const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
      tokens.push(cookie.slice(cookie.indexOf('=') + 1));
      return { cookie, id: r.body.user.id as string };
    };
    const connect = (cookie: string, deviceId: string) =>
      new Promise<Client>((resolve, reject) => {
        const c: Client = ioClient(server.url, { transports: ['websocket'], extraHeaders: { cookie, origin: server.url, ...fwd }, auth: { deviceId }, reconnection: false, forceNew: true });
        sockets.push(c);
        c.once('connect', () => resolve(c));
        c.once('connect_error', reject);
      });
    const emit = (c: Client, event: string, payload: object) => (c.emitWithAck as (e: string, p: unknown) => Promise<any>)(event, payload);

    // A wrong password, then sign-ins.
    expect((await server.request('POST', '/api/auth/login', { body: { email: 'nurse@example.com', password: WRONG_PASSWORD }, headers: fwd })).status).toBe(401);
    const alex = await signIn('admin@example.com');
    const dana = await signIn('doctor@example.com');
    const noor = await signIn('nurse@example.com');

    // Noor's browser is closed but subscribed to push: the message below reaches her by push.
    const sub = push.subscribe();
    expect((await server.request('POST', '/api/push/subscriptions', { cookie: noor.cookie, body: { ...sub, expirationTime: null }, headers: fwd })).status).toBe(204);

    // The TURN credential.
    const rtc = await server.request('GET', '/api/rtc-config', { cookie: alex.cookie, headers: fwd });
    expect(rtc.status).toBe(200);
    const turn = (rtc.body.iceServers as Array<{ username?: string; credential?: string }>).find((i) => i.credential);
    expect(turn?.credential).toBeTruthy();

    // A message to Noor, and one between Alex and Dana.
    const a = await connect(alex.cookie, 'alex-laptop');
    const d = await connect(dana.cookie, 'dana-phone');
    const toNoor = await server.request('POST', '/api/conversations', { cookie: alex.cookie, body: { userId: noor.id }, headers: fwd });
    const pushed = push.next((r) => r.endpoint === sub.endpoint);
    expect(await emit(a, 'message.send', { id: randomUUID(), conversationId: toNoor.body.conversation.id, body: BODY })).toMatchObject({ ok: true });
    await pushed;
    const toDana = await server.request('POST', '/api/conversations', { cookie: alex.cookie, body: { userId: dana.id }, headers: fwd });
    const delivered = nextEvent(d, 'message.new');
    expect(await emit(a, 'message.send', { id: randomUUID(), conversationId: toDana.body.conversation.id, body: BODY })).toMatchObject({ ok: true });
    expect((await delivered).message.body).toBe(BODY);

    // A call with SDP both ways and trickled candidates.
    const callId = randomUUID();
    const invited = nextEvent(d, 'call.invite');
    expect(await emit(a, 'call.invite', { callId, deviceId: 'alex-laptop', toUserId: dana.id, kind: 'video' })).toEqual({ ok: true });
    await invited;
    expect(await emit(d, 'call.accept', { callId, deviceId: 'dana-phone' })).toEqual({ ok: true });
    const offered = nextEvent(d, 'call.offer');
    expect(await emit(a, 'call.offer', { callId, deviceId: 'alex-laptop', sdp: OFFER_SDP })).toEqual({ ok: true });
    expect((await offered).sdp).toBe(OFFER_SDP);
    const answered = nextEvent(a, 'call.answer');
    expect(await emit(d, 'call.answer', { callId, deviceId: 'dana-phone', sdp: ANSWER_SDP })).toEqual({ ok: true });
    expect((await answered).sdp).toBe(ANSWER_SDP);
    const trickled = nextEvent(d, 'call.ice');
    expect(await emit(a, 'call.ice', { callId, deviceId: 'alex-laptop', candidate: { candidate: CANDIDATE, sdpMid: '0', sdpMLineIndex: 0 } })).toEqual({ ok: true });
    expect((await trickled).candidate?.candidate).toBe(CANDIDATE);
    const hungUp = nextEvent(d, 'call.hangup');
    expect(await emit(a, 'call.hangup', { callId, deviceId: 'alex-laptop', reason: 'user_hangup' })).toEqual({ ok: true });
    await hungUp;

    // Handshakes over the address's budget: refused, and logged with the address (when allowed).
    let refused = 0;
    for (let i = 0; i < 4 && refused === 0; i++) await connect(noor.cookie, `noor-${i}`).catch(() => refused++);
    expect(refused).toBe(1);

    await server.close();
    s = undefined;

    const secrets: Record<string, string[]> = {
      password: [PASSWORD, WRONG_PASSWORD],
      'session token': tokens,
      SDP: [OFFER_SDP, ANSWER_SDP, 'OfferUfragQ7', 'AnswerUfragZ3', 'OfferIcePwdSecretValue1234', 'AnswerIcePwdSecretValue5678', '9F:1A:2B:3C:4D:5E', '4611731400430051336'],
      candidate: [CANDIDATE, 'candidate:842163049', '198.51.100.23', '10.20.30.40'],
      'message body': [BODY, 'potassium'],
      'push subscription': [sub.endpoint.slice(sub.endpoint.lastIndexOf('/') + 1), sub.keys.p256dh, sub.keys.auth],
      'TURN credential': [turn!.credential!, TURN_SECRET],
    };
    const escaped = (v: string) => JSON.stringify(v).slice(1, -1); // as it would appear inside a JSON line
    const found: string[] = [];
    for (const line of lines) {
      for (const [what, values] of Object.entries(secrets)) for (const v of values) if (line.includes(v) || line.includes(escaped(v))) found.push(`${what} in: ${line}`);
    }
    expect(found).toEqual([]);

    const withAddress = lines.filter((l) => l.includes(CLIENT));
    const addressKeys = lines.filter((l) => /"(ip|remoteAddress|remotePort)":/.test(l));
    if (addressesAllowed) {
      // The same run with addresses on: the request lines, the failed sign-in and the refused handshake name the client.
      expect(withAddress.length).toBeGreaterThanOrEqual(10);
      expect(withAddress.some((l) => l.includes('sign-in failed'))).toBe(true);
      expect(withAddress.some((l) => l.includes('too many connection attempts'))).toBe(true);
    } else {
      expect(withAddress).toEqual([]);
      expect(addressKeys).toEqual([]);
      // Still the same story, without the addresses.
      expect(lines.some((l) => l.includes('sign-in failed'))).toBe(true);
      expect(lines.some((l) => l.includes('too many connection attempts'))).toBe(true);
    }
    const requests = lines.filter((l) => l.includes('"incoming request"')).length;
    console.log(`LOG_IPS=${logIps}: ${lines.length} log lines checked (${requests} requests), ${Object.values(secrets).flat().length} secret values, ${withAddress.length} lines with the client address`);
    expect(lines.length).toBeGreaterThan(30);
  });
});

describe('addresses inside message text (coturn\'s forwarded lines) with LOG_IPS=0', () => {
  it('are replaced, IPv4 and IPv6 with ports; times and versions of two parts stay', () => {
    const line = 'session 001: realm <parley> user <1764600000:alex>: incoming packet ALLOCATE processed, success, remote 198.51.100.7:51000, relay [2001:db8::4:1]:49152, peer fe80::1ff:fe23:4567:890a at 12:30:45 v4.6';
    const out = withoutAddresses(line);
    for (const a of ['198.51.100.7', '2001:db8::4:1', 'fe80::1ff:fe23:4567:890a']) expect(out).not.toContain(a);
    expect(out).toContain('12:30:45');
    expect(out).toContain('v4.6');
    expect(out).toContain('user <1764600000:alex>');
  });
});
