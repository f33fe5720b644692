import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import { toUser, type User } from '../users/users-store.ts';

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** How often a session's last use is written at most: a tenth of the idle limit, never more than a minute. */
export const idleTouchMs = (idleMs: number): number => Math.min(60_000, Math.max(1000, Math.floor(idleMs / 10)));

export interface Session {
  id: string;
  user: User;
  expiresAt: number;
}

export interface SessionsOptions {
  /** SESSION_IDLE_MINUTES in ms; 0: sessions never expire for being idle (only at their TTL). */
  idleMs?: number;
  now?: () => number;
}

/**
 * Sign-in sessions. With an idle limit, each use (a request, a socket connect or event) slides the
 * session's last use forward; that is written at most once per `touchMs` per session, so busy
 * clients do not cost a database write per request. A session is idle once `idleMs + touchMs` have
 * passed since the written last use: never before `idleMs` after its real last use, at most
 * `touchMs` after.
 */
export class SessionsStore {
  readonly idleMs: number;
  readonly touchMs: number;
  private readonly now: () => number;
  /** The last use this node wrote (or read) per session, so socket events need no read to throttle. */
  private readonly written = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    opts: SessionsOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 0;
    this.touchMs = idleTouchMs(this.idleMs);
    this.now = opts.now ?? Date.now;
  }

  /** Creates a session and returns the token for the cookie; only its hash is stored. */
  async create(userId: string): Promise<{ token: string; session: Omit<Session, 'user'> }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const row = { id: hashToken(token), user_id: userId, created_at: now, expires_at: now + this.ttlMs, last_seen_at: now };
    await this.db.insertInto('sessions').values(row).execute();
    if (this.idleMs > 0) this.written.set(row.id, now);
    return { token, session: { id: row.id, expiresAt: row.expires_at } };
  }

  /** The live session of an active user for this token, or undefined; counts as a use of it. */
  async resolve(token: string | undefined): Promise<Session | undefined> {
    if (!token || token.length > 100) return undefined;
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .select(['sessions.id as session_id', 'sessions.expires_at', 'sessions.last_seen_at'])
      .where('sessions.id', '=', hashToken(token))
      .executeTakeFirst();
    const now = this.now();
    if (!row || row.expires_at <= now || row.active !== 1 || this.isIdle(row.last_seen_at, now)) return undefined;
    this.written.set(row.session_id, Math.max(row.last_seen_at, this.written.get(row.session_id) ?? 0));
    await this.touch(row.session_id);
    return { id: row.session_id, user: toUser(row), expiresAt: row.expires_at };
  }

  /**
   * A use of the session (a socket event): writes its last use when the written one is `touchMs`
   * old. Nothing to write (nearly every event) answers undefined at once, not a promise.
   */
  touch(sessionId: string): Promise<void> | undefined {
    if (this.idleMs <= 0) return undefined;
    const now = this.now();
    const last = this.written.get(sessionId);
    if (last !== undefined && now - last < this.touchMs) return undefined;
    this.written.set(sessionId, now);
    return this.db
      .updateTable('sessions')
      .set({ last_seen_at: now })
      .where('id', '=', sessionId)
      .where('last_seen_at', '<', now)
      .execute()
      .then(() => undefined);
  }

  private isIdle(lastSeen: number, now: number): boolean {
    return this.idleMs > 0 && now - lastSeen >= this.idleMs + this.touchMs;
  }

  /** Deletes the sessions that have been idle too long (none when idle expiry is off); returns their ids. */
  async deleteIdle(): Promise<string[]> {
    if (this.idleMs <= 0) return [];
    const cutoff = this.now() - this.idleMs - this.touchMs;
    const rows = await this.db.deleteFrom('sessions').where('last_seen_at', '<=', cutoff).returning('id').execute();
    for (const { id } of rows) this.written.delete(id);
    for (const [id, at] of this.written) if (at <= cutoff) this.written.delete(id);
    return rows.map((r) => r.id);
  }

  async delete(sessionId: string): Promise<void> {
    this.written.delete(sessionId);
    await this.db.deleteFrom('sessions').where('id', '=', sessionId).execute();
  }

  /** Deletes the session this cookie token names, whoever's it is; returns its id when there was one. */
  async deleteByToken(token: string | undefined): Promise<string | undefined> {
    if (!token || token.length > 100) return undefined;
    const id = hashToken(token);
    const rows = await this.db.deleteFrom('sessions').where('id', '=', id).returning('id').execute();
    this.written.delete(id);
    return rows.length > 0 ? id : undefined;
  }

  async deleteForUser(userId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  /** Every session of the user but `keepId` (the device that asked). */
  async deleteForUserExcept(userId: string, keepId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).where('id', '!=', keepId).execute();
  }

  async deleteExpired(): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', this.now()).execute();
  }
}
