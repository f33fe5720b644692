import { PushConfigResponse } from '@parley/protocol';
import { errorMessage, request } from '../../lib/http.ts';

/** Why this browser cannot be rung by push, in plain words; null when it can (as far as can be known before trying). */
export function pushUnavailableReason(): string | null {
  if (!window.isSecureContext) {
    return 'Parley is not on a secure (https) address here, so this browser cannot ring you when Parley is closed. Ask your administrator to serve Parley over HTTPS.';
  }
  if (!('serviceWorker' in navigator)) return 'This browser cannot run Parley in the background (it has no service workers), so it cannot ring you when Parley is closed.';
  if (!('PushManager' in window)) return 'This browser does not support Web Push, so it cannot ring you when Parley is closed. On an iPhone or iPad, add Parley to the home screen first.';
  if (!('Notification' in window)) return 'This browser cannot show notifications.';
  if (Notification.permission === 'denied') {
    return "Notifications are blocked for Parley in this browser's site settings. Allow them there, then come back here.";
  }
  return null;
}

/**
 * Registers dist/sw.js (built by vite.config.ts). Not in `vite dev`, which serves no worker. MODE,
 * not PROD: a build run with NODE_ENV=test (the e2e set-up under Vitest) has PROD false, yet ships sw.js.
 */
export function registerServiceWorker(): void {
  if (import.meta.env.MODE === 'development' || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js').catch((err: unknown) => console.warn('[Push] service worker not registered:', errorMessage(err)));
}

export class PushSetupError extends Error {
  override name = 'PushSetupError';
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new PushSetupError('Parley’s background worker did not start in this browser. Reload the page and try again.')), 10_000),
  );
  return Promise.race([navigator.serviceWorker.ready, timeout]);
}

/** Whether this browser is subscribed and the server has the subscription for this session. */
export async function isSubscribed(): Promise<boolean> {
  const reg = await navigator.serviceWorker.getRegistration();
  const sub = await reg?.pushManager.getSubscription();
  if (!sub) return false;
  const config = await request('/api/push/config', { schema: PushConfigResponse });
  return config.subscribed;
}

/** Asks for permission, subscribes with the server's VAPID public key and hands the subscription to the server. */
export async function subscribe(): Promise<void> {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new PushSetupError(
      permission === 'denied'
        ? "Notifications are blocked for Parley in this browser's site settings. Allow them there, then try again."
        : 'Parley needs permission to show notifications to ring this device.',
    );
  }
  const [reg, config] = await Promise.all([registration(), request('/api/push/config', { schema: PushConfigResponse })]);
  let sub: PushSubscription;
  try {
    const noAnswer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('it did not answer')), 20_000));
    sub = await Promise.race([reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(config.publicKey) }), noAnswer]);
  } catch (err) {
    throw new PushSetupError(`This browser could not reach its push service, so it cannot ring you when Parley is closed (${err instanceof Error ? err.message : String(err)}).`);
  }
  await request('/api/push/subscriptions', { method: 'POST', body: sub.toJSON() });
}

/** Stops the pushes to this browser: on the server and at the push service. */
export async function unsubscribe(): Promise<void> {
  const reg = await navigator.serviceWorker?.getRegistration();
  const sub = await reg?.pushManager.getSubscription();
  if (!sub) return;
  await request('/api/push/subscriptions', { method: 'DELETE', body: { endpoint: sub.endpoint } }).catch(() => undefined);
  await sub.unsubscribe().catch(() => false);
}
