import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import { toUser, type User } from '../users/users-store.ts';

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface Session {
  id: string;
  user: User;
  expiresAt: number;
}

export class SessionsStore {
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  /** Creates a session and returns the token for the cookie; only its hash is stored. */
  async create(userId: string): Promise<{ token: string; session: Omit<Session, 'user'> }> {
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const row = { id: hashToken(token), user_id: userId, created_at: now, expires_at: now + this.ttlMs };
    await this.db.insertInto('sessions').values(row).execute();
    return { token, session: { id: row.id, expiresAt: row.expires_at } };
  }

  /** The live session of an active user for this token, or undefined. */
  async resolve(token: string | undefined): Promise<Session | undefined> {
    if (!token || token.length > 100) return undefined;
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .select(['sessions.id as session_id', 'sessions.expires_at'])
      .where('sessions.id', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || row.expires_at <= Date.now() || row.active !== 1) return undefined;
    return { id: row.session_id, user: toUser(row), expiresAt: row.expires_at };
  }

  async delete(sessionId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', sessionId).execute();
  }

  async deleteForUser(userId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  /** Every session of the user but `keepId` (the device that asked). */
  async deleteForUserExcept(userId: string, keepId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).where('id', '!=', keepId).execute();
  }

  async deleteExpired(): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', Date.now()).execute();
  }
}
