import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { freePort } from '../testing/postgres.ts';
import { runMain } from '../testing/run-main.ts';
import { lanAddresses } from './lan.ts';

function get(url: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; cert: X509Certificate }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', rejectUnauthorized: false, headers: init.body ? { 'content-type': 'application/json' } : {} }, (res) => {
      const cert = new X509Certificate((res.socket as TLSSocket).getPeerCertificate().raw);
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, cert }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('npm start -- --lan', () => {
  it('serves HTTPS with a self-signed certificate for the LAN addresses, prints the URLs and a QR code, and reuses the certificate', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-lan-'));
    const port = await freePort();
    try {
      const server = await runMain({ PORT: String(port), HOST: '0.0.0.0' }, { args: ['--lan'], cwd });
      let fingerprint: string;
      try {
        const health = await get(`https://127.0.0.1:${port}/healthz`);
        expect(health.status).toBe(200);
        const san = health.cert.subjectAltName ?? '';
        expect(san).toContain('DNS:localhost');
        expect(san).toContain('IP Address:127.0.0.1');
        for (const ip of lanAddresses()) {
          expect(san).toContain(`IP Address:${ip}`);
          expect(server.output()).toContain(`https://${ip}:${port}`);
        }
        if (lanAddresses().length > 0) expect(server.output()).toMatch(/[█▀▄]{10,}/); // the QR code
        fingerprint = health.cert.fingerprint256;
        // Over HTTPS the session cookie is Secure.
        const login = await get(`https://127.0.0.1:${port}/api/auth/login`, { method: 'POST', body: JSON.stringify({ email: 'admin@example.com', password: 'parley-demo-pass' }) });
        expect(String(login.headers['set-cookie'])).toMatch(/; Secure/i);
      } finally {
        await server.stop();
      }
      const again = await runMain({ PORT: String(port), HOST: '0.0.0.0' }, { args: ['--lan'], cwd });
      try {
        expect((await get(`https://127.0.0.1:${port}/healthz`)).cert.fingerprint256).toBe(fingerprint);
      } finally {
        await again.stop();
      }
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a TLS_CERT without TLS_KEY, and missing files, naming the variable', async () => {
    const { loadConfig } = await import('../env.ts');
    expect(() => loadConfig({ TLS_CERT: '/etc/hostname' })).toThrow(/TLS_KEY: TLS_CERT and TLS_KEY go together/);
    expect(() => loadConfig({ TLS_CERT: '/nonexistent.pem', TLS_KEY: '/etc/hostname' })).toThrow(/TLS_CERT: no such file/);
  });
});
