import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stunAnswers } from '../../lib/stun-probe.ts';
import { freePort } from '../../testing/postgres.ts';
import { allocate } from '../../testing/turn-client.ts';
import { findTurnserver } from './managed-coturn.ts';

const MAIN = path.resolve(import.meta.dirname, '../../main.ts');

/** Runs the real server entry point; resolves once it says it is running, with its output so far. */
async function runServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, DATABASE_URL: ':memory:', HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'test', STUN_URLS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!out.includes('Parley is running')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    output: () => out,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function signIn(base: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@example.com', password: 'parley-demo' }),
  });
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('TURN_MODE=auto', () => {
  it.skipIf(!findTurnserver())('starts coturn beside Parley, hands out working credentials for it, and stops it on shutdown', async () => {
    const [port, turnPort] = [await freePort(), await freePort()];
    const server = await runServer({ PORT: String(port), TURN_PORT: String(turnPort) });
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
    const server = await runServer({ PORT: String(await freePort()), PATH: '/nonexistent' });
    try {
      expect(server.output()).toMatch(/No TURN relay: calls between devices on different networks/);
      expect(server.output()).toContain('apt-get install coturn');
    } finally {
      await server.stop();
    }
  });
});
