import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './postgres.ts';

/** The shipped configuration; the tests run this file, with ports and upstreams filled in. */
export const SHIPPED_NGINX_CONF = path.resolve(import.meta.dirname, '../../../../deploy/nginx/parley.conf');

export interface TestNginx {
  url: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * The shipped file for a test: `listen 443 ssl` becomes plain HTTP on `port`, the certificate lines
 * go, and the upstream holds `upstreams`. `first`: the first is preferred, the rest are `backup`, so
 * which node a client lands on is deterministic (A while it is up, then B); `round-robin`: as
 * shipped, connections spread over the nodes.
 */
export function templateShippedConf(conf: string, port: number, upstreams: string[], balance: 'first' | 'round-robin' = 'first'): string {
  const servers = upstreams.map((u, i) => `    server ${u} max_fails=1 fail_timeout=2s${i > 0 && balance === 'first' ? ' backup' : ''};`).join('\n');
  const out = conf
    .replace(/upstream parley \{[^}]*\}/, `upstream parley {\n${servers}\n}`)
    .replace(/listen 443 ssl;/, `listen 127.0.0.1:${port};`)
    .replace(/^\s*ssl_certificate.*$/gm, '');
  if (!out.includes(`listen 127.0.0.1:${port};`) || !out.includes(upstreams[0]!)) throw new Error('deploy/nginx/parley.conf no longer has the shape the tests fill in');
  return out;
}

/**
 * nginx as a child of the test, single process (`master_process off`) under `setpriv --pdeathsig`
 * so it dies with the test; pid, logs and temp folders inside its own folder.
 */
export async function startNginx(upstreams: string[], balance: 'first' | 'round-robin' = 'first'): Promise<TestNginx> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nginx-'));
  const port = await freePort();
  const site = templateShippedConf(fs.readFileSync(SHIPPED_NGINX_CONF, 'utf8'), port, upstreams, balance);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${path.join(dir, t)};`).join('\n');
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      'daemon off;',
      'master_process off;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      `error_log ${path.join(dir, 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      `    access_log off;`,
      temp,
      site,
      '}',
    ].join('\n'),
  );
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'nginx', '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const output = () => {
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      /* not written yet */
    }
    return (out + log).slice(-8000);
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited early (is it installed? apt-get install nginx):\n${output()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start within 10 s:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
