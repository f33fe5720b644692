// The per-file fixture of a journey: one fresh server (its own database) and one browser for the
// file, a context per device inside each test, and evidence collected when a test fails.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { captureFailure, cspViolations, launchBrowser, type TestBrowser } from './browser.ts';
import { startServer, type StartServerOptions, type TestServer } from './server.ts';

export interface Journey {
  /** The running server (available inside tests). */
  readonly server: TestServer;
  readonly browser: TestBrowser;
  /**
   * One device: a new browser context (its own cookies) with one page, closed after the test.
   * `label` names it in failure evidence ("admin", "doctor-phone"). `from` opens it in another
   * browser the test launched (one with other flags) instead of the file's browser.
   */
  device(label: string, options?: BrowserContextOptions, from?: TestBrowser): Promise<Page>;
}

export function useJourney(serverOptions: StartServerOptions = {}): Journey {
  let server: TestServer | undefined;
  let browser: TestBrowser | undefined;
  let contexts: BrowserContext[] = [];
  let pages: Record<string, Page> = {};

  beforeAll(async () => {
    server = await startServer(serverOptions);
    browser = await launchBrowser();
  });

  // Runs even when beforeAll failed half-way (Vitest guarantees it); each stop is idempotent.
  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  beforeEach(() => {
    contexts = [];
    pages = {};
  });

  afterEach(async (ctx) => {
    // A page that broke the server's Content-Security-Policy fails its journey: the app must work under it.
    const violations = contexts.flatMap((c) => cspViolations(c));
    try {
      if (ctx.task.result?.state === 'fail') {
        const evidence = await captureFailure(ctx.task.name, pages);
        console.error(
          `\n[e2e] "${ctx.task.name}" failed.\n${evidence}\n` +
            `--- server output (tail) ---\n${server?.output().slice(-4_000) || '(none)'}\n`,
        );
      }
    } finally {
      await Promise.allSettled(contexts.map((c) => c.close()));
      contexts = [];
    }
    if (violations.length > 0) throw new Error(`Content-Security-Policy violations in "${ctx.task.name}":\n  ${violations.join('\n  ')}`);
  });

  return {
    get server() {
      if (!server) throw new Error('the server is not running (did beforeAll fail?)');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('the browser is not running (did beforeAll fail?)');
      return browser;
    },
    async device(label, options, from) {
      const source = from ?? browser;
      if (!source) throw new Error('the browser is not running (did beforeAll fail?)');
      const context = await source.newContext(options);
      contexts.push(context);
      const page = await context.newPage();
      pages[label] = page;
      return page;
    },
  };
}
