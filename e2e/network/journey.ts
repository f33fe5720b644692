// Driving Parley's UI in the lab's LANs with the harness's journey steps.
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import type { TestBrowser } from '../support/browser.ts';
import type { Journey } from '../support/journey.ts';
import type { Lan } from './netns.ts';
import type { LabServer } from './server.ts';

export interface LabJourney extends Journey {
  /** The devices opened so far, by label (for failure evidence). */
  readonly pages: Readonly<Record<string, Page>>;
  /** Closes every device's context; call after each test. */
  closeDevices(): Promise<void>;
}

/**
 * A Journey (support/journey.ts) on the lab: the server in pub, devices opened in the browser of
 * the LAN given as `from` (default lanA's). With it the harness's call steps — signedInDevice,
 * placeCall, answerCall, waitConnected, expectMediaBothWays — drive Parley's UI across the NATs.
 */
export function labJourney(server: LabServer, browsers: Readonly<Record<Lan, TestBrowser>>): LabJourney {
  let contexts: BrowserContext[] = [];
  const pages: Record<string, Page> = {};
  return {
    server,
    browser: browsers.lanA,
    pages,
    async device(label: string, options?: BrowserContextOptions, from?: TestBrowser) {
      const context = await (from ?? browsers.lanA).newContext(options);
      contexts.push(context);
      const page = await context.newPage();
      pages[label] = page;
      return page;
    },
    async closeDevices() {
      const closing = contexts;
      contexts = [];
      for (const label of Object.keys(pages)) delete pages[label];
      await Promise.allSettled(closing.map((c) => c.close()));
    },
  };
}
