import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { failureDir, screenshotDir } from './paths.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags known to work as root on Debian 12 (see WEBRTC-TESTING.md). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // On a loopback-only host Chromium gathers no ICE candidates without it; harmless otherwise.
  '--allow-loopback-in-peer-connection',
];

/** Short enough that a missing element fails the step with a readable message, not the test timeout. */
export const ACTION_TIMEOUT_MS = 10_000;
export const NAVIGATION_TIMEOUT_MS = 20_000;

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

export interface LaunchOptions {
  /**
   * Chromium's command line instead of CHROMIUM_ARGS, e.g. without the fake camera and microphone
   * to see how the app copes with a device that has none.
   */
  args?: readonly string[];
}

export interface TestBrowser {
  browser: Browser;
  /**
   * A fresh context (its own cookies: one signed-in device) whose pages use the harness timeouts and
   * record their console errors. Defaults: 1280x800, camera and microphone allowed.
   */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Closes the browser and removes its temp folder. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Content-Security-Policy violations per context, reported by every page of it (init script, so
 * every navigation and frame is covered): the journeys run with the server's CSP on and fail on one.
 */
const contextViolations = new WeakMap<BrowserContext, string[]>();

/** The CSP violations the pages of `context` reported so far, each as `<directive> <blocked URI> at <page>`. */
export function cspViolations(context: BrowserContext): readonly string[] {
  return contextViolations.get(context) ?? [];
}

const CSP_WATCH = `document.addEventListener('securitypolicyviolation', (e) => {
  window.__parleyCspViolation?.(e.effectiveDirective + ' ' + (e.blockedURI || '(inline)') + ' at ' + e.documentURI + (e.sample ? ' sample: ' + e.sample : ''));
});`;

/** What each page wrote to its console as errors, and uncaught exceptions; attached on failure. */
const pageProblems = new WeakMap<Page, string[]>();
/** Every console line of each page (the newest CONSOLE_KEEP), across reloads. */
const pageConsole = new WeakMap<Page, string[]>();
const CONSOLE_KEEP = 2_000;

/** The console lines `page` wrote so far, oldest first, each as `<type>: <text>`. */
export function consoleLines(page: Page): readonly string[] {
  return pageConsole.get(page) ?? [];
}

function watchPage(page: Page): void {
  const problems: string[] = [];
  const lines: string[] = [];
  pageProblems.set(page, problems);
  pageConsole.set(page, lines);
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console.${msg.type()}: ${msg.text()}`);
    lines.push(`${msg.type()}: ${msg.text()}`);
    if (lines.length > CONSOLE_KEEP) lines.splice(0, lines.length - CONSOLE_KEEP);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`requestfailed: ${req.method()} ${req.url()} ${req.failure()?.errorText ?? ''}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`http ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
}

/** Launches headless Chromium with fake camera and microphone, with TMPDIR in a folder of its own. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  // Killed Chromiums leave singleton folders in TMPDIR; keep them in a folder we remove.
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-chromium-'));
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...(options.args ?? CHROMIUM_ARGS)],
      env: { ...process.env, TMPDIR: tmp },
      timeout: 30_000,
    });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    browser,
    async newContext(options = {}) {
      const context = await browser.newContext({
        ...DESKTOP,
        permissions: ['camera', 'microphone'],
        ...options,
      });
      const violations: string[] = [];
      contextViolations.set(context, violations);
      await context.exposeBinding('__parleyCspViolation', (_source, v: string) => void violations.push(v));
      await context.addInitScript(CSP_WATCH);
      context.setDefaultTimeout(ACTION_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
      context.on('page', watchPage);
      return context;
    },
    close() {
      closed ??= (async () => {
        // A wedged browser must not hang the hook: give close 10 s, then kill the process.
        const timeout = new Promise<'timeout'>((r) => setTimeout(r, 10_000, 'timeout').unref());
        const result = await Promise.race([browser.close().then(() => 'closed' as const, () => 'closed' as const), timeout]);
        if (result === 'timeout') {
          const proc = (browser as Browser & { process?: () => { kill(sig: string): void } | null }).process?.();
          proc?.kill('SIGKILL');
        }
        await rm(tmp, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

/** Saves the page as docs/screenshots/<name>.png, the images the README embeds. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  // Let fonts and the last render settle so the README image is not caught mid-transition.
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  return file;
}

/**
 * Saves a screenshot, the accessibility snapshot and the recorded console problems of each page
 * under e2e/test-results/, and returns a summary to print. Never throws: it runs on failure paths.
 */
export async function captureFailure(testName: string, pages: Record<string, Page | undefined>): Promise<string> {
  const slug = testName.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
  const lines: string[] = [];
  try {
    await mkdir(failureDir, { recursive: true });
  } catch {
    return '';
  }
  for (const [label, page] of Object.entries(pages)) {
    if (!page || page.isClosed()) continue;
    const base = path.join(failureDir, `${slug}--${label}`);
    lines.push(`[${label}] url: ${page.url()}`);
    try {
      await page.screenshot({ path: `${base}.png`, timeout: 5_000 });
      lines.push(`[${label}] screenshot: ${base}.png`);
    } catch (err) {
      lines.push(`[${label}] screenshot failed: ${(err as Error).message.split('\n')[0]}`);
    }
    try {
      const snapshot = await page.locator('body').ariaSnapshot({ timeout: 5_000 });
      await writeFile(`${base}.aria.yml`, snapshot);
      lines.push(`[${label}] aria snapshot:\n${snapshot.split('\n').slice(0, 60).join('\n')}`);
    } catch (err) {
      lines.push(`[${label}] aria snapshot failed: ${(err as Error).message.split('\n')[0]}`);
    }
    const problems = pageProblems.get(page) ?? [];
    if (problems.length > 0) lines.push(`[${label}] page problems:\n  ${problems.slice(-20).join('\n  ')}`);
    const recent = consoleLines(page);
    if (recent.length > 0) {
      let saved = '';
      try {
        await writeFile(`${base}.console.log`, `${recent.join('\n')}\n`);
        saved = `, all ${recent.length} in ${base}.console.log`;
      } catch {
        // The last lines below still say the most.
      }
      lines.push(`[${label}] console (last 30 lines${saved}):\n  ${recent.slice(-30).join('\n  ')}`);
    }
  }
  return lines.join('\n');
}
