// Ringing a closed app: the callee's page is closed and only Parley's service worker is left.
// The server's real push goes to a local push service (apps/server/src/testing/local-push-service.ts),
// which decrypts it with the keys the test made; the decrypted text is what the test hands the
// service worker with DevTools' ServiceWorker.deliverPushMessage — Chromium's own push service is
// unreachable here. Notifications are read back with registration.getNotifications().
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page, type Worker } from 'playwright-core';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { LocalPushService, type ReceivedPush, type TestSubscription } from '../apps/server/src/testing/local-push-service.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH, DESKTOP, launchBrowser, screenshot } from './support/browser.ts';
import {
  END_TEXT,
  HISTORY,
  PEER_CONNECTION_PROBE,
  answerCall,
  callButtons,
  expectMediaBothWays,
  hangUpAndWait,
  placeCall,
  signedInDevice,
  waitConnected,
  waitForEndText,
  waitForHistory,
} from './support/call.ts';
import { useJourney } from './support/journey.ts';
import { mainView, openConversation, sendMessage, signIn, waitForMessage } from './support/ui.ts';
import { ALEX, DANA, NOOR, type TestUser } from './support/users.ts';

const push = await LocalPushService.start();
const caDir = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-push-'));
const caFile = path.join(caDir, 'push-ca.pem');
await writeFile(caFile, push.ca);

const journey = useJourney({
  // The server trusts the local push service's certificate and may post to loopback.
  env: { PUSH_ALLOW_LOCAL_ENDPOINTS: '1', NODE_EXTRA_CA_CERTS: caFile, CALL_RING_TIMEOUT_S: '40' },
});

/** What DevTools' BackgroundService domain reported: the worker's push events and the notifications it displayed. */
interface BackgroundEvent {
  service: string;
  eventName: string;
  /** The notification's tag for notification events; the push's message id (empty here) for push events. */
  instanceId: string;
  metadata: Record<string, string>;
}

/** What the worker did with one delivered push, once its push event (and every waitUntil promise) settled. */
interface HandledPush {
  /** Chromium's word for how the event ended: "Success", "waitUntil Rejected" or "Timeout". */
  status: string;
  /** The notifications the platform displayed while the worker handled it. */
  displayed: { tag: string; title: string }[];
}

/** A point in the record of push and notification events (ClosedAppBrowser.mark()). */
interface PushMark {
  completed: number;
  events: number;
}

interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  icon: string;
  actions: string[];
  data: unknown;
}

/**
 * Noor's browser: a persistent profile (installability and notifications need one), notifications
 * allowed, the same flags as every journey. Her pages come and go; the service worker stays.
 *
 * Notifications are read only once the worker has finished with the push that shows them. Chromium's
 * getNotifications() drops from its database every notification the platform does not list as
 * displayed yet, unless it was requested after the read began; so a read that overlaps a
 * showNotification() (requested, not yet displayed) deletes that notification's record for good: it
 * stays on screen, and every later getNotifications() returns [] (content/browser/notifications/
 * platform_notification_context_impl.cc, DoReadAllNotificationDataForServiceWorkerRegistration).
 * Polling getNotifications() right after the delivery did exactly that now and then.
 */
class ClosedAppBrowser {
  /** Push and notification events, in the order DevTools reported them. */
  private readonly background: BackgroundEvent[] = [];

  private constructor(
    readonly context: BrowserContext,
    private readonly dir: string,
    private readonly cdp: CDPSession,
    private readonly registrationId: () => string | undefined,
    /** What the service worker wrote to its console: a push that showed nothing says why here. */
    readonly workerConsole: string[],
    /** The worker's versions as DevTools saw them change (running status, lifecycle status). */
    private readonly workerStates: string[],
  ) {}

