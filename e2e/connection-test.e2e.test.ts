// The "Test my connection" page against a real TURN server: coturn on loopback with Parley's
// hardened settings, its secret given to the server, credentials minted per person.
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import { findTurnserver, ManagedCoturn } from '../apps/server/src/features/rtc/managed-coturn.ts';
import { screenshot } from './support/browser.ts';
import { freePort } from './support/server.ts';
import { useJourney } from './support/journey.ts';
import { signIn } from './support/ui.ts';
import { ALEX } from './support/users.ts';

const bin = findTurnserver();
const turnPort = await freePort();
let coturn: ManagedCoturn | undefined;

// The server must know coturn's secret when it starts, so coturn starts first (module level).
if (bin) {
  coturn = new ManagedCoturn({ bin, port: turnPort, listeningIps: ['127.0.0.1'], relayIp: '127.0.0.1', realm: 'parley.test', log: pino({ level: 'silent' }) });
  await coturn.start();
}

const journey = useJourney({
  env: {
    TURN_URLS: `turn:127.0.0.1:${turnPort}?transport=udp,turn:127.0.0.1:${turnPort}?transport=tcp`,
    TURN_SECRET: coturn?.secret ?? 'no-coturn-installed-secret',
    TURN_MODE: 'external',
  },
});

describe.skipIf(!bin)('Test my connection', () => {
  afterAll(async () => {
    await coturn?.stop();
  });

  test('finds host and relay candidates, says the relay accepted the credentials, and downloads a report without credentials', async () => {
    const page = await journey.device('admin', { viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await signIn(page, journey.server.url, ALEX);
    await page.getByRole('link', { name: 'Test my connection' }).click();
    await page.getByRole('heading', { name: 'Test my connection' }).waitFor();
    await page.getByRole('button', { name: 'Run the test' }).click();

    const results = page.getByRole('region', { name: 'Results' });
    const download = page.getByRole('button', { name: 'Download report' });
    await expect.poll(() => download.isEnabled(), { timeout: 30_000 }).toBe(true);
    const text = await results.innerText();
    expect(text).toContain('Local network address (host): found');
    expect(text).toContain('Relay over UDP: found');
    expect(text).toContain('Relay over TCP: found');
    expect(text).toContain('Relay over TLS: not configured');
    expect(text).toContain('The relay (TURN) server accepted the credentials');
    expect(await page.getByRole('meter', { name: 'Microphone level' }).count()).toBe(1);
    await screenshot(page, 'connection-test');

    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    const report = await readFile((await file.path())!, 'utf8');
    const json = JSON.parse(report) as unknown;
    expect(typeof json).toBe('object');
    expect(report).toContain(`turn:127.0.0.1:${turnPort}`);
    // The credentials minted for this person never leave the page.
    expect(report).not.toMatch(/"(username|credential)"\s*:/);
    expect(report).not.toContain(coturn!.secret);
  });
});
