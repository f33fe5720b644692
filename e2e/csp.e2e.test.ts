// The browser journeys run under the server's Content-Security-Policy and fail on a violation
// (support/journey.ts). This proves the watch itself: the app page loads with the CSP and no
// violation, and an inline script injected into it is blocked and reported.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cspViolations, launchBrowser, type TestBrowser } from './support/browser.ts';
import { startServer, type TestServer } from './support/server.ts';
import { gotoSignIn } from './support/ui.ts';

describe('Content-Security-Policy in the browser', () => {
  let server: TestServer;
  let browser: TestBrowser;
  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  test('the sign-in page loads under the CSP without a violation; an injected inline script is blocked and reported', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const res = await page.goto(server.url);
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
      await gotoSignIn(page, server.url);
      expect(cspViolations(context)).toEqual([]);
      const ran = await page.evaluate(() => {
        const w = window as unknown as { injected?: boolean };
        const script = document.createElement('script');
        script.textContent = 'window.injected = true';
        document.body.appendChild(script);
        return w.injected === true;
      });
      expect(ran).toBe(false);
      await expect.poll(() => cspViolations(context).length).toBe(1);
      expect(cspViolations(context)[0]).toMatch(/^script-src-elem \(inline\)|^script-src-elem inline/);
    } finally {
      await context.close();
    }
  });
});
