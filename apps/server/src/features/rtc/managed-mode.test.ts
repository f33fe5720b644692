import { describe, expect, it } from 'vitest';
import { stunAnswers } from '../../lib/stun-probe.ts';
import { freePort } from '../../testing/postgres.ts';
import { runMain } from '../../testing/run-main.ts';
import { allocate } from '../../testing/turn-client.ts';
import { findTurnserver } from './managed-coturn.ts';

async function signIn(base: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@example.com', password: 'parley-demo-pass' }),
  });
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('TURN_MODE=auto', () => {
  it.skipIf(!findTurnserver())('starts coturn beside Parley, hands out working credentials for it, and stops it on shutdown', async () => {
    const [port, turnPort] = [await freePort(), await freePort()];
    const server = await runMain({ PORT: String(port), TURN_PORT: String(turnPort), TURN_MODE: 'auto' });
    try {
      expect(server.output()).toContain(`TURN relay: coturn on port ${turnPort}`);
      const cookie = await signIn(`http://127.0.0.1:${port}`);
      const cfg = (await (await fetch(`http://127.0.0.1:${port}/api/rtc-config`, { headers: { cookie } })).json()) as { iceServers: { urls: string[]; username: string; credential: string }[] };
      const turn = cfg.iceServers.find((s) => s.urls[0]!.startsWith('turn:'))!;
      // The browser reached Parley at 127.0.0.1, so that is where its coturn is.
      expect(turn.urls).toEqual([`turn:127.0.0.1:${turnPort}?transport=udp`, `turn:127.0.0.1:${turnPort}?transport=tcp`]);
      const session = await allocate({ host: '127.0.0.1', port: turnPort }, turn);
      expect(await session.createPermission('127.0.0.1')).toMatchObject({ status: 403 });
      session.close();
    } finally {
      await server.stop();
    }
    expect(await stunAnswers('127.0.0.1', turnPort, 300)).toBe(false);
  });

  it('without coturn installed, says plainly that cross-network calls need TURN', async () => {
    const server = await runMain({ PORT: String(await freePort()), PATH: '/nonexistent', TURN_MODE: 'auto' });
    try {
      expect(server.output()).toMatch(/No TURN relay: calls between devices on different networks/);
      expect(server.output()).toContain('apt-get install coturn');
    } finally {
      await server.stop();
    }
  });
});
