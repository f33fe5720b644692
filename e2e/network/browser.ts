// Chromium inside one of the lab's LANs, driven by Playwright from the host through a wrapper that
// enters the namespace.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { ACTION_TIMEOUT_MS, CHROMIUM_ARGS, CHROMIUM_PATH, DESKTOP, NAVIGATION_TIMEOUT_MS, type TestBrowser } from '../support/browser.ts';
import { SERVICE_IP, sleep, type Lan, type Namespaces } from './netns.ts';

/** Chromium's flags inside a LAN: the harness flags, minus loopback candidates (a LAN host has a veth). */
export const LAB_CHROMIUM_ARGS: readonly string[] = CHROMIUM_ARGS.filter((a) => a !== '--allow-loopback-in-peer-connection');

/** Flags that make Chromium treat the lab's plain-http origin as secure and never try real DNS. */
export function labOriginArgs(origin: string): string[] {
  return [
    // getUserMedia is undefined on plain http from anything but localhost.
    `--unsafely-treat-insecure-origin-as-secure=${origin}`,
    // Chromium still resolves Google hosts; inside a namespace that would only time out.
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${SERVICE_IP}`,
  ];
}

export interface LabBrowserOptions {
  origin?: string;
  args?: readonly string[];
}

/** The browser's own process, to SIGKILL it when it does not close or the lab goes synchronously. */
export function browserProcess(browser: TestBrowser): ChildProcess | null | undefined {
  return (browser.browser as Browser & { process?: () => ChildProcess | null }).process?.();
}

/**
 * Chromium running inside `lan`, with the lab's flags and `origin` treated as secure. `onClosed`
 * runs once the browser has closed (the lab forgets it then).
 */
export async function launchLabBrowser(spaces: Namespaces, lan: Lan, options: LabBrowserOptions, onClosed: (b: TestBrowser) => void): Promise<TestBrowser> {
  const dir = path.join(spaces.dir, `chromium-${lan}-${randomBytes(3).toString('hex')}`);
  const tmp = path.join(dir, 'tmp');
  await mkdir(tmp, { recursive: true });
  // Playwright starts this instead of Chromium; `ip netns exec` keeps the debugging pipe (fds 3, 4).
  const wrapper = path.join(dir, 'chromium.sh');
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec '${spaces.names[lan]}' ${CHROMIUM_PATH} "$@"\n`);
  await chmod(wrapper, 0o755);
  const args = [...(options.args ?? LAB_CHROMIUM_ARGS), ...(options.origin ? labOriginArgs(options.origin) : [])];
  const browser: Browser = await chromium.launch({
    executablePath: wrapper,
    args,
    // Killed Chromiums leave singleton folders in TMPDIR: keep them inside the lab's folder.
    env: { ...process.env, TMPDIR: tmp },
    timeout: 30_000,
  });
  let closed: Promise<void> | undefined;
  const testBrowser: TestBrowser = {
    browser,
    async newContext(contextOptions = {}) {
      const context: BrowserContext = await browser.newContext({ ...DESKTOP, permissions: ['camera', 'microphone'], ...contextOptions });
      context.setDefaultTimeout(ACTION_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
      return context;
    },
    close: () => {
      closed ??= (async () => {
        const timeout = sleep(10_000).then(() => 'timeout' as const);
        const result = await Promise.race([browser.close().then(() => 'closed' as const, () => 'closed' as const), timeout]);
        if (result === 'timeout') browserProcess(testBrowser)?.kill('SIGKILL');
        onClosed(testBrowser);
      })();
      return closed;
    },
  };
  return testBrowser;
}
