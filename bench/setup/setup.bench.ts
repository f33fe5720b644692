// Bench 1, call set-up in the browser: Answer click → first remote video frame on both sides, in
// headless Chromium on loopback. Parley (its own server, two signed-in pages, a video call through
// the UI) against a bare two-page WebRTC app over a minimal websocket relay (bench/setup/bare.html,
// bench/baselines/ws-relay.ts), in the same browser, calls alternated, medians and the ratio.
// Both journeys ring for the same time before the click, as a person takes a moment to answer.
// Every page carries the same probe (probe.ts), which also gives the per-step timeline.
// With `preconnected`, a third app in the same run: the bare app with its connection made while it
// rings (bench/setup/bare.html?preconnected=1), the floor of a design that sends no media before the click.
// With `preview`, the bare app whose callee shows its own camera while it rings (?preview=1), and with
// both, the pre-connected one that does too.
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import buildWeb from '../../e2e/global-setup.ts';
import { launchBrowser, type TestBrowser } from '../../e2e/support/browser.ts';
import { webDist } from '../../e2e/support/paths.ts';
import { openConversation } from '../../e2e/support/ui.ts';
import { seedDatabase, startParley } from '../lib/parley.ts';
import { freePort, startService, type Service } from '../lib/proc.ts';
import { median, ratio } from '../lib/stats.ts';
import { PROBE_SCRIPT, type ProbeEvent } from './probe.ts';

export interface SetupOptions {
  /** Measured calls of each app (after the warm-up). */
  calls: number;
  /** Unmeasured calls of each app first (JIT, codecs, the first getUserMedia). */
  warmup: number;
  /** From the incoming call showing to the Answer click. */
  ringMs: number;
  /** Also measure the pre-connected bare call (`--preconnected`). */
  preconnected?: boolean;
  /** Also measure the bare call whose callee shows its own camera while it rings (`--preview`); with `preconnected`, the pre-connected one too. */
  preview?: boolean;
}

export const SETUP_FULL: SetupOptions = { calls: 10, warmup: 1, ringMs: 1000 };
export const SETUP_SMOKE: SetupOptions = { calls: 1, warmup: 0, ringMs: 300 };

/** The bare page's variants: their query parameters (and names on the relay, so every pair shares it). */
const BARE_VARIANTS = { bare: '', preview: '&preview=1', preconnected: '&preconnected=1', preconnectedPreview: '&preconnected=1&preview=1' } as const;
type BareApp = keyof typeof BARE_VARIANTS;
type App = 'parley' | BareApp;
/** The variants measured beside the plain bare call, each with its ratio to it. */
type ExtraApp = Exclude<BareApp, 'bare'>;

/** One call: ms from the callee's Answer click to the first remote frame on each side. */
export interface CallSample {
  /** The Answer click, ms since the epoch on the machine's clock (what server logs' `time` is on). */
  clickAt: number;
  setupMs: number;
  calleeFrameMs: number;
  callerFrameMs: number;
  /** Both pages' probe events, relative to the click, `caller `/`callee ` before each step. */
  events: ProbeEvent[];
}

export interface TimelineStep {
  step: string;
  /** Median over the calls of the step's first occurrence, ms after the Answer click (negative: before it). */
  medianMs: number;
  /** In how many of the calls it happened. */
  seen: number;
}

export interface AppFigures {
  /** Answer click → first remote frame on both sides, per call. */
  setupMs: number[];
  medianMs: number;
  calleeFrameMedianMs: number;
  callerFrameMedianMs: number;
  timeline: TimelineStep[];
}

export interface SetupResult {
  options: SetupOptions;
  apps: Record<'parley' | 'bare', AppFigures> & Partial<Record<ExtraApp, AppFigures>>;
  /** Parley's median over the bare app's; the target is ≤ 0.9. */
  ratio: number;
  /** Each extra bare variant's median over the plain bare app's. */
  extraRatios: Partial<Record<ExtraApp, number>>;
}

const FRAME_TIMEOUT_MS = 15_000;

interface Pair {
  caller: Page;
  callee: Page;
}

async function probedPage(ctx: BrowserContext): Promise<Page> {
  await ctx.addInitScript({ content: PROBE_SCRIPT });
  const page = await ctx.newPage();
  page.setDefaultTimeout(FRAME_TIMEOUT_MS);
  return page;
}

