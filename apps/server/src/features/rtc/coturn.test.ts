import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../testing/postgres.ts';
import { allocate } from '../../testing/turn-client.ts';
import { stunAnswers } from '../../lib/stun-probe.ts';
import { DENIED_PEER_RANGES } from './coturn-hardening.ts';
import { mintTurnCredential } from './ice-config.ts';
import { findTurnserver, ManagedCoturn } from './managed-coturn.ts';

const SHIPPED = path.resolve(import.meta.dirname, '../../../../../deploy/coturn/turnserver.conf');
const bin = findTurnserver();
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
/** Private, loopback, link-local (cloud metadata), CGNAT and multicast targets a TURN client may ask for. */
const FORBIDDEN = ['127.0.0.1', '10.0.0.5', '172.16.3.4', '192.168.1.10', '169.254.169.254', '100.64.0.1', '0.0.0.1', '224.0.0.1'];
/** Permissions send nothing to the peer, so a public address is a safe positive control. */
const PUBLIC = '8.8.8.8';

describe('deploy/coturn/turnserver.conf as shipped', () => {
  const conf = fs.readFileSync(SHIPPED, 'utf8');
  const settings = conf.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

  it('uses ephemeral credentials, TLS, and every hardening setting; never a static user or stun-only', () => {
    for (const s of ['use-auth-secret', 'fingerprint', 'no-cli', 'no-multicast-peers', 'tls-listening-port=5349', 'no-tlsv1', 'no-tlsv1_1']) {
      expect(settings, s).toContain(s);
    }
    expect(settings.some((l) => l.startsWith('cert=')) && settings.some((l) => l.startsWith('pkey='))).toBe(true);
    expect(settings.some((l) => /^(user|lt-cred-mech|stun-only|allow-loopback-peers|no-auth)(=|\s*$)/.test(l))).toBe(false);
    expect(settings.some((l) => /^(user-quota|total-quota)=\d+/.test(l))).toBe(true);
  });

  it('denies every range the server knows, IPv4 and IPv6, including 0.0.0.0/8 and ::ffff:0:0/96', () => {
    const denied = settings.filter((l) => l.startsWith('denied-peer-ip=')).map((l) => l.slice('denied-peer-ip='.length));
    expect(denied).toEqual(DENIED_PEER_RANGES.map((r) => r.range));
    expect(denied).toContain('0.0.0.0-0.255.255.255');
    expect(denied).toContain('::ffff:0.0.0.0-::ffff:255.255.255.255');
  });
});

describe.skipIf(!bin)('coturn with the shipped settings refuses to relay into private networks', () => {
  let child: ChildProcess;
  let dir: string;
  let port: number;
  const secret = 'test-secret-0123456789abcdef';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-coturn-test-'));
    port = await freePort();
    // The shipped file, less what names the production host; plus loopback listening for the test.
    const shipped = fs.readFileSync(SHIPPED, 'utf8').split('\n').filter((l) => !/^(cert|pkey|static-auth-secret|realm|listening-port|tls-listening-port)=/.test(l));
    const conf = [...shipped, `listening-port=${port}`, 'listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', `static-auth-secret=${secret}`, 'realm=parley.test', 'no-tls', 'no-dtls', 'log-file=stdout', `pidfile=${dir}/turn.pid`, `userdb=${dir}/turn.db`];
    fs.writeFileSync(path.join(dir, 'turnserver.conf'), conf.join('\n'));
    child = spawn(bin!, ['-c', path.join(dir, 'turnserver.conf')], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await stunAnswers('127.0.0.1', port, 300))) if (Date.now() > deadline) throw new Error('coturn did not start');
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('allocates with a Parley-minted credential and answers 403 for private and loopback peers', async () => {
    const turn = await allocate({ host: '127.0.0.1', port }, mintTurnCredential(secret, 'user-1', inAnHour()));
    try {
      expect(turn.relayed.ip).toBe('127.0.0.1');
      for (const ip of FORBIDDEN) expect(await turn.createPermission(ip), ip).toMatchObject({ status: 403 });
      expect(await turn.createPermission(PUBLIC)).toEqual({ status: 200 });
    } finally {
      turn.close();
    }
  });

  it('refuses a wrong or expired credential', async () => {
    await expect(allocate({ host: '127.0.0.1', port }, mintTurnCredential('not-the-secret-at-all', 'user-1', inAnHour()))).rejects.toMatchObject({ status: 401 });
    await expect(allocate({ host: '127.0.0.1', port }, mintTurnCredential(secret, 'user-1', Math.floor(Date.now() / 1000) - 10))).rejects.toMatchObject({ status: 401 });
  });
});

describe.skipIf(!bin)('managed coturn', () => {
  it('starts hardened with a generated secret, restarts when it dies, stops on shutdown', async () => {
    const port = await freePort();
    const coturn = new ManagedCoturn({ bin: bin!, port, listeningIps: ['127.0.0.1'], relayIp: '127.0.0.1', realm: 'parley.test', log: pino({ level: 'silent' }), restartDelayMs: 100 });
    try {
      await coturn.start();
      expect(coturn.secret.length).toBeGreaterThanOrEqual(40);
      const turn = await allocate({ host: '127.0.0.1', port }, mintTurnCredential(coturn.secret, 'u', inAnHour()));
      expect(await turn.createPermission('127.0.0.1')).toMatchObject({ status: 403 });
      expect(await turn.createPermission('192.168.0.1')).toMatchObject({ status: 403 });
      expect(await turn.createPermission(PUBLIC)).toEqual({ status: 200 });
      turn.close();

      const firstPid = coturn.pid!;
      process.kill(firstPid, 'SIGKILL');
      const deadline = Date.now() + 10_000;
      while (!(coturn.pid !== firstPid && (await stunAnswers('127.0.0.1', port, 300)))) {
        if (Date.now() > deadline) throw new Error('coturn was not restarted');
        await new Promise((r) => setTimeout(r, 100));
      }
      const again = await allocate({ host: '127.0.0.1', port }, mintTurnCredential(coturn.secret, 'u', inAnHour()));
      again.close();
    } finally {
      await coturn.stop();
    }
    expect(await stunAnswers('127.0.0.1', port, 300)).toBe(false);
  });

  it('starts on every address even when the port above its own is taken (no RFC 5780 alternate port)', async () => {
    const port = await freePort();
    // What another process on this machine may hold: UDP and TCP on port + 1.
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => udp.once('error', reject).bind(port + 1, '127.0.0.1', resolve));
    const tcp = net.createServer();
    await new Promise<void>((resolve, reject) => tcp.once('error', reject).listen(port + 1, '127.0.0.1', resolve));
    const coturn = new ManagedCoturn({ bin: bin!, port, realm: 'parley.test', log: pino({ level: 'silent' }) });
    try {
      await coturn.start();
      expect(await stunAnswers('127.0.0.1', port, 300)).toBe(true);
    } finally {
      await coturn.stop();
      udp.close();
      tcp.close();
    }
  });
});
