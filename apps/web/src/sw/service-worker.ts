/// <reference lib="webworker" />
// Parley's service worker: caches the app shell (the Vite build, listed at build time by the
// plugin in vite.config.ts) and shows what the server pushes. Never caches the API or the socket.
// First: no code generation by zod under the CSP (see packages/protocol/src/jitless.ts).
import '@parley/protocol/jitless';
import type { CallRingingStatus } from '@parley/protocol';
import { ANSWER_PARAM, PushPayload, pushTag } from '@parley/protocol/push-payload';
import { messageNotification, missedNotification, ringingNotification, type NotificationData, type NotificationSpec } from '../features/push/notificationContent.ts';
import { CallPushQueue, type CallTurn } from '../features/push/callPushQueue.ts';

declare const self: ServiceWorkerGlobalScope;
/** Every file of the build, as absolute paths; replaced at build time. */
declare const __PARLEY_PRECACHE__: string[];
declare const __PARLEY_VERSION__: string;

const CACHE = `parley-shell-${__PARLEY_VERSION__}`;
const SHELL = '/index.html';
/** Paths that always go to the network: live data, never a stale copy. */
const NEVER_CACHED = ['/api/', '/socket.io', '/healthz', '/metrics'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(__PARLEY_PRECACHE__);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith('parley-shell-') && key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (NEVER_CACHED.some((p) => url.pathname.startsWith(p))) return;
  if (event.request.mode === 'navigate') {
    // The network first, so a new version shows at once; the cached shell when offline.
    event.respondWith(fetch(event.request).catch(async () => (await caches.match(SHELL)) ?? Response.error()));
    return;
  }
  if (__PARLEY_PRECACHE__.includes(url.pathname)) {
    event.respondWith((async () => (await caches.match(url.pathname)) ?? fetch(event.request))());
  }
});

const show = (n: NotificationSpec) =>
  self.registration.showNotification(n.title, {
    body: n.body,
    tag: n.tag,
    requireInteraction: n.requireInteraction,
    data: n.data,
    icon: '/icons/icon-192.png',
    badge: '/icons/badge-72.png',
    // `actions` and `renotify` are in Chromium's NotificationOptions, not yet in TypeScript's.
    ...({ actions: n.actions, renotify: n.actions.length > 0 } as object),
  });

async function closeTag(tag: string): Promise<void> {
  for (const n of await self.registration.getNotifications({ tag })) n.close();
}

/** How long a ringing push waits to learn whether its call still rings: a phone just woken may have a poor network. */
const RINGING_CHECK_MS = 4_000;

/**
 * Whether the call still rings for this person. Unknown (offline, signed out, no answer in time)
 * counts as ringing; a server that does not say whether an ended call was missed (an older one)
 * counts as missed, as before it could.
 */
async function ringState(callId: string, closed: AbortSignal): Promise<CallRingingStatus> {
  try {
    const signal = AbortSignal.any([closed, AbortSignal.timeout(RINGING_CHECK_MS)]);
    const res = await fetch(`/api/calls/${callId}/ringing`, { credentials: 'same-origin', cache: 'no-store', signal });
    if (!res.ok) return res.status === 404 ? { ringing: false, missed: true } : { ringing: true, missed: false };
    const body = (await res.json()) as { ringing?: unknown; missed?: unknown };
    return { ringing: body.ringing === true, missed: body.missed !== false };
  } catch {
    return { ringing: true, missed: false };
  }
}

type Ringing = Extract<PushPayload, { type: 'call.ringing' }>;
type Closed = Extract<PushPayload, { type: 'call.closed' }>;

async function onRinging(p: Ringing, call: CallTurn): Promise<void> {
  // The call's close push has come (before this one, or while it asked): that push decides what shows.
  if (call.closed) return;
  const state = await ringState(p.callId, call.signal);
  if (call.closed) return;
  if (state.ringing && Date.now() < p.expiresAt) return show(ringingNotification(p));
  // A push that arrives after the call ended is a missed call, not a ringing one, unless the
  // person answered or declined it on another device: then there is nothing to tell.
  if (state.missed || state.ringing) await show(missedNotification(p));
}

async function onClosed(p: Closed): Promise<void> {
  await closeTag(pushTag.call(p.callId));
  if (p.missed) await show(missedNotification(p));
}

/** A call's pushes, one at a time in the order they came: see callPushQueue.ts. */
const calls = new CallPushQueue();

async function onPush(data: unknown): Promise<void> {
  const parsed = PushPayload.safeParse(data);
  if (!parsed.success) {
    // A push must show something; say little rather than nothing.
    return self.registration.showNotification('Parley', { body: 'Something new in Parley', tag: 'parley' });
  }
  const p = parsed.data;
  switch (p.type) {
    case 'call.ringing':
      await calls.add(p.callId, false, (call) => onRinging(p, call));
      // One that found its call closed, or answered or declined elsewhere, showed nothing: its event
      // lasts until the call's close push (if it is on its way) has shown what it shows.
      return calls.idle(p.callId);
    case 'call.closed':
      return calls.add(p.callId, true, () => onClosed(p));
    case 'message.new':
      return show(messageNotification(p));
  }
}

self.addEventListener('push', (event) => {
  let data: unknown;
  try {
    data = event.data?.json();
  } catch {
    data = undefined;
  }
  event.waitUntil(
    onPush(data).catch((err: unknown) => {
      // Otherwise a push that shows nothing leaves no trace.
      console.error('[Push] could not show the push:', err);
      throw err;
    }),
  );
});

/** Focuses an open Parley window (telling it what to do) or opens `url`. */
async function openApp(url: string, message?: { type: 'answer'; callId: string }): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (open) {
    if (message) open.postMessage(message);
    await open.focus();
    return;
  }
  await self.clients.openWindow(url);
}

async function onClick(data: NotificationData | undefined, action: string, notification: Notification): Promise<void> {
  notification.close();
  if (!data) return openApp('/');
  if (data.kind === 'call' && action === 'decline') {
    // Declined without opening the app: the caller reads "Declined" on every device of theirs.
    await fetch(`/api/calls/${data.callId}/decline`, { method: 'POST', credentials: 'same-origin' }).catch(() => undefined);
    return;
  }
  if (data.kind === 'call') return openApp(`/?${ANSWER_PARAM}=${data.callId}`, { type: 'answer', callId: data.callId });
  if (data.kind === 'message') return openApp(`/#/c/${data.conversationId}`);
  return openApp('/');
}

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(onClick(event.notification.data as NotificationData | undefined, event.action, event.notification));
});