  static async launch(url: string): Promise<ClosedAppBrowser> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-push-profile-'));
    const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
      env: { ...process.env, TMPDIR: dir },
      ...DESKTOP,
      permissions: ['camera', 'microphone', 'notifications'],
    });
    await context.addInitScript(PEER_CONNECTION_PROBE);
    // A blank page keeps a DevTools session open while Parley's own pages are closed.
    const blank = context.pages()[0] ?? (await context.newPage());
    const cdp = await context.newCDPSession(blank);
    let registrationId: string | undefined;
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] }) => {
      for (const r of e.registrations) if (r.scopeURL.startsWith(url) && !r.isDeleted) registrationId = r.registrationId;
    });
    const workerStates: string[] = [];
    const t0 = Date.now();
    cdp.on('ServiceWorker.workerVersionUpdated', (e: { versions: { versionId: string; runningStatus: string; status: string }[] }) => {
      for (const v of e.versions) workerStates.push(`+${Date.now() - t0} ms v${v.versionId} ${v.runningStatus}/${v.status}`);
    });
    await cdp.send('ServiceWorker.enable');
    const workerConsole: string[] = [];
    context.on('serviceworker', (w) => w.on('console', (m) => workerConsole.push(`${m.type()}: ${m.text()}`)));
    const browser = new ClosedAppBrowser(context, dir, cdp, () => registrationId, workerConsole, workerStates);
    // DevTools' record of background services: when a push event ends (and how), and what the platform displayed.
    cdp.on('BackgroundService.backgroundServiceEventReceived', ({ backgroundServiceEvent: e }) => {
      browser.background.push({ service: e.service, eventName: e.eventName, instanceId: e.instanceId, metadata: Object.fromEntries(e.eventMetadata.map((m) => [m.key, m.value])) });
    });
    for (const service of ['pushMessaging', 'notifications'] as const) {
      await cdp.send('BackgroundService.startObserving', { service });
      await cdp.send('BackgroundService.setRecording', { shouldRecord: true, service });
    }
    return browser;
  }

  private pushEvents(name: 'Push event dispatched' | 'Push event completed'): BackgroundEvent[] {
    return this.background.filter((e) => e.service === 'pushMessaging' && e.eventName === name);
  }

  /** What the worker logged, did and displayed: the state to report when a push did not show what it should. */
  private diagnostics(): string {
    return (
      `its console: ${JSON.stringify(this.workerConsole.slice(-20))}; its versions: ${JSON.stringify(this.workerStates.slice(-12))}; ` +
      `workers listed: ${this.context.serviceWorkers().length}; push and notification events: ` +
      JSON.stringify(this.background.slice(-12).map((e) => [e.eventName, e.instanceId, e.metadata.Status ?? e.metadata.Title ?? '']))
    );
  }

  get blank(): Page {
    return this.context.pages()[0]!;
  }

  /**
   * The running worker. Chromium may stop an idle worker and start it again for a push; Playwright
   * then drops the old one from the list and reports a new one, so take the newest.
   */
  async worker(): Promise<Worker> {
    return this.context.serviceWorkers().at(-1) ?? (await this.context.waitForEvent('serviceworker', { timeout: 5_000 }));
  }

  /** Where the record of push and notification events stands now: what a later wait counts from. */
  mark(): PushMark {
    return { completed: this.pushEvents('Push event completed').length, events: this.background.length };
  }

  /**
   * Hands `push` (as decrypted by the local push service) to the worker, as a push service would,
   * and waits until the worker's push event has begun (it may still be running).
   */
  async send(origin: string, push: ReceivedPush): Promise<void> {
    await expect.poll(() => this.registrationId(), { message: 'the service worker registration' }).toBeDefined();
    const dispatchedBefore = this.pushEvents('Push event dispatched').length;
    await this.cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: this.registrationId()!, data: push.text });
    try {
      await expect.poll(() => this.pushEvents('Push event dispatched').length, { timeout: 15_000 }).toBeGreaterThan(dispatchedBefore);
    } catch {
      throw new Error(`the worker was not handed the push ${push.text}; ${this.diagnostics()}`);
    }
  }

  /**
   * Waits until `count` push events have ended since `mark`, each with "Success", and returns the
   * notifications the platform displayed since `mark`, in order.
   */
  async handled(mark: PushMark, count: number, what: string): Promise<HandledPush> {
    try {
      await expect.poll(() => this.pushEvents('Push event completed').length - mark.completed, { timeout: 15_000 }).toBeGreaterThanOrEqual(count);
    } catch {
      throw new Error(`the worker did not finish handling ${what}; ${this.diagnostics()}`);
    }
    const statuses = this.pushEvents('Push event completed')
      .slice(mark.completed)
      .map((e) => e.metadata.Status ?? '');
    const failed = statuses.find((s) => s !== 'Success');
    if (failed !== undefined) throw new Error(`the worker's push event ended with "${failed}"; ${this.diagnostics()}`);
    const displayed = this.background
      .slice(mark.events)
      .filter((e) => e.service === 'notifications' && e.eventName === 'Notification displayed')
      .map((e) => ({ tag: e.instanceId, title: e.metadata.Title ?? '' }));
    return { status: statuses.at(-1)!, displayed };
  }

  /** Hands `push` to the worker and waits until the worker's push event has ended: whatever it shows is displayed by then. */
  async deliver(origin: string, push: ReceivedPush): Promise<HandledPush> {
    const mark = this.mark();
    await this.send(origin, push);
    return this.handled(mark, 1, `the push ${push.text}`);
  }

  /** What getNotifications() lists. Never while a push is being handled: that read could delete what the push shows (see the class). */
  async notifications(): Promise<ShownNotification[]> {
    const inFlight = this.pushEvents('Push event dispatched').length - this.pushEvents('Push event completed').length;
    if (inFlight !== 0) throw new Error(`${inFlight} push event(s) still being handled: read notifications after deliver() returns`);
    const sw = await this.worker();
    return sw.evaluate(async () => {
      const reg = (self as unknown as { registration: ServiceWorkerRegistration }).registration;
      return (await reg.getNotifications()).map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        icon: n.icon,
        actions: ((n as unknown as { actions: { title: string }[] }).actions ?? []).map((a) => a.title),
        data: n.data as unknown,
      }));
    });
  }

  /** The one notification with that tag, as shown after the last delivered push; it must be titled `title`. */
  async notification(tag: string, title: RegExp): Promise<ShownNotification> {
    const all = await this.notifications();
    const shown = all.filter((n) => n.tag === tag);
    if (shown.length !== 1 || !title.test(shown[0]!.title)) {
      throw new Error(`expected one notification "${title}" with tag ${tag}; the worker shows ${JSON.stringify(all.map((n) => [n.tag, n.title]))}; ${this.diagnostics()}`);
    }
    return shown[0]!;
  }

  /**
   * Clicks a notification (or one of its actions) the way Chromium does: a notificationclick in the
   * worker. Chromium refuses clients.openWindow without a real user's click, so the worker's
   * request to open a window is recorded here instead, and returned; the test then opens it.
   */
  async click(tag: string, action: string): Promise<string[]> {
    const sw = await this.worker();
    return sw.evaluate(
      async ({ tag, action }) => {
        const g = self as unknown as { registration: ServiceWorkerRegistration; clients: { openWindow: (u: string) => Promise<unknown> } };
        const opened: string[] = [];
        g.clients.openWindow = async (u: string) => {
          opened.push(u);
          return null;
        };
        const [n] = await g.registration.getNotifications({ tag });
        if (!n) throw new Error(`no notification with tag ${tag}`);
        const Ctor = (self as unknown as { NotificationEvent: new (type: string, init: object) => Event }).NotificationEvent;
        try {
          self.dispatchEvent(new Ctor('notificationclick', { notification: n, action }));
        } catch {
          // waitUntil refuses an event the test made; the handler has run by then.
        }
        await new Promise((r) => setTimeout(r, 500));
        return opened;
      },
      { tag, action },
    );
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

const PASSWORD = 'push-journey-pass';
let adminCookie: string | undefined;

/**
 * A new person made through the admin API, so that each test has callers and callees of its own:
 * no call, session or subscription left by another test can change what this one sees.
 */
async function person(name: string, role: 'doctor' | 'nurse'): Promise<TestUser> {
  const url = journey.server.url;
  const headers = { 'content-type': 'application/json', origin: url };
  if (!adminCookie) {
    const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify({ email: ALEX.email, password: ALEX.password }) });
    expect(res.status).toBe(200);
    adminCookie = res.headers.get('set-cookie')!.split(';')[0]!;
  }
  const email = `${name.toLowerCase().replaceAll(' ', '.')}@push.example`;
  const res = await fetch(`${url}/api/admin/users`, { method: 'POST', headers: { ...headers, cookie: adminCookie }, body: JSON.stringify({ name, email, role, password: PASSWORD }) });
  expect(res.status, await res.clone().text()).toBe(201);
  return { name, email, password: PASSWORD, role };
}

