import type { Agent } from 'node:https';
import type { CallKind, EndReason, PushPayload } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { Realtime } from '../../realtime/realtime.ts';
import type { PushStore, StoredSubscription } from './push-store.ts';
import { loadWebPush, type VapidKeys } from './vapid.ts';

/**
 * What the call and chat features tell the push feature. Each method returns at once and never
 * throws: a push that cannot be sent is logged, and nothing else is held up.
 */
export interface PushNotifier {
  /** Whether this person has a live session subscribed to push (a call to them can ring there). */
  canRing(userId: string): Promise<boolean>;
  /** A call rings for `calleeId`: push to each of their subscribed sessions without a live socket. */
  callRinging(call: { callId: string; calleeId: string; callerName: string; kind: CallKind; expiresAt: number }): void;
  /** The call stopped ringing (answered, declined, cancelled, timed out): close its notifications. */
  callClosed(callId: string, reason: EndReason): void;
  /** A message for `toUserId`: a notification on each subscribed session without a live socket. */
  newMessage(m: { conversationId: string; toUserId: string; fromName: string; body: string }): void;
}

/** The ends after which the callee learns "Missed call from …"; any other end just closes the ringing notification. */
export const MISSED: ReadonlySet<EndReason> = new Set<EndReason>(['cancelled', 'no_answer', 'peer_disconnected', 'unavailable', 'internal_error']);
const DAY_S = 86_400;
const PREVIEW_MAX = 140;

/** A push service's Topic header: at most 32 URL-safe characters, so a UUID without its hyphens. */
const topicOf = (id: string) => id.replaceAll('-', '');

interface Rung {
  subs: StoredSubscription[];
  fromName: string;
  kind: CallKind;
  ringTtlS: number;
}

export interface PushServiceOptions {
  subject: string;
  previews: boolean;
  /** The HTTPS agent pushes go through (endpoints.ts pushAgent: refuses local addresses). */
  agent?: Agent;
}

/** Sends Web Push messages (RFC 8030/8291/8292) with the server's VAPID keys, through `web-push`. */
export class PushService implements PushNotifier {
  /** Calls that were pushed, until they stop ringing: whom to tell that they did. */
  private readonly rung = new Map<string, Promise<Rung>>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    readonly store: PushStore,
    private readonly realtime: Realtime,
    private readonly keys: VapidKeys,
    private readonly log: FastifyBaseLogger,
    private readonly opts: PushServiceOptions,
  ) {}

  get publicKey(): string {
    return this.keys.publicKey;
  }

  async canRing(userId: string): Promise<boolean> {
    try {
      return (await this.store.forUser(userId)).some((s) => !this.realtime.isSessionOnline(s.sessionId));
    } catch (err) {
      this.log.error({ err, userId }, 'push: could not read subscriptions');
      return false;
    }
  }

  callRinging(call: { callId: string; calleeId: string; callerName: string; kind: CallKind; expiresAt: number }): void {
    const ringTtlS = Math.max(1, Math.ceil((call.expiresAt - Date.now()) / 1000));
    const rung = this.offlineSubscriptions(call.calleeId).then((subs) => ({ subs, fromName: call.callerName, kind: call.kind, ringTtlS }));
    this.rung.set(call.callId, rung);
    this.track(
      rung.then(async ({ subs }) => {
        const payload: PushPayload = { type: 'call.ringing', callId: call.callId, fromName: call.callerName, kind: call.kind, expiresAt: call.expiresAt };
        await Promise.all(subs.map((s) => this.send(s, payload, { TTL: ringTtlS, urgency: 'high', topic: topicOf(call.callId) })));
      }),
    );
  }

  callClosed(callId: string, reason: EndReason): void {
    const rung = this.rung.get(callId);
    if (!rung) return;
    this.rung.delete(callId);
    this.track(
      rung.then(async ({ subs, fromName, kind, ringTtlS }) => {
        const missed = MISSED.has(reason);
        const payload: PushPayload = { type: 'call.closed', callId, fromName, kind, missed };
        // Same topic: a ringing push the device has not fetched yet is replaced, never shown late.
        await Promise.all(subs.map((s) => this.send(s, payload, { TTL: missed ? DAY_S : ringTtlS, urgency: 'high', topic: topicOf(callId) })));
      }),
    );
  }

  newMessage(m: { conversationId: string; toUserId: string; fromName: string; body: string }): void {
    this.track(
      this.offlineSubscriptions(m.toUserId).then(async (subs) => {
        const preview = this.opts.previews ? (m.body.length > PREVIEW_MAX ? `${m.body.slice(0, PREVIEW_MAX - 1)}…` : m.body) : undefined;
        const payload: PushPayload = { type: 'message.new', conversationId: m.conversationId, fromName: m.fromName, ...(preview ? { preview } : {}) };
        await Promise.all(subs.map((s) => this.send(s, payload, { TTL: DAY_S, urgency: 'normal', topic: topicOf(m.conversationId) })));
      }),
    );
  }

  /** Resolves when every push started so far has been answered (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** The user's subscribed sessions that have no device connected: a connected one hears it on its socket. */
  private async offlineSubscriptions(userId: string): Promise<StoredSubscription[]> {
    try {
      return (await this.store.forUser(userId)).filter((s) => !this.realtime.isSessionOnline(s.sessionId));
    } catch (err) {
      this.log.error({ err, userId }, 'push: could not read subscriptions');
      return [];
    }
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((err: unknown) => this.log.error({ err }, 'push: unexpected failure'));
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
  }

  private async send(sub: StoredSubscription, payload: PushPayload, o: { TTL: number; urgency: 'high' | 'normal'; topic: string }): Promise<void> {
    // The endpoint is a bearer capability: log its host only.
    const fields = { event: 'push.send', type: payload.type, userId: sub.userId, host: new URL(sub.endpoint).host, ttl: o.TTL, urgency: o.urgency };
    const webpush = await loadWebPush();
    try {
      const res = await webpush.sendNotification({ endpoint: sub.endpoint, keys: sub.keys }, JSON.stringify(payload), {
        vapidDetails: { subject: this.opts.subject, publicKey: this.keys.publicKey, privateKey: this.keys.privateKey },
        TTL: o.TTL,
        urgency: o.urgency,
        topic: o.topic,
        timeout: 10_000,
        ...(this.opts.agent ? { agent: this.opts.agent } : {}),
      });
      this.log.info({ ...fields, status: res.statusCode }, 'push sent');
    } catch (err) {
      const status = err instanceof webpush.WebPushError ? err.statusCode : undefined;
      if (status === 404 || status === 410) {
        // The browser unsubscribed or the push service expired the subscription: never again.
        await this.store.remove(sub.endpoint);
        this.log.info({ ...fields, status }, 'push subscription gone: removed');
        return;
      }
      this.log.warn({ ...fields, status, err: (err as Error).message }, 'push not delivered');
    }
  }
}
