import { io } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { freePort } from './testing/postgres.ts';
import { runMain } from './testing/run-main.ts';

describe('the server process', () => {
  it('shuts down cleanly on SIGTERM with browsers connected (their sockets are closed first)', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = await runMain({ PORT: String(port), PARLEY_DEMO_USERS: '1' });
    const res = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password: 'parley-demo-pass' }),
    });
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const socket = io(base, { transports: ['websocket'], extraHeaders: { cookie, origin: base }, reconnection: false });
    await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
    const disconnected = new Promise((r) => socket.once('disconnect', r));
    try {
      expect(await server.stop()).toBe(0);
      await disconnected;
    } finally {
      socket.close();
    }
  });
});