async function parleyPair(browser: TestBrowser, url: string, cookies: [string, string]): Promise<Pair> {
  const pages: Page[] = [];
  for (const [i, cookie] of cookies.entries()) {
    const ctx = await browser.newContext();
    // BENCH_SETUP_CSS='rules': appended to Parley's stylesheet (its CSP refuses an inline style), to
    // measure what drawing a part of the call view costs, e.g. '.call-local-video{display:none}'.
    // BENCH_SETUP_CSS_ON=caller or callee: on that page only.
    const only = process.env.BENCH_SETUP_CSS_ON;
    const css = only && only !== (i === 0 ? 'caller' : 'callee') ? undefined : process.env.BENCH_SETUP_CSS;
    if (css) {
      await ctx.route(/\/assets\/.*\.css$/, async (route) => {
        const res = await route.fetch();
        await route.fulfill({ response: res, body: `${await res.text()}\n${css}\n` });
      });
    }
    const [name = '', value = ''] = cookie.split('=');
    await ctx.addCookies([{ name, value, url }]);
    const page = await probedPage(ctx);
    await page.goto(url);
    if (css) {
      // The page's stylesheet must end with the last rule given (CSSOM spells it its own way: compare selectors).
      const last = (await page.evaluate('[...document.styleSheets].flatMap((s) => [...s.cssRules]).at(-1)?.cssText ?? ""')) as string;
      const selector = css.slice(css.lastIndexOf('}', css.length - 2) + 1, css.lastIndexOf('{')).trim();
      if (!last.startsWith(selector)) throw new Error(`BENCH_SETUP_CSS did not reach the page: its last rule is ${last}`);
    }
    const peer = `Bench ${1 - i}`;
    await openConversation(page, peer, peer);
    pages.push(page);
  }
  return { caller: pages[0]!, callee: pages[1]! };
}

/** The bare app's two pages in one of its variants (their names on the relay differ, so every pair shares it). */
async function barePair(browser: TestBrowser, url: string, app: BareApp): Promise<Pair> {
  const open = async (me: string, peer: string) => {
    const page = await probedPage(await browser.newContext());
    await page.goto(`${url}/?id=${app}-${me}&peer=${app}-${peer}${BARE_VARIANTS[app]}`);
    await page.evaluate('window.bare.open');
    return page;
  };
  return { caller: await open('caller', 'callee'), callee: await open('callee', 'caller') };
}

