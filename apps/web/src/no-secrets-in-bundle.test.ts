import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('the built web app', () => {
  it('carries no TURN secret or credential and no VAPID private key, even when the build environment has them', async () => {
    const marks = {
      TURN_SECRET: 'mark-turn-secret-5e1f0c',
      TURN_CREDENTIAL: 'mark-turn-credential-8a2b',
      TURN_USERNAME: 'mark-turn-username-77d1',
      // The field report's mistake: TURN credentials in a VITE_ variable end up in every browser.
      VITE_TURN_SERVERS: '[{"urls":"turn:x","username":"mark-vite-user-3c9","credential":"mark-vite-cred-4d0"}]',
      VITE_TURN_SECRET: 'mark-vite-secret-1b7',
      // Web Push: the VAPID private key signs the server's pushes and stays on the server.
      VAPID_PRIVATE_KEY: 'mark-vapid-private-6f2a',
      VITE_VAPID_PRIVATE_KEY: 'mark-vite-vapid-private-0c3e',
    };
    const saved = { ...process.env };
    Object.assign(process.env, marks);
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-web-build-'));
    try {
      await build({ root, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
      const files = filesUnder(outDir);
      expect(files.some((f) => f.endsWith('.js'))).toBe(true);
      // The service worker is part of what browsers download.
      const sw = files.find((f) => path.basename(f) === 'sw.js');
      expect(sw).toBeDefined();
      // Every visit may fetch it again (a changed build changes it); it once carried all of zod (~460 KB).
      expect(fs.statSync(sw!).size, 'sw.js bytes').toBeLessThan(48 * 1024);
      const all = files.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
      for (const needle of ['mark-turn-secret-5e1f0c', 'mark-turn-credential-8a2b', 'mark-turn-username-77d1', 'mark-vite-user-3c9', 'mark-vite-cred-4d0', 'mark-vite-secret-1b7', 'mark-vapid-private-6f2a', 'mark-vite-vapid-private-0c3e']) {
        expect(all, needle).not.toContain(needle);
      }
    } finally {
      process.env = saved;
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);
});
