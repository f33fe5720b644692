import { randomUUID } from 'node:crypto';
import {
  ApiError,
  CALL_CLIENT_SCHEMAS,
  ChangePasswordRequest,
  CreateUserRequest,
  LoginRequest,
  MarkRead,
  OpenConversationRequest,
  PresenceSubscription,
  PushSubscriptionRequest,
  PushUnsubscribeRequest,
  ResetPasswordRequest,
  SendMessage,
  SyncRequest,
  UpdateUserRequest,
  LIMITS,
} from '@parley/protocol';
import fc from 'fast-check';
import { io as ioClient } from 'socket.io-client';
import type { ZodType } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer, type TestSocket } from '../testing/harness.ts';
import { asReceived, hostileValue, mutated } from './arbitraries.ts';

/**
 * Issue 10's fuzz suite: well over 10,000 generated payloads per run, across every client socket
 * event, every REST body and query, and the socket handshake, against one real server. For each:
 * no crash, no `internal`, an acknowledgement or response that is a typed error (or a success),
 * and a `bad_request` whenever the protocol's own schema refuses the payload. Meanwhile two other
 * people keep messaging each other, and every one of their messages arrives and is stored once.
 *
 * The budgets are lifted (a flood is realtime/flood.test.ts's subject), so payloads get past the
 * rate limiter and reach validation and the handlers.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const RUNS = { socket: 9_000, rest: 2_500, handshake: 150 };
const LIFTED = '1000000/1000000';

/** A query or path segment from any generated value (String() throws on an object whose toString is data). */
const text = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));

/** encodeURIComponent, except that a lone surrogate is sent as the invalid UTF-8 it would be, not thrown on. */
const enc = (v: unknown): string => {
  try {
    return encodeURIComponent(text(v));
  } catch {
    return `${encodeURIComponent(text(v).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, ''))}%ED%A0%80`;
  }
};

const counts = { socket: 0, rest: 0, handshake: 0, codes: new Map<string, number>() };
const tally = (code: string) => counts.codes.set(code, (counts.codes.get(code) ?? 0) + 1);

function expectTypedFailure(res: unknown, what: string): string {
  const parsed = ApiError.safeParse(res);
  expect(parsed.success, `${what}: not a typed error: ${JSON.stringify(res)?.slice(0, 300)}`).toBe(true);
  const code = parsed.success ? parsed.data.error.code : 'untyped';
  expect(code, `${what}: internal error`).not.toBe('internal');
  return code;
}