const reset = (p: Pair) => Promise.all([p.caller.evaluate('window.__probe.reset()'), p.callee.evaluate('window.__probe.reset()')]);
const events = (page: Page) => page.evaluate('window.__probe.events()') as Promise<ProbeEvent[]>;
/** Polls from Node: Parley's CSP (script-src 'self') refuses waitForFunction's string predicate; CDP evaluation is not subject to it. */
async function waitFrame(page: Page): Promise<void> {
  const deadline = Date.now() + FRAME_TIMEOUT_MS;
  while (!((await page.evaluate('window.__probe.firstFrames()')) as number)) {
    if (Date.now() > deadline) throw new Error(`no first remote frame within ${FRAME_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rings, waits ringMs, clicks Answer, waits for the first remote frame on both pages; returns the figures. */
async function oneCall(app: App, p: Pair, o: SetupOptions): Promise<CallSample> {
  await reset(p);
  if (app === 'parley') await p.caller.getByRole('button', { name: 'Video call', exact: true }).click();
  else await p.caller.evaluate('window.bare.call()');
  const answer = app === 'parley' ? p.callee.getByRole('dialog', { name: /Incoming/ }).getByRole('button', { name: 'Answer', exact: true }) : p.callee.getByRole('button', { name: 'Answer', exact: true });
  await answer.waitFor({ state: 'visible' });
  await sleep(o.ringMs);
  const profiling = process.env.BENCH_SETUP_PROFILE ? await startProfiles(p) : null;
  const tracing = process.env.BENCH_SETUP_TRACE ? await startTrace(p, `${process.env.BENCH_SETUP_TRACE}/${app}-${Date.now()}.json`) : null;
  await answer.click();
  await Promise.all([waitFrame(p.caller), waitFrame(p.callee)]);
  if (profiling) await profiling.stop(`${process.env.BENCH_SETUP_PROFILE}/${app}-${Date.now()}`);
  if (tracing) await tracing.stop();
  const [callerEvents, calleeEvents] = await Promise.all([events(p.caller), events(p.callee)]);
  const click = calleeEvents.filter((e) => e.step === 'click').at(-1)?.at;
  if (click === undefined) throw new Error(`${app}: the Answer click was not seen by the probe`);
  const frame = (evs: ProbeEvent[]) => {
    const f = evs.find((e) => e.step.endsWith(':first-frame'));
    if (!f) throw new Error(`${app}: no first frame recorded`);
    return f.at - click;
  };
  const calleeFrameMs = frame(calleeEvents);
  const callerFrameMs = frame(callerEvents);
  const rel = (side: string, evs: ProbeEvent[]) =>
    evs.filter((e) => e.step !== 'click').map((e) => ({ step: `${side} ${e.step.replace(/^pc\d+:/, 'pc:')}`, at: Math.round((e.at - click) * 10) / 10 }));
  await hangUp(app, p);
  return {
    clickAt: Math.round(click * 10) / 10,
    setupMs: Math.round(Math.max(calleeFrameMs, callerFrameMs) * 10) / 10,
    calleeFrameMs: Math.round(calleeFrameMs * 10) / 10,
    callerFrameMs: Math.round(callerFrameMs * 10) / 10,
    events: [...rel('caller', callerEvents), ...rel('callee', calleeEvents)].sort((a, b) => a.at - b.at),
  };
}

/** BENCH_SETUP_PROFILE=DIR: a DevTools CPU profile of both pages from the click to the first frames (open in Chrome's DevTools). */
async function startProfiles(p: Pair): Promise<{ stop(prefix: string): Promise<void> }> {
  const sessions = await Promise.all([p.caller, p.callee].map((page) => page.context().newCDPSession(page)));
  for (const s of sessions) {
    await s.send('Profiler.enable');
    await s.send('Profiler.setSamplingInterval', { interval: 200 });
    await s.send('Profiler.start');
  }
  return {
    async stop(prefix) {
      for (const [i, s] of sessions.entries()) {
        const { profile } = await s.send('Profiler.stop');
        fs.mkdirSync(path.dirname(prefix), { recursive: true });
        fs.writeFileSync(`${prefix}-${i === 0 ? 'caller' : 'callee'}.cpuprofile`, JSON.stringify(profile));
        await s.detach();
      }
    },
  };
}

/**
 * BENCH_SETUP_TRACE=DIR: a Chrome trace of the whole browser (both pages' main threads, the
 * compositor and raster threads: style, layout, paint, script) from the click to the first frames;
 * open it in DevTools' Performance panel or ui.perfetto.dev.
 */
async function startTrace(p: Pair, file: string): Promise<{ stop(): Promise<void> }> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const browser = p.callee.context().browser();
  if (!browser) throw new Error('BENCH_SETUP_TRACE needs a browser (not a persistent context)');
  await browser.startTracing(p.callee, {
    path: file,
    categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame', 'blink', 'cc', 'toplevel', 'v8.execute'],
  });
  return { stop: async () => void (await browser.stopTracing()) };
}

async function hangUp(app: App, p: Pair): Promise<void> {
  await p.caller.getByRole('button', { name: 'Hang up', exact: true }).click();
  if (app !== 'parley') {
    await p.callee.getByRole('status').filter({ hasText: 'idle' }).waitFor();
    return;
  }
  // The ended call shows its reason for a few seconds; Close puts the conversation back.
  for (const page of [p.caller, p.callee]) {
    const close = page.getByRole('button', { name: 'Close', exact: true });
    await close.waitFor({ state: 'visible' });
    await close.click();
  }
  await p.caller.getByRole('button', { name: 'Video call', exact: true }).waitFor({ state: 'visible' });
}

/** Median time of each step's first occurrence per call, in order. */
export function timeline(samples: CallSample[]): TimelineStep[] {
  const byStep = new Map<string, number[]>();
  for (const s of samples) {
    const seen = new Set<string>();
    for (const e of s.events) {
      if (seen.has(e.step)) continue;
      seen.add(e.step);
      byStep.set(e.step, [...(byStep.get(e.step) ?? []), e.at]);
    }
  }
  return [...byStep.entries()].map(([step, at]) => ({ step, medianMs: median(at), seen: at.length })).sort((a, b) => a.medianMs - b.medianMs);
}

function figures(samples: CallSample[]): AppFigures {
  return {
    setupMs: samples.map((s) => s.setupMs),
    medianMs: median(samples.map((s) => s.setupMs)),
    calleeFrameMedianMs: median(samples.map((s) => s.calleeFrameMs)),
    callerFrameMedianMs: median(samples.map((s) => s.callerFrameMs)),
    timeline: timeline(samples),
  };
}

/** The timeline as text: one line per step, `+123.4 ms  callee ws:out call.accept`. */
export function formatTimeline(app: string, t: TimelineStep[]): string {
  const steps = t.filter((s) => !/ws:(in|out) ack$/.test(s.step));
  return [`${app} (ms after the Answer click, median of the calls):`, ...steps.map((s) => `  ${s.medianMs >= 0 ? '+' : ''}${s.medianMs.toFixed(1).padStart(7)} ms  ${s.step}`)].join('\n');
}

/** The bare variants the options ask for beside the plain bare call. */
function extraApps(o: SetupOptions): ExtraApp[] {
  return [...(o.preview ? (['preview'] as const) : []), ...(o.preconnected ? (['preconnected'] as const) : []), ...(o.preconnected && o.preview ? (['preconnectedPreview'] as const) : [])];
}

/** How the report names each extra variant. */
const EXTRA_APP_NAMES: Record<ExtraApp, string> = {
  preview: "bare with the callee's camera on while ringing",
  preconnected: 'bare pre-connected while ringing',
  preconnectedPreview: "bare pre-connected with the callee's camera on while ringing",
};

/** The extra variants a run measured, in order, each named, with its figures and its ratio to the plain bare call. */
export function measuredExtras(r: SetupResult): { name: string; figures: AppFigures; ratio: number }[] {
  return (Object.keys(EXTRA_APP_NAMES) as ExtraApp[]).flatMap((app) => {
    const figures = r.apps[app];
    const ratio = r.extraRatios[app];
    return figures && ratio !== undefined ? [{ name: EXTRA_APP_NAMES[app], figures, ratio }] : [];
  });
}

export async function runSetup(o: SetupOptions, log: (s: string) => void = () => undefined): Promise<SetupResult> {
  buildWeb();
  const seeded = await seedDatabase(2);
  const web = path.join(seeded.dir, 'web');
  fs.cpSync(webDist, web, { recursive: true });
  const services: Service[] = [];
  let browser: TestBrowser | undefined;
  try {
    const parley = await startParley({ dbFile: seeded.file, env: { WEB_DIST: web, CALL_INVITES_PER_MINUTE: '1000', RATE_LIMIT_INVITE: '1000/1000' } });
    services.push(parley);
    const port = await freePort();
    const relay = await startService({ script: 'bench/baselines/ws-relay.ts', args: [String(port)], port });
    services.push(relay);
    browser = await launchBrowser();
    const extras = extraApps(o);
    const pairs: Partial<Record<App, Pair>> = { parley: await parleyPair(browser, parley.url, [seeded.users[0]!.cookie, seeded.users[1]!.cookie]) };
    for (const app of ['bare', ...extras] as const) pairs[app] = await barePair(browser, relay.url, app);
    const measured = Object.keys(pairs) as App[];
    const samples = Object.fromEntries(measured.map((app) => [app, [] as CallSample[]])) as Record<App, CallSample[]>;
    for (let i = 0; i < o.warmup + o.calls; i++) {
      // Alternate the order, so no app always follows the same one's teardown.
      const order = i % 2 === 0 ? measured : measured.toReversed();
      for (const app of order) {
        const s = await oneCall(app, pairs[app]!, o);
        const warm = i < o.warmup;
        if (!warm) samples[app].push(s);
        log(`setup: ${app} call ${i + 1}${warm ? ' (warm-up)' : ''}: ${s.setupMs} ms (callee ${s.calleeFrameMs}, caller ${s.callerFrameMs})`);
        await sleep(300);
      }
    }
    // BENCH_SETUP_SAMPLES=FILE: every measured call's probe events, with its click's time on the machine's clock.
    if (process.env.BENCH_SETUP_SAMPLES) fs.writeFileSync(process.env.BENCH_SETUP_SAMPLES, JSON.stringify(samples));
    const apps: SetupResult['apps'] = { parley: figures(samples.parley), bare: figures(samples.bare) };
    const extraRatios: SetupResult['extraRatios'] = {};
    for (const app of extras) {
      const f = (apps[app] = figures(samples[app]));
      extraRatios[app] = ratio(f.medianMs, apps.bare.medianMs);
    }
    return { options: o, apps, ratio: ratio(apps.parley.medianMs, apps.bare.medianMs), extraRatios };
  } finally {
    await browser?.close();
    await Promise.allSettled(services.map((s) => s.stop()));
    fs.rmSync(seeded.dir, { recursive: true, force: true });
  }
}