/** Every test's closed-app browser, closed after it whatever happened. */
let browsers: ClosedAppBrowser[] = [];
async function closedAppBrowser(): Promise<ClosedAppBrowser> {
  const b = await ClosedAppBrowser.launch(journey.server.url);
  browsers.push(b);
  return b;
}
afterEach(async () => {
  await Promise.allSettled(browsers.map((b) => b.close()));
  browsers = [];
});
afterAll(async () => {
  await push.close();
  await rm(caDir, { recursive: true, force: true });
});

/** Progress lines: a journey that stalls says where. */
const step = (what: string) => console.log(`[push] ${what}`);

const ofType = (sub: TestSubscription, type: string, callId?: string) => (r: ReceivedPush) =>
  r.endpoint === sub.endpoint && (r.payload as { type: string }).type === type && (!callId || (r.payload as { callId?: string }).callId === callId);

/** A promise and the function that resolves it. */
function settable<T>(): { promise: Promise<T>; set: (value: T) => void } {
  let set!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (set = resolve));
  return { promise, set };
}

/** Subscribes the session signed in on `page` at the local push service, as the browser would have. */
async function subscribeAtLocalPushService(page: Page): Promise<TestSubscription> {
  const sub = push.subscribe();
  const status = await page.evaluate(
    async (s) => (await fetch('/api/push/subscriptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(s) })).status,
    sub,
  );
  expect(status).toBe(204);
  return sub;
}

/**
 * `callee` signs in on a browser of their own, its service worker takes over, the session is
 * subscribed at the local push service, and the page is closed: only the worker is left.
 */
async function closedCallee(callee: TestUser): Promise<{ browser: ClosedAppBrowser; sub: TestSubscription }> {
  const browser = await closedAppBrowser();
  const page = await browser.context.newPage();
  await signIn(page, journey.server.url, callee);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  const sub = await subscribeAtLocalPushService(page);
  await page.close();
  // Closed: the worker has no window left, as when the person shut Parley.
  const sw = await browser.worker();
  await expect
    .poll(() => sw.evaluate(async () => (await (self as unknown as { clients: { matchAll(o: object): Promise<unknown[]> } }).clients.matchAll({ type: 'window', includeUncontrolled: true })).length), { message: 'no Parley window left' })
    .toBe(0);
  return { browser, sub };
}

/** `caller` calls the person whose Parley page is closed; returns the ringing push the server sent. */
async function callClosed(caller: Page, sub: TestSubscription, kind: 'audio' | 'video'): Promise<{ ring: ReceivedPush; callId: string; tag: string }> {
  await placeCall(caller, kind);
  const ring = await push.next(ofType(sub, 'call.ringing'), 10_000);
  const callId = (ring.payload as { callId: string }).callId;
  return { ring, callId, tag: `call:${callId}` };
}

describe('ringing a closed Parley by Web Push', () => {
  test('installable; the settings say why push is unavailable here; a call to a closed page rings by push and Answer connects it with media both ways', async () => {
    const url = journey.server.url;
    const noorBrowser = await closedAppBrowser();
    const noor = await noorBrowser.context.newPage();
    await signIn(noor, url, NOOR);
    step('signed in');
    // The service worker is installed, controls the page, and cached the shell.
    await noor.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await expect.poll(() => noor.evaluate(() => !!navigator.serviceWorker.controller), { message: 'page controlled by the worker' }).toBe(true);
    const cached = await noor.evaluate(async () => {
      const names = await caches.keys();
      const urls: string[] = [];
      for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
      return { names, urls };
    });
    expect(cached.names.some((n) => n.startsWith('parley-shell-'))).toBe(true);
    expect(cached.urls).toContain('/index.html');
    expect(cached.urls.some((u) => /^\/assets\/index-.*\.js$/.test(u))).toBe(true);
    // The API went through the worker (the page called /api/me), and none of it is cached.
    expect(cached.urls.filter((u) => u.startsWith('/api') || u.startsWith('/socket.io'))).toEqual([]);

    step('shell cached');
    // Chromium's own verdict: nothing stops installing Parley.
    const cdp = await noorBrowser.context.newCDPSession(noor);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    expect(installabilityErrors.map((e) => e.errorId)).toEqual([]);
    const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[] };
    expect(manifest.url).toBe(`${url}/manifest.webmanifest`);
    expect(manifest.errors).toEqual([]);
    await cdp.detach();

    step('installable');
    // The offer after sign-in, and the settings: Chromium here has no push service, and says so.
    await noor.getByRole('region', { name: 'Notifications' }).getByRole('button', { name: 'Turn on' }).waitFor();
    await noor.goto(`${url}/#/settings`);
    const toggle = noor.getByRole('switch', { name: 'Ring this device when Parley is closed' });
    await toggle.click();
    await noor.getByRole('alert').filter({ hasText: /could not reach its push service/ }).waitFor({ timeout: 30_000 });
    expect(await toggle.isChecked()).toBe(false);
    await screenshot(noor, 'push-settings');

    step('settings shown');
    // So the test subscribes this browser's session at the local push service instead.
    const noorSub = await subscribeAtLocalPushService(noor);
    // Noor closes Parley: no page, only the worker.
    await noor.close();

    step('page closed');
    const dana = await signedInDevice(journey, 'dana', DANA, NOOR);
    const { ring, callId, tag } = await callClosed(dana, noorSub, 'video');
    expect(ring.urgency).toBe('high');
    expect(ring.topic).toBe(callId.replaceAll('-', ''));
    expect(ring.ttl).toBeGreaterThan(30);
    expect((await noorBrowser.deliver(url, ring)).displayed).toEqual([{ tag, title: 'Dana Doctor is calling' }]);
    const shown = await noorBrowser.notification(tag, /Dana Doctor is calling/);
    expect(shown).toMatchObject({ title: 'Dana Doctor is calling', body: 'Video call · Parley', actions: ['Answer', 'Decline'] });

    step('notification shown');
    // The incoming call as the worker showed it (headless Chromium draws no OS notification).
    const card = noorBrowser.blank;
    await card.setViewportSize({ width: 420, height: 170 });
    await card.setContent(notificationCard(shown, url));
    await card.locator('img').evaluate((img: HTMLImageElement) => img.decode());
    await screenshot(card, 'push-incoming-call');

    step('card saved');
    // Answer: the worker asks to open Parley at the call's answer address; open it as Chromium would.
    const opened = await noorBrowser.click(tag, 'answer');
    expect(opened).toEqual([`/?answer=${callId}`]);
    expect((await noorBrowser.notifications()).filter((n) => n.tag === tag)).toEqual([]);
    const woken = await noorBrowser.context.newPage();
    await woken.goto(url + opened[0]);
    await Promise.all([waitConnected(dana), waitConnected(woken)]);
    await expectMediaBothWays('answered from the notification', { name: 'dana', page: dana }, { name: 'noor (woken)', page: woken }, 'video');
    expect(new URL(woken.url()).search).toBe('');

    step('answered');
    // Answered: the server closes the notification everywhere, not as a missed call.
    const closed = await push.next(ofType(noorSub, 'call.closed', callId));
    expect(closed.payload).toMatchObject({ missed: false });
    await hangUpAndWait(dana, woken);
    await openConversation(woken, 'Dana', DANA.name);
    await Promise.all([waitForHistory(dana, HISTORY.completed('video')), waitForHistory(woken, HISTORY.completed('video'))]);
    expect(push.errors).toEqual([]);
  }, 120_000);

  test('Decline in the notification ends the call for the caller with "Declined", without opening Parley', async () => {
    const [hana, ines] = [await person('Hana Hughes', 'doctor'), await person('Ines Ito', 'nurse')];
    const { browser, sub } = await closedCallee(ines);
    const caller = await signedInDevice(journey, 'hana', hana, ines);
    const { ring, tag } = await callClosed(caller, sub, 'audio');
    expect((await browser.deliver(journey.server.url, ring)).displayed).toEqual([{ tag, title: 'Hana Hughes is calling' }]);
    await browser.notification(tag, /^Hana Hughes is calling$/);
    const pagesBefore = browser.context.pages().length;
    expect(await browser.click(tag, 'decline')).toEqual([]);
    await waitForEndText(caller, END_TEXT.declined);
    await waitForHistory(caller, HISTORY.outcome('audio', 'declined'));
    expect(browser.context.pages().length).toBe(pagesBefore);
    expect((await browser.notifications()).filter((n) => n.tag === tag)).toEqual([]);
    expect(push.errors).toEqual([]);
  });

  test('a cancelled call turns into "Missed call", a late ringing push shows it missed, and a message notifies without its text', async () => {
    const url = journey.server.url;
    const [kai, lena] = [await person('Kai Kumar', 'doctor'), await person('Lena Lund', 'nurse')];
    const { browser, sub } = await closedCallee(lena);
    const caller = await signedInDevice(journey, 'kai', kai, lena);
    const { ring, callId, tag } = await callClosed(caller, sub, 'video');
    expect((await browser.deliver(url, ring)).displayed).toEqual([{ tag, title: 'Kai Kumar is calling' }]);
    await browser.notification(tag, /^Kai Kumar is calling$/);
    await callButtons(caller).hangUp.click();
    const closed = await push.next(ofType(sub, 'call.closed', callId));
    expect(closed.payload).toMatchObject({ missed: true });
    expect(closed.topic).toBe(ring.topic);
    expect((await browser.deliver(url, closed)).displayed).toEqual([{ tag, title: 'Missed call from Kai Kumar' }]);
    const missed = await browser.notification(tag, /^Missed call from Kai Kumar$/);
    expect(missed).toMatchObject({ body: 'Video call · Parley', actions: [] });

    // The ringing push delivered late (after the call ended): the worker asks, and shows it missed.
    expect((await browser.deliver(url, ring)).displayed).toEqual([{ tag, title: 'Missed call from Kai Kumar' }]);
    expect((await browser.notifications()).filter((n) => n.tag === tag).map((n) => n.title)).toEqual(['Missed call from Kai Kumar']);

    // Two messages: one notification for the conversation, with neither text (no PUSH_PREVIEWS).
    await sendMessage(caller, 'Bed 4: potassium 6.1');
    const first = await push.next(ofType(sub, 'message.new'));
    const conversationTag = `conversation:${(first.payload as { conversationId: string }).conversationId}`;
    expect((await browser.deliver(url, first)).displayed).toEqual([{ tag: conversationTag, title: 'New message from Kai Kumar' }]);
    await sendMessage(caller, 'Bed 7: sodium 128');
    const second = await push.next(ofType(sub, 'message.new'));
    expect((await browser.deliver(url, second)).displayed).toEqual([{ tag: conversationTag, title: 'New message from Kai Kumar' }]);
    for (const m of [first, second]) {
      expect(m.text).not.toMatch(/potassium|sodium|Bed/);
      expect(m.topic, 'collapsed per conversation at the push service too').toBe(first.topic);
    }
    expect((await browser.notifications()).filter((n) => n.tag.startsWith('conversation:')).map((n) => [n.tag, n.title, n.body])).toEqual([
      [conversationTag, 'New message from Kai Kumar', 'Open Parley to read it'],
    ]);
    expect(push.errors).toEqual([]);
  });

  test('a call cancelled while the worker asks whether it still rings ends as "Missed call", with no ringing notification', async () => {
    const url = journey.server.url;
    const [mia, nils] = [await person('Mia Moreau', 'doctor'), await person('Nils Nagel', 'nurse')];
    const { browser, sub } = await closedCallee(nils);
    const caller = await signedInDevice(journey, 'mia', mia, nils);
    const { ring, callId, tag } = await callClosed(caller, sub, 'audio');

    // The worker's check, answered by the server while the call rings, and that answer held on
    // its way back to the worker until the call's close push has reached the worker.
    const check = `${url}/api/calls/${callId}/ringing`;
    const answered = settable<{ status: number; ringing: unknown }>();
    const release = settable<void>();
    let checkFailed: string | undefined;
    browser.context.on('requestfailed', (r) => {
      if (r.url() === check) checkFailed = r.failure()?.errorText ?? 'failed';
    });
    await browser.context.route(check, async (route) => {
      const res = await route.fetch();
      answered.set({ status: res.status(), ringing: ((await res.json()) as { ringing?: unknown }).ringing });
      await release.promise;
      await route.fulfill({ response: res });
    });
    const mark = browser.mark();
    await browser.send(url, ring);
    const unheld = browser.handled(mark, 1, 'the ringing push').then(() => {
      throw new Error(`the ringing push was handled without its check being held: the route did not see ${check}`);
    });
    expect(await Promise.race([answered.promise, unheld]), 'the server said it rings: the call had not ended yet').toEqual({ status: 200, ringing: true });
    unheld.catch(() => undefined);
    step('ringing check answered, held');

    await callButtons(caller).hangUp.click();
    const closed = await push.next(ofType(sub, 'call.closed', callId));
    expect(closed.payload).toMatchObject({ missed: true });
    // The worker gives up on its check after 4 s (RINGING_CHECK_MS) and then rings: past that, this is not the overlap under test.
    if (checkFailed) throw new Error(`the worker's ringing check ended (${checkFailed}) before the close push was delivered`);
    await browser.send(url, closed);
    // One push event ends while the server's answer is still held: the close (handled on its own)
    // or the ringing push (which learnt of the close).
    await browser.handled(mark, 1, 'either push while the ringing check is held');
    step(`close delivered; the worker's check: ${checkFailed ?? 'still waiting'}; released`);
    release.set();

    const { displayed } = await browser.handled(mark, 2, 'both pushes');
    expect((await browser.notifications()).filter((n) => n.tag === tag).map((n) => [n.title, n.actions])).toEqual([['Missed call from Mia Moreau', []]]);
    // Nothing rang for the ended call, not even for a moment.
    expect(displayed).toEqual([{ tag, title: 'Missed call from Mia Moreau' }]);
    await browser.context.unroute(check);
    expect(push.errors).toEqual([]);
  });

  test('answered on another device: a ringing push the closed browser gets only afterwards shows no "Missed call"', async () => {
    const url = journey.server.url;
    const [olga, piet] = [await person('Olga Ortiz', 'doctor'), await person('Piet Peters', 'nurse')];
    const { browser, sub } = await closedCallee(piet);
    const caller = await signedInDevice(journey, 'olga', olga, piet);
    // Piet's other device, open: it rings on its socket and he answers there.
    const desk = await signedInDevice(journey, 'piet-desk', piet);
    const { ring, callId, tag } = await callClosed(caller, sub, 'audio');
    await answerCall(desk);
    await Promise.all([waitConnected(caller), waitConnected(desk)]);
    const closed = await push.next(ofType(sub, 'call.closed', callId));
    expect(closed.payload).toMatchObject({ missed: false });
    step('answered on the desk; the close push is out');

    // The closed browser was offline while it rang and gets the ringing push late: the worker asks,
    // learns it was answered, and shows nothing (before, it showed "Missed call from Olga Ortiz").
    expect((await browser.deliver(url, ring)).displayed).toEqual([]);
    expect((await browser.deliver(url, closed)).displayed).toEqual([]);
    expect((await browser.notifications()).filter((n) => n.tag === tag)).toEqual([]);

    // After the call too: its history entry says it was answered.
    await hangUpAndWait(caller, desk);
    expect((await browser.deliver(url, ring)).displayed).toEqual([]);
    expect((await browser.notifications()).filter((n) => n.tag === tag)).toEqual([]);
    expect(push.errors).toEqual([]);
  });

  test('where push cannot work the settings say why, and the rest of Parley works: notifications blocked, an insecure origin', async () => {
    const url = journey.server.url;
    const [omar, pia] = [await person('Omar Okafor', 'doctor'), await person('Pia Park', 'nurse')];
    // The settings' "Notifications" section, and in it the reason push cannot work here.
    const unavailable = (page: Page, why: RegExp) => page.getByRole('region', { name: 'Notifications' }).getByRole('status').filter({ hasText: why });

    // Blocked: this browser was told never to show Parley's notifications.
    // (No permissions granted by Playwright: its grant for every origin would override this one.)
    const blocked = await journey.device('blocked', { permissions: [] });
    const pageCdp = await blocked.context().newCDPSession(blocked);
    const { targetInfo } = (await pageCdp.send('Target.getTargetInfo')) as { targetInfo: { browserContextId: string } };
    const browserCdp = await journey.browser.browser.newBrowserCDPSession();
    await browserCdp.send('Browser.setPermission', { permission: { name: 'notifications' }, setting: 'denied', origin: url, browserContextId: targetInfo.browserContextId });
    // Kept attached to the end: Chromium drops a session's permission overrides when it detaches.
    await signIn(blocked, url, omar);
    expect(await blocked.evaluate(() => Notification.permission)).toBe('denied');
    await blocked.goto(`${url}/#/settings`);
    const blockedToggle = blocked.getByRole('switch', { name: 'Ring this device when Parley is closed' });
    await unavailable(blocked, /Notifications are blocked for Parley in this browser's site settings/).waitFor();
    expect(await blockedToggle.isDisabled()).toBe(true);
    await blocked.goto(`${url}/#/`);
    // No offer to turn on what cannot work.
    await mainView(blocked).search.waitFor();
    expect(await blocked.getByRole('region', { name: 'Notifications' }).count()).toBe(0);

    // Insecure: plain http at a name other than localhost, so no service worker and no push.
    const insecureBrowser = await launchBrowser({ args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP parley.test 127.0.0.1'] });
    try {
      const insecureUrl = `http://parley.test:${journey.server.port}`;
      const page = await journey.device('insecure', {}, insecureBrowser);
      await signIn(page, insecureUrl, pia);
      expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
      await page.goto(`${insecureUrl}/#/settings`);
      await unavailable(page, /not on a secure \(https\) address/).waitFor();
      expect(await page.getByRole('switch', { name: 'Ring this device when Parley is closed' }).isDisabled()).toBe(true);

      // Nothing else breaks: the two talk as usual.
      await page.goto(`${insecureUrl}/#/`);
      await openConversation(blocked, 'Pia', pia.name);
      await openConversation(page, 'Omar', omar.name);
      await sendMessage(blocked, 'Ward round at nine');
      await waitForMessage(page, 'Ward round at nine');
      await sendMessage(page, 'On my way');
      await waitForMessage(blocked, 'On my way');
    } finally {
      await insecureBrowser.close();
      await browserCdp.detach();
    }
  });
});

/** The notification as an OS would draw it, from what getNotifications() returned. */
function notificationCard(n: ShownNotification, origin: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const icon = n.icon.startsWith('http') ? n.icon : origin + n.icon;
  return `<!doctype html><meta charset="utf-8"><body style="margin:0;padding:16px;background:#e5e7eb;font:14px system-ui,sans-serif">
<div role="alert" style="background:#fff;border-radius:12px;box-shadow:0 4px 16px rgba(0,0,0,.18);padding:14px 16px;width:356px">
  <div style="display:flex;gap:12px;align-items:center">
    <img src="${esc(icon)}" width="44" height="44" alt="" style="border-radius:10px">
    <div><div style="font-weight:600;font-size:15px">${esc(n.title)}</div><div style="color:#4b5563">${esc(n.body)}</div>
    <div style="color:#9ca3af;font-size:12px">${esc(new URL(origin).host)}</div></div>
  </div>
  <div style="display:flex;gap:8px;margin-top:12px">${n.actions
    .map((a, i) => `<span style="flex:1;text-align:center;padding:8px;border-radius:8px;font-weight:600;${i === 0 ? 'background:#0f766e;color:#fff' : 'background:#f3f4f6;color:#111827'}">${esc(a)}</span>`)
    .join('')}</div>
</div></body>`;
}
