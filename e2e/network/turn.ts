// coturn in the lab's `pub` namespace, with the hardened flags Parley ships, optionally with TLS
// on a self-signed certificate the LAN browsers are told to trust.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HARDENED_COTURN_FLAGS } from '../../apps/server/src/features/rtc/coturn-hardening.ts';
import { mintTurnCredential } from '../../apps/server/src/features/rtc/ice-config.ts';
import { SERVICE_IP, run, sleep, type LabProcess, type Namespaces } from './netns.ts';

export const TURN_PORT = 3478;
export const TURNS_PORT = 5349;

export interface LabTurn {
  readonly secret: string;
  readonly realm: string;
  /** stun:100.64.0.1:3478 — coturn answers STUN Binding on its TURN port. */
  readonly stunUrl: string;
  readonly urls: { udp: string; tcp: string; tls?: string };
  /** With TLS: base64 SHA-256 of the self-signed certificate's public key. */
  readonly tlsSpki?: string;
  /** Chromium flags a LAN browser needs to use this relay (trusting its self-signed TLS key); empty without TLS. */
  readonly browserArgs: readonly string[];
  /** TURN REST credentials, minted exactly as the server mints them (ice-config.ts). */
  credential(userId: string, ttlS?: number): { username: string; credential: string };
  /** Environment for a Parley server that hands out this relay (TURN_MODE=external). */
  serverEnv(urls?: readonly string[]): Record<string, string>;
  readonly process: LabProcess;
}

export interface TurnOptions {
  /** Also listen for TURN over TLS on 5349 with a self-signed certificate made by openssl. */
  tls?: boolean;
}

/** coturn in `pub` on 100.64.0.1:3478 (UDP and TCP), optionally TLS on 5349; resolves once it listens. */
export async function startTurn(spaces: Namespaces, options: TurnOptions = {}): Promise<LabTurn> {
  const secret = randomBytes(24).toString('base64url');
  const realm = 'parley.lab';
  const dir = await mkdtemp(path.join(spaces.dir, 'coturn-'));
  let tlsSpki: string | undefined;
  const lines = [
    `listening-ip=${SERVICE_IP}`,
    `relay-ip=${SERVICE_IP}`,
    `listening-port=${TURN_PORT}`,
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    `realm=${realm}`,
    'no-dtls',
    'log-file=stdout',
    'simple-log',
    `pidfile=${path.join(dir, 'turn.pid')}`,
    `userdb=${path.join(dir, 'turn.db')}`,
    ...HARDENED_COTURN_FLAGS.map((f) => f.slice(2)),
    // The hardening denies 100.64.0.0/10 (carrier-grade NAT), and the lab's "public" relay address
    // sits in it; without this exception every relay↔relay pair would be refused (403). A real
    // deployment relays from a public address that no denied range covers, so it needs no such line.
    // Only the relay address itself is allowed: the NATs' wan addresses stay denied, so through
    // TURN the lab can only connect relay↔relay, as across two real symmetric NATs.
    `allowed-peer-ip=${SERVICE_IP}`,
  ];
  if (options.tls) {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${SERVICE_IP}`, '-addext', `subjectAltName=IP:${SERVICE_IP}`,
    ]);
    lines.push(`tls-listening-port=${TURNS_PORT}`, `cert=${cert}`, `pkey=${key}`);
    // Chromium checks the TURN server's certificate (a self-signed one fails the TLS handshake);
    // browsers trust exactly this key with --ignore-certificate-errors-spki-list=<this hash>.
    const der = await run('sh', ['-c', `openssl x509 -pubkey -noout -in '${cert}' | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`]);
    tlsSpki = der.trim();
  } else {
    lines.push('no-tls');
  }
  const conf = path.join(dir, 'turnserver.conf');
  // A config file keeps the secret out of the process list, as managed coturn does.
  await writeFile(conf, lines.join('\n') + '\n', { mode: 0o600 });
  const proc = spaces.spawn('pub', 'turnserver', ['-c', conf], {}, 'coturn');

  const wanted = [`udp:${SERVICE_IP}:${TURN_PORT}`, `tcp:${SERVICE_IP}:${TURN_PORT}`, ...(options.tls ? [`tcp:${SERVICE_IP}:${TURNS_PORT}`] : [])];
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exited()) throw new Error(`coturn exited at start:\n${proc.output()}`);
    const listening = (await spaces.exec('pub', ['ss', '-Hlntu'])).split('\n').map((l) => {
      const [proto, , , , local] = l.trim().split(/\s+/);
      return `${proto}:${local}`;
    });
    if (wanted.every((w) => listening.includes(w))) break;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`coturn did not listen on ${wanted.join(', ')} within 10 s:\n${proc.output()}`);
    }
    await sleep(50);
  }

  const urls = {
    udp: `turn:${SERVICE_IP}:${TURN_PORT}`,
    tcp: `turn:${SERVICE_IP}:${TURN_PORT}?transport=tcp`,
    ...(options.tls ? { tls: `turns:${SERVICE_IP}:${TURNS_PORT}?transport=tcp` } : {}),
  };
  return {
    secret,
    realm,
    stunUrl: `stun:${SERVICE_IP}:${TURN_PORT}`,
    urls,
    ...(tlsSpki ? { tlsSpki, browserArgs: [`--ignore-certificate-errors-spki-list=${tlsSpki}`] } : { browserArgs: [] }),
    credential: (userId, ttlS = 3600) => mintTurnCredential(secret, userId, Math.floor(Date.now() / 1000) + ttlS),
    serverEnv: (turnUrls = [urls.udp, urls.tcp]) => ({
      STUN_URLS: `stun:${SERVICE_IP}:${TURN_PORT}`,
      TURN_URLS: turnUrls.join(','),
      TURN_SECRET: secret,
      TURN_MODE: 'external',
    }),
    process: proc,
  };
}