describe(`protocol fuzz (fast-check, seed ${SEED})`, () => {
  let s: TestServer;
  let fuzzCookie: string;
  let fuzzer: TestSocket;
  let fuzzerId: string;
  let danaCookie: string;
  let danaSocket: TestSocket;
  let noorSocket: TestSocket;
  let noorId: string;
  let danaNoorConversation: string;
  let fuzzNoorConversation: string;
  let throwawayId: string;
  const pings: string[] = [];
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  /** Dana messages Noor; Noor hears it. The server is still serving everyone else. */
  async function ping() {
    const id = randomUUID();
    const heard = nextEvent(noorSocket, 'message.new', 5000);
    const ack = await danaSocket.timeout(5000).emitWithAck('message.send', { id, conversationId: danaNoorConversation, body: `ping ${pings.length}` });
    expect(ack.ok, JSON.stringify(ack)).toBe(true);
    expect((await heard).message.id).toBe(id);
    pings.push(id);
    expect((await s.request('GET', '/healthz')).status).toBe(200);
  }

  beforeAll(async () => {
    s = await startTestServer({
      env: {
        RATE_LIMIT_CHAT: LIFTED,
        RATE_LIMIT_INVITE: LIFTED,
        RATE_LIMIT_SIGNALLING: LIFTED,
        RATE_LIMIT_STATS: LIFTED,
        RATE_LIMIT_OTHER: LIFTED,
        RATE_LIMIT_REST: LIFTED,
        SOCKET_CONNECTS_PER_ADDRESS: '1000000',
      },
    });
    const admin = await s.login('admin@example.com');
    const fuzzPassword = 'fuzz-admin-password-9f3k';
    for (const [email, name] of [['fuzz@example.com', 'Fuzz Admin'], ['throwaway@example.com', 'Throw Away']] as const) {
      const created = await s.request('POST', '/api/admin/users', { cookie: admin, body: { name, email, role: 'admin', password: fuzzPassword } });
      expect(created.status).toBe(201);
      if (email === 'throwaway@example.com') throwawayId = created.body.user.id;
      else fuzzerId = created.body.user.id;
    }
    fuzzCookie = await s.login('fuzz@example.com', fuzzPassword);
    const [dana, noor] = await Promise.all([s.login('doctor@example.com'), s.login('nurse@example.com')]);
    noorId = (await s.request('GET', '/api/me', { cookie: noor })).body.user.id;
    danaNoorConversation = (await s.request('POST', '/api/conversations', { cookie: dana, body: { userId: noorId } })).body.conversation.id;
    fuzzNoorConversation = (await s.request('POST', '/api/conversations', { cookie: fuzzCookie, body: { userId: noorId } })).body.conversation.id;
    danaCookie = dana;
    [fuzzer, danaSocket, noorSocket] = await Promise.all([s.connect(fuzzCookie, { deviceId: 'fuzz-device' }), s.connect(dana), s.connect(noor)]);
    await ping();
  });

  afterAll(async () => {
    // Written where a run leaves them, so a failure's counts are visible too.
    const codes = [...counts.codes.entries()].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    console.log(
      `fuzz seed ${SEED}: ${counts.socket + counts.rest + counts.handshake} payloads (socket ${counts.socket}, REST ${counts.rest}, handshake ${counts.handshake}); outcomes: ${codes}`,
    );
    await s?.close();
  });

  it('every socket event: a typed answer for each payload, bad_request whenever the schema refuses it', async () => {
    const ids = fc.oneof(fc.uuid(), fc.constantFrom(noorId, fuzzerId, throwawayId, danaNoorConversation, fuzzNoorConversation));
    const callBase = { callId: fc.uuid(), deviceId: fc.constantFrom('fuzz-device', 'another-device') };
    /** Decision 020's optional fields: a ringing device that pre-connects, a signal named for one device. */
    const optional = <T extends Record<string, fc.Arbitrary<unknown>>>(fields: T, extra: Record<string, fc.Arbitrary<unknown>>) =>
      fc.record({ ...fields, ...extra }, { requiredKeys: Object.keys(fields) as (keyof T & string)[] });
    const toDevice = { toDeviceId: fc.constantFrom('fuzz-device', 'another-device', 'noor-device') };
    const sdp = fc.constantFrom('v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n', 'garbage', 'v=0');
    const candidate = fc.record({ candidate: fc.constantFrom('candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host', ''), sdpMid: fc.constantFrom('0', null), sdpMLineIndex: fc.constantFrom(0, null) });
    const quality = fc.record({ path: fc.constantFrom('direct', 'relay'), protocol: fc.constantFrom('udp', 'tcp', 'tls'), rttMs: fc.constantFrom(12, null), lossPct: fc.constantFrom(0, null) });
    const resume = fc.record({ ...callBase, role: fc.constantFrom('caller', 'callee'), peerUserId: ids, peerDeviceId: fc.constantFrom('noor-device', 'x'), kind: fc.constantFrom('audio', 'video'), answeredAt: fc.constant(Date.now() - 1000) });
    const events: Record<string, { schema: ZodType; template: fc.Arbitrary<Record<string, unknown>> }> = {
      'message.send': { schema: SendMessage, template: fc.record({ id: fc.uuid(), conversationId: fc.constantFrom(fuzzNoorConversation, danaNoorConversation, randomUUID()), body: fc.string({ minLength: 1, maxLength: 40 }) }) },
      'conversation.read': { schema: MarkRead, template: fc.record({ conversationId: fc.constantFrom(fuzzNoorConversation, danaNoorConversation), seq: fc.nat(10) }) },
      'chat.sync': { schema: SyncRequest, template: fc.record({ cursors: fc.dictionary(ids, fc.nat(5), { maxKeys: 3 }) }) },
      'presence.subscribe': { schema: PresenceSubscription, template: fc.record({ userIds: fc.array(ids, { minLength: 1, maxLength: 3 }) }) },
      'presence.unsubscribe': { schema: PresenceSubscription, template: fc.record({ userIds: fc.array(ids, { minLength: 1, maxLength: 3 }) }) },
      'call.invite': { schema: CALL_CLIENT_SCHEMAS['call.invite'], template: fc.record({ ...callBase, toUserId: ids, kind: fc.constantFrom('audio', 'video') }) },
      'call.ringing': { schema: CALL_CLIENT_SCHEMAS['call.ringing'], template: optional(callBase, { preconnect: fc.boolean() }) },
      'call.accept': { schema: CALL_CLIENT_SCHEMAS['call.accept'], template: fc.record(callBase) },
      'call.reject': { schema: CALL_CLIENT_SCHEMAS['call.reject'], template: fc.record({ ...callBase, reason: fc.constantFrom('declined', 'busy', 'media_failed', 'internal_error') }) },
      'call.cancel': { schema: CALL_CLIENT_SCHEMAS['call.cancel'], template: fc.record({ ...callBase, reason: fc.constantFrom('cancelled', 'no_answer') }) },
      'call.offer': { schema: CALL_CLIENT_SCHEMAS['call.offer'], template: optional({ ...callBase, sdp }, toDevice) },
      'call.answer': { schema: CALL_CLIENT_SCHEMAS['call.answer'], template: optional({ ...callBase, sdp }, toDevice) },
      'call.ice': { schema: CALL_CLIENT_SCHEMAS['call.ice'], template: optional({ ...callBase, candidate: fc.option(candidate, { nil: null }) }, toDevice) },
      'call.hangup': { schema: CALL_CLIENT_SCHEMAS['call.hangup'], template: fc.record({ ...callBase, reason: fc.constantFrom('user_hangup', 'media_failed') }) },
      'call.resume': { schema: CALL_CLIENT_SCHEMAS['call.resume'], template: resume },
      'call.stats': { schema: CALL_CLIENT_SCHEMAS['call.stats'], template: fc.record({ ...callBase, quality }) },
    };
    // Every event the protocol declares for clients is fuzzed (a new one without a generator fails here).
    expect(Object.keys(events).filter((e) => e.startsWith('call.')).sort()).toEqual(Object.keys(CALL_CLIENT_SCHEMAS).sort());

    const names = Object.keys(events);
    // A frame over the socket's limit closes that socket by design (chat-socket.test.ts proves it
    // and that the server goes on serving); a few nested 20,000-character values make one, so
    // those payloads are left out here, where every payload must get an answer.
    const fitsAFrame = ({ event, payload }: { event: string; payload: unknown }) => Buffer.byteLength(JSON.stringify([event, payload, 'extra'])) < LIMITS.socketFrameMaxBytes - 64;
    const payloadFor = fc
      .constantFrom(...names)
      .chain((event) => events[event]!.template.chain(mutated).map((payload) => ({ event, payload: asReceived(payload) })))
      .filter(fitsAFrame);
    await fc.assert(
      fc.asyncProperty(payloadFor, fc.boolean(), async ({ event, payload }, withExtraArg) => {
        counts.socket++;
        if (counts.socket % 1500 === 0) await ping();
        const args: unknown[] = withExtraArg ? [payload, 'extra'] : [payload];
        const emitted = fuzzer.timeout(5000) as unknown as { emitWithAck(e: string, ...a: unknown[]): Promise<unknown> };
        const ack = (await emitted.emitWithAck(event, ...args)) as { ok?: unknown };
        expect(typeof ack.ok, `${event} ${JSON.stringify(payload)?.slice(0, 200)}: ${JSON.stringify(ack)}`).toBe('boolean');
        const schemaOk = events[event]!.schema.safeParse(payload).success;
        if (ack.ok === true) {
          expect(schemaOk, `${event} accepted a payload the protocol refuses: ${JSON.stringify(payload)?.slice(0, 200)}`).toBe(true);
          tally('ok');
          return;
        }
        const code = expectTypedFailure(ack, `${event} ${JSON.stringify(payload)?.slice(0, 200)}`);
        tally(code);
        if (!schemaOk) expect(code, `${event} ${JSON.stringify(payload)?.slice(0, 200)}`).toBe('bad_request');
      }),
      { seed: SEED, numRuns: RUNS.socket, endOnFailure: true },
    );
    // Events that are not in the protocol, and events without an acknowledgement, are ignored: the socket keeps serving.
    for (let i = 0; i < 200; i++) {
      const raw = fuzzer as unknown as { emit(e: string, ...a: unknown[]): void };
      raw.emit(i % 2 ? `no.such.event.${i}` : names[i % names.length]!, { i });
      counts.socket++;
    }
    const after = await fuzzer.timeout(5000).emitWithAck('presence.subscribe', { userIds: [noorId] });
    expect(after).toEqual({ ok: true, online: { [noorId]: true } });
    expect(fuzzer.connected).toBe(true);
    await ping();
  }, 600_000);

  it('every REST body, path id and query: never a 5xx, always a typed error, 400 when the schema refuses a body', async () => {
    const id = fc.oneof(fc.uuid(), fc.constant(throwawayId), hostileValue.map(text));
    const body = <T extends Record<string, unknown>>(arb: fc.Arbitrary<T>) => arb.chain(mutated).map(asReceived);
    interface Route {
      method: string;
      path: fc.Arbitrary<string>;
      body?: fc.Arbitrary<unknown>;
      schema?: ZodType;
    }
    const routes: Route[] = [
      { method: 'POST', path: fc.constant('/api/auth/login'), schema: LoginRequest, body: body(fc.record({ email: fc.constantFrom('doctor@example.com', 'nobody@example.com'), password: fc.string({ minLength: 1, maxLength: 30 }) })) },
      { method: 'POST', path: fc.constant('/api/auth/password'), schema: ChangePasswordRequest, body: body(fc.record({ currentPassword: fc.string({ minLength: 1, maxLength: 30 }), newPassword: fc.string({ maxLength: 40 }) })) },
      { method: 'POST', path: fc.constant('/api/admin/users'), schema: CreateUserRequest, body: body(fc.record({ name: fc.string({ maxLength: 30 }), email: fc.emailAddress(), role: fc.constantFrom('admin', 'doctor', 'nurse', 'janitor'), password: fc.string({ maxLength: 40 }) })) },
      { method: 'PATCH', path: id.map((i) => `/api/admin/users/${enc(i)}`), schema: UpdateUserRequest, body: body(fc.record({ name: fc.string({ maxLength: 30 }), role: fc.constantFrom('doctor', 'nurse'), active: fc.boolean() }, { requiredKeys: [] })) },
      { method: 'POST', path: id.map((i) => `/api/admin/users/${enc(i)}/password`), schema: ResetPasswordRequest, body: body(fc.record({ password: fc.string({ maxLength: 40 }) })) },
      { method: 'POST', path: fc.constant('/api/conversations'), schema: OpenConversationRequest, body: body(fc.record({ userId: fc.oneof(fc.uuid(), fc.constant(noorId)) })) },
      { method: 'POST', path: fc.constant('/api/push/subscriptions'), schema: PushSubscriptionRequest, body: body(fc.record({ endpoint: fc.constantFrom('https://push.example.com/abc', 'http://127.0.0.1/x', 'https://10.0.0.1/x'), keys: fc.record({ p256dh: fc.base64String({ maxLength: 88 }), auth: fc.base64String({ maxLength: 24 }) }) })) },
      { method: 'DELETE', path: fc.constant('/api/push/subscriptions'), schema: PushUnsubscribeRequest, body: body(fc.record({ endpoint: fc.constantFrom('https://push.example.com/abc', '') })) },
      { method: 'POST', path: id.map((i) => `/api/calls/${enc(i)}/decline`) },
      { method: 'GET', path: id.map((i) => `/api/calls/${enc(i)}/ringing`) },
      { method: 'GET', path: hostileValue.map((q) => `/api/users?q=${enc(q)}`) },
      { method: 'GET', path: fc.tuple(fc.oneof(fc.constant(fuzzNoorConversation), id), hostileValue, hostileValue).map(([c, b, l]) => `/api/conversations/${enc(c)}/messages?before=${enc(b)}&limit=${enc(l)}`) },
      { method: 'GET', path: hostileValue.map((p) => `/api/${enc(p)}`) },
    ];
    // Not only JSON: broken JSON, other content types, a body over the limit.
    const raw = fc.oneof(
      fc.constant(undefined),
      fc.record({ text: fc.string({ maxLength: 200 }), type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16') }),
      fc.constant({ text: `{"email":"${'a'.repeat(70_000)}"}`, type: 'application/json' }),
      fc.constant({ text: '{"a":'.repeat(5000), type: 'application/json' }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes).chain((r) => fc.record({ r: fc.constant(r), path: r.path, payload: r.body ?? fc.constant(undefined), raw })), async ({ r, path, payload, raw: rawBody }) => {
        counts.rest++;
        if (counts.rest % 1000 === 0) await ping();
        const asRaw = rawBody !== undefined && r.method !== 'GET';
        const res = await s.request(r.method, path, {
          cookie: fuzzCookie,
          ...(asRaw ? { raw: rawBody.text, headers: { 'content-type': rawBody.type } } : r.method !== 'GET' && payload !== undefined ? { body: payload } : {}),
        });
        const what = `${r.method} ${path.slice(0, 120)} ${asRaw ? `raw ${rawBody.type}` : JSON.stringify(payload)?.slice(0, 200)} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 200)}`;
        expect(res.status, what).toBeLessThan(500);
        if (res.status < 400) {
          tally(`http ${res.status}`);
          return;
        }
        const code = expectTypedFailure(res.body, what);
        tally(code);
        // A JSON body the protocol refuses, on a route the fuzzer may use with a well-formed id, is a 400.
        const pathIdOk = !/\/api\/admin\/users\/|\/api\/calls\//.test(path) || /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\/|$)/.test(path);
        if (!asRaw && r.schema && payload !== undefined && !r.schema.safeParse(payload).success && pathIdOk) {
          expect(['bad_request', 'rate_limited'], what).toContain(code);
        }
      }),
      { seed: SEED, numRuns: RUNS.rest, endOnFailure: true },
    );
    // The fuzzer's own session survived its requests (it never signs itself out).
    expect((await s.request('GET', '/api/me', { cookie: fuzzCookie })).status).toBe(200);
    await ping();
  }, 600_000);

  it('what the fuzzer found: the router and the HTTP parser refuse with a typed body too', async () => {
    // A path parameter over Fastify's maxParamLength (100) was a 414 with Fastify's untyped body.
    const long = await s.request('POST', `/api/admin/users/${'a'.repeat(150)}/password`, { cookie: fuzzCookie, body: { password: 'x' } });
    expect(long.status).toBe(414);
    expect(ApiError.parse(long.body).error.code).toBe('not_found');
    // A request line over Node's 16 KiB header limit was a 431 with Fastify's untyped body.
    const huge = await s.request('GET', `/api/users?q=${'b'.repeat(20_000)}`, { cookie: fuzzCookie });
    expect(huge.status).toBe(431);
    expect(ApiError.parse(huge.body).error.code).toBe('payload_too_large');
    await ping();
  });

  it('the socket handshake: any auth object either connects or is refused with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(hostileValue, fc.boolean(), async (auth, withCookie) => {
        counts.handshake++;
        const socket = ioClient(s.url, {
          transports: ['websocket'],
          extraHeaders: { origin: s.url, ...(withCookie ? { cookie: fuzzCookie } : {}) },
          auth: (auth !== null && typeof auth === 'object' && !Array.isArray(auth) ? asReceived(auth) : { deviceId: auth }) as Record<string, unknown>,
          reconnection: false,
          forceNew: true,
        });
        try {
          const outcome = await new Promise<string>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('handshake neither connected nor refused in 5 s')), 5000);
            socket.once('connect', () => (clearTimeout(t), resolve('connected')));
            socket.once('connect_error', (err) => (clearTimeout(t), resolve(`refused: ${err.message}`)));
          });
          if (withCookie) expect(outcome).toBe('connected');
          else expect(outcome).toMatch(/^refused: .+/);
          tally(withCookie ? 'handshake connected' : 'handshake refused');
        } finally {
          socket.disconnect();
        }
      }),
      { seed: SEED, numRuns: RUNS.handshake, endOnFailure: true },
    );
    await ping();
  }, 300_000);

  it('nothing was lost or polluted: every ping stored once, Object.prototype untouched', async () => {
    const stored = await s.request('GET', `/api/conversations/${danaNoorConversation}/messages?limit=100`, { cookie: danaCookie });
    expect(stored.status).toBe(200);
    const ids = (stored.body.messages as { id: string }[]).map((m) => m.id);
    expect(ids.filter((i) => pings.includes(i)).sort()).toEqual([...pings].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(counts.socket + counts.rest + counts.handshake).toBeGreaterThanOrEqual(10_000);
  });
});
