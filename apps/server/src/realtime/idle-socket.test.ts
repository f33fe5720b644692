// What an idle socket keeps on the server (docs/performance.md, idle capacity): no listener per
// event, ids instead of the session's user, and nothing of the handshake's HTTP request.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.ts';

describe('an idle socket on the server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  it('holds one middleware and its disconnect listener, ids in socket.data, no handshake copy and no upgrade request; its events are still answered', async () => {
    const cookie = await s.login('doctor@example.com');
    const client = await s.connect(cookie, { deviceId: 'idle-test-device' });
    const [socket] = [...s.ctx.realtime.io.sockets.sockets.values()];
    expect(socket).toBeDefined();
    const eventNames = socket!.eventNames().map(String).sort();
    // socket.io's own no-op 'error' listener, and Parley's one 'disconnect' listener: no per-event closures.
    expect(eventNames).toEqual(['disconnect', 'error']);
    expect(socket!.listeners('disconnect')).toHaveLength(1);
    expect(Object.keys(socket!.data).sort()).toEqual(['deviceId', 'name', 'sessionId', 'userId']);
    expect(socket!.data).toMatchObject({ deviceId: 'idle-test-device', name: expect.any(String) as string });
    expect(socket!.request).toBeNull();
    // The handshake was read (auth.deviceId) and dropped: no per-socket copy of the query, date and auth.
    expect(socket!.handshake).toMatchObject({ auth: {}, query: {}, time: '' });
    expect(Object.isFrozen(socket!.handshake)).toBe(true);
    // engine.io's stand-in response of the WebSocket upgrade stays reachable from the TCP socket's
    // close listener for the connection's life: it must no longer hold the upgrade request.
    const tcp = (socket!.conn as unknown as { transport: { socket: { _socket: NodeJS.EventEmitter } } }).transport.socket._socket;
    const retained = tcp.listeners('close').filter((l) => /this\.emit\("close"\)/.test(String(l)));
    expect(retained).toHaveLength(1);
    // The stand-in is reachable only inside that listener's closure: call it with EventEmitter's
    // emit intercepted, to see the object it emits on (the 'close' goes no further).
    let response: { req?: IncomingMessage | null } | undefined;
    const emit = EventEmitter.prototype.emit;
    EventEmitter.prototype.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
      if (event !== 'close') return emit.call(this, event, ...args);
      response = this as typeof response;
      return false;
    };
    try {
      (retained[0] as () => void)();
    } finally {
      EventEmitter.prototype.emit = emit;
    }
    expect(response).toBeDefined();
    expect(response!.req).toBeNull();
    // The router still answers the events the features registered.
    const ack = (await client.emitWithAck('presence.subscribe', { userIds: [socket!.data.userId] })) as { ok: boolean; online: Record<string, boolean> };
    expect(ack).toEqual({ ok: true, online: { [socket!.data.userId]: true } });
    client.disconnect();
  });
});
