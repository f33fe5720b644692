import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.ts';

/** Issue #10, defect 6: security headers on every response. */
describe('security headers', () => {
  let s: TestServer;
  let dist: string;
  beforeAll(async () => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-dist-'));
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>Parley</title><div id="root"></div>');
    fs.mkdirSync(path.join(dist, 'icons'));
    fs.writeFileSync(path.join(dist, 'icons', 'icon-192.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
    s = await startTestServer({ env: { WEB_DIST: dist } });
  });
  afterAll(async () => {
    await s?.close();
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it.each([['/'], ['/some/app/route'], ['/icons/icon-192.png'], ['/api/me'], ['/healthz'], ['/api/nope']])('%s carries the CSP, nosniff, frame and referrer headers', async (url) => {
    const r = await s.request('GET', url);
    const csp = r.headers.get('content-security-policy') ?? '';
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    const host = new URL(s.url).host;
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'"]); // no 'unsafe-inline', no 'unsafe-eval'
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'", `ws://${host}`]);
    expect(directives['media-src']).toEqual(["'self'", 'blob:']);
    expect(directives['img-src']).toEqual(["'self'", 'data:', 'blob:']);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('strict-transport-security')).toBeNull(); // plain http: no HSTS
  });

  it('keeps every response same-origin for other sites (CORP) except the public icons', async () => {
    for (const url of ['/', '/api/me', '/healthz']) expect((await s.request('GET', url)).headers.get('cross-origin-resource-policy'), url).toBe('same-origin');
    const icon = await s.request('GET', '/icons/icon-192.png');
    expect(icon.status).toBe(200);
    expect(icon.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(icon.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('sends HSTS when the request came over HTTPS through a trusted proxy', async () => {
    const proxied = await startTestServer({ env: { TRUST_PROXY: '127.0.0.1' } });
    try {
      const r = await proxied.request('GET', '/healthz', { headers: { 'x-forwarded-proto': 'https' } });
      expect(r.headers.get('strict-transport-security')).toMatch(/^max-age=\d{7,}/);
      expect(r.headers.get('content-security-policy')).toContain(`connect-src 'self' wss://`);
    } finally {
      await proxied.close();
    }
  });

  it('ignores X-Forwarded-Proto https from a peer that is not a trusted proxy: no HSTS, ws:// in connect-src', async () => {
    const r = await s.request('GET', '/healthz', { headers: { 'x-forwarded-proto': 'https' } });
    expect(r.headers.get('strict-transport-security')).toBeNull();
    expect(r.headers.get('content-security-policy')).toContain(`connect-src 'self' ws://${new URL(s.url).host}`);
  });

  it('does not echo a malformed Host into the policy', async () => {
    const { port } = new URL(s.url);
    const csp = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/healthz', headers: { host: 'evil.example; script-src *' } }, (res) => {
        res.resume();
        resolve(String(res.headers['content-security-policy'] ?? ''));
      });
      req.on('error', reject);
      req.end();
    });
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('evil');
  });
});
