import fs from 'node:fs';
import path from 'node:path';
import { buildApp } from './app.ts';
import type { ManagedTurn } from './context.ts';
import { ConfigError, loadConfig, type Config } from './env.ts';
import { findTurnserver, ManagedCoturn } from './features/rtc/managed-coturn.ts';
import { createLogger } from './lib/log.ts';
import { lanAddresses, selfSignedCertificate, terminalQr } from './lib/lan.ts';

let config: Config;
try {
  config = loadConfig(process.env, process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

const log = createLogger({ level: config.logLevel, ips: config.logIps });

/** TURN_MODE=auto without TURN_URLS: run coturn beside Parley when it is installed. */
async function startManagedTurn(): Promise<{ coturn: ManagedCoturn; turn: ManagedTurn } | undefined> {
  if (config.turnMode !== 'auto' || config.ice.turnUrls.length > 0) return undefined;
  const bin = findTurnserver();
  if (!bin) {
    console.warn(
      [
        'No TURN relay: calls between devices on different networks will often fail.',
        '  Install coturn (Debian/Ubuntu: sudo apt-get install coturn) and restart Parley to have it',
        '  start one, or point TURN_URLS and TURN_SECRET at your own (docs/deploy.md).',
      ].join('\n'),
    );
    return undefined;
  }
  const coturn = new ManagedCoturn({ bin, port: config.turnPort, realm: 'parley', log });
  try {
    await coturn.start();
  } catch (err) {
    log.error({ err }, 'managed coturn did not start; continuing without TURN');
    await coturn.stop();
    return undefined;
  }
  const port = config.turnPort;
  const host = (h: string) => (h.includes(':') ? `[${h}]` : h);
  return {
    coturn,
    turn: { secret: coturn.secret, urlsFor: (h) => [`turn:${host(h)}:${port}?transport=udp`, `turn:${host(h)}:${port}?transport=tcp`] },
  };
}

async function tlsOptions(): Promise<{ key: string; cert: string } | undefined> {
  const tls = config.tls;
  if (!tls) return undefined;
  if (tls.kind === 'files') return { key: fs.readFileSync(tls.keyFile, 'utf8'), cert: fs.readFileSync(tls.certFile, 'utf8') };
  const dir = path.resolve('data/tls');
  const made = await selfSignedCertificate(dir, lanAddresses());
  if (made.created) log.info({ dir }, 'generated a self-signed certificate for this machine');
  return made;
}

const managed = await startManagedTurn();
const https = await tlsOptions();
const { app, ctx, demoUsersCreated: created } = await buildApp(config, { logger: log, seedDemoUsers: config.demoUsers, ...(managed ? { managedTurn: managed.turn } : {}), ...(https ? { https } : {}) });
if (managed) app.addHook('onClose', () => managed.coturn.stop());

if (created.length > 0) {
  app.log.info({ users: created.map((u) => u.email) }, 'demo users created');
  console.log(['', 'Demo accounts (password "parley-demo-pass"):', ...created.map((u) => `  ${u.name.padEnd(12)} ${u.email.padEnd(20)} ${u.role}`), ''].join('\n'));
}

const cleanup = setInterval(() => void ctx.sessions.deleteExpired().catch((err: unknown) => app.log.warn({ err }, 'session cleanup failed')), 3600_000);
cleanup.unref();

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

const address = await app.listen({ host: config.host, port: config.port });
const everywhere = config.host === '0.0.0.0' || config.host === '::';
const shown = everywhere ? address.replace(/\/\/[^:]+:/, '//localhost:') : address;
console.log(`Parley is running on ${shown}${managed ? ` (TURN relay: coturn on port ${config.turnPort})` : ''}`);
if (https && everywhere) {
  const port = new URL(address).port;
  const urls = lanAddresses().map((ip) => `https://${ip}:${port}`);
  if (urls.length > 0) {
    console.log(['', 'On a phone or another computer on this network, open:', ...urls.map((u) => `  ${u}`)].join('\n'));
    if (config.tls?.kind === 'self-signed') console.log('  (a self-signed certificate: accept the browser warning once)');
    console.log(await terminalQr(urls[0]!));
  }
}
