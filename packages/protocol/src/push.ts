import { z } from 'zod';
import { Id } from './common.ts';

/*
 * Web Push (docs/protocol.md, "Push"). A browser subscribes with its push service and hands the
 * subscription to Parley, which keeps it for the auth session that sent it. Parley pushes to a
 * session only while none of its devices has a live socket; the service worker shows what arrives.
 */

/** Base64url without padding, as PushSubscription.toJSON() gives the keys. */
const Base64Url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

export const PUSH_LIMITS = {
  /** Characters in a push service endpoint URL (the largest seen are ~500). */
  endpointMax: 2048,
} as const;

/** `POST /api/push/subscriptions`: PushSubscription.toJSON() of this browser. */
export const PushSubscriptionRequest = z.strictObject({
  endpoint: z.url({ protocol: /^https$/, message: 'must be an https URL' }).max(PUSH_LIMITS.endpointMax),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    /** The browser's P-256 public key, uncompressed (65 bytes → 87 characters). */
    p256dh: Base64Url(100),
    /** The 16-byte authentication secret (22 characters). */
    auth: Base64Url(44),
  }),
});
export type PushSubscriptionRequest = z.infer<typeof PushSubscriptionRequest>;

/** `DELETE /api/push/subscriptions`: forget this browser's subscription. */
export const PushUnsubscribeRequest = z.strictObject({ endpoint: z.string().min(1).max(PUSH_LIMITS.endpointMax) });
export type PushUnsubscribeRequest = z.infer<typeof PushUnsubscribeRequest>;

/** `GET /api/push/config`: the VAPID public key (applicationServerKey). The private key never leaves the server. */
export const PushConfigResponse = z.object({ publicKey: z.string(), subscribed: z.boolean() });
export type PushConfigResponse = z.infer<typeof PushConfigResponse>;

/**
 * `GET /api/calls/:id/ringing`: whether the call still rings for the signed-in person (the service
 * worker asks), and if not, whether it was a missed call for them: `missed: false` when they
 * answered or declined it on one of their devices, so a late ringing push shows no "Missed call".
 */
export const CallRingingStatus = z.object({ ringing: z.boolean(), missed: z.boolean() });
export type CallRingingStatus = z.infer<typeof CallRingingStatus>;

export const CallIdParams = z.strictObject({ id: Id });

// What the server pushes, its notification tags and the Answer address: zod/mini, bundled by the
// service worker on its own.
export * from './push-payload.ts';
