import type { PushSubscriptionRequest } from '@parley/protocol';
import type { Db } from '../../db/database.ts';
import { prepared } from '../../db/prepared.ts';

export interface StoredSubscription {
  endpoint: string;
  sessionId: string;
  userId: string;
  keys: { p256dh: string; auth: string };
}

/** Asked for every message and every ring (db/prepared.ts). */
const OF_USER = prepared(2, (db: Db, userId: string, now: number) =>
  db
    .selectFrom('push_subscriptions')
    .innerJoin('sessions', 'sessions.id', 'push_subscriptions.session_id')
    .select(['push_subscriptions.endpoint', 'push_subscriptions.session_id', 'push_subscriptions.user_id', 'push_subscriptions.p256dh', 'push_subscriptions.auth'])
    .where('push_subscriptions.user_id', '=', userId)
    .where('sessions.expires_at', '>', now),
);

/**
 * Push subscriptions, one per browser (its endpoint), owned by the auth session that stored it.
 * Deleting the session deletes them (foreign key, on SQLite and PostgreSQL alike): sign-out,
 * deactivation and a password reset all end the pushes to that browser.
 */
export class PushStore {
  constructor(private readonly db: Db) {}

  /** Stores or moves the subscription to this session (a browser that signed in again keeps its endpoint). */
  async save(sessionId: string, userId: string, sub: PushSubscriptionRequest): Promise<void> {
    const row = { endpoint: sub.endpoint, session_id: sessionId, user_id: userId, p256dh: sub.keys.p256dh, auth: sub.keys.auth, created_at: Date.now() };
    await this.db
      .insertInto('push_subscriptions')
      .values(row)
      .onConflict((oc) => oc.column('endpoint').doUpdateSet({ session_id: row.session_id, user_id: row.user_id, p256dh: row.p256dh, auth: row.auth, created_at: row.created_at }))
      .execute();
  }

  /** Removes the session's subscription with that endpoint; true when there was one. */
  async removeForSession(sessionId: string, endpoint: string): Promise<boolean> {
    const r = await this.db.deleteFrom('push_subscriptions').where('session_id', '=', sessionId).where('endpoint', '=', endpoint).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** The push service said the subscription is gone (404/410). */
  async remove(endpoint: string): Promise<void> {
    await this.db.deleteFrom('push_subscriptions').where('endpoint', '=', endpoint).execute();
  }

  async hasForSession(sessionId: string): Promise<boolean> {
    const row = await this.db.selectFrom('push_subscriptions').select('endpoint').where('session_id', '=', sessionId).executeTakeFirst();
    return !!row;
  }

  /** The user's subscriptions whose session is still live. */
  async forUser(userId: string): Promise<StoredSubscription[]> {
    const rows = await OF_USER.all(this.db, userId, Date.now());
    return rows.map((r) => ({ endpoint: r.endpoint, sessionId: r.session_id, userId: r.user_id, keys: { p256dh: r.p256dh, auth: r.auth } }));
  }
}
