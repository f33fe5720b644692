import { randomUUID } from 'node:crypto';
import type { Conversation, Message, SendMessage, SyncResult } from '@parley/protocol';
import { CallRecord, describeCall, LIMITS } from '@parley/protocol';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../../db/database.ts';
import { GroupCommit } from '../../db/group-commit.ts';
import { prepared } from '../../db/prepared.ts';
import type { MessagesTable } from '../../db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { toUser, type User } from '../users/users-store.ts';

type MessageRow = Omit<Selectable<MessagesTable>, 'kind' | 'call_json'> & { kind?: string | null; call_json?: string | null };

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    senderId: row.sender_id,
    body: row.body,
    kind: row.kind === 'call' ? 'call' : 'text',
    call: row.call_json ? CallRecord.parse(JSON.parse(row.call_json)) : null,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

const pairKey = (a: string, b: string) => (a < b ? `${a}:${b}` : `${b}:${a}`);

// The queries of every message sent, compiled once (db/prepared.ts).
const MEMBERS = prepared(1, (db: Db, conversationId: string) =>
  db.selectFrom('conversation_members').innerJoin('users', 'users.id', 'conversation_members.user_id').selectAll('users').where('conversation_id', '=', conversationId),
);
const NEXT_SEQ = prepared(2, (db: Db, conversationId: string, now: number) =>
  db
    .updateTable('conversations')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1), last_message_at: now }))
    .where('id', '=', conversationId)
    .returning('last_seq'),
);
const INSERT_TEXT = prepared(6, (db: Db, id: string, conversationId: string, seq: number, senderId: string, body: string, createdAt: number) =>
  db.insertInto('messages').values({ id, conversation_id: conversationId, seq, sender_id: senderId, body, created_at: createdAt }),
);
const READ_OWN = prepared(3, (db: Db, conversationId: string, userId: string, seq: number) =>
  db.updateTable('conversation_members').set({ read_seq: seq }).where('conversation_id', '=', conversationId).where('user_id', '=', userId),
);
const INSERT_CALL = prepared(8, (db: Db, id: string, conversationId: string, seq: number, senderId: string, body: string, kind: string, callJson: string, createdAt: number) =>
  db.insertInto('messages').values({ id, conversation_id: conversationId, seq, sender_id: senderId, body, kind, call_json: callJson, created_at: createdAt }),
);
const READ_BOTH = prepared(4, (db: Db, conversationId: string, a: string, b: string, seq: number) =>
  db.updateTable('conversation_members').set({ read_seq: seq }).where('conversation_id', '=', conversationId).where('user_id', 'in', [a, b]),
);
const INSERT_CONVERSATION = prepared(3, (db: Db, id: string, pairKey: string, createdAt: number) =>
  db.insertInto('conversations').values({ id, pair_key: pairKey, last_message_at: null, created_at: createdAt }),
);
const INSERT_MEMBERS = prepared(3, (db: Db, conversationId: string, a: string, b: string) =>
  db.insertInto('conversation_members').values([
    { conversation_id: conversationId, user_id: a },
    { conversation_id: conversationId, user_id: b },
  ]),
);
const MESSAGE_BY_ID = prepared(1, (db: Db, id: string) => db.selectFrom('messages').selectAll().where('id', '=', id));
const CONVERSATION_OF_PAIR = prepared(1, (db: Db, pairKey: string) => db.selectFrom('conversations').select('id').where('pair_key', '=', pairKey));

/** A conversation as one member sees it, before presence is added. */
export type ConversationView = Omit<Conversation, 'peer'> & { peer: User };

export class ChatStore {
  /** Messages and call entries: written in group commits on SQLite (db/group-commit.ts). */
  private readonly writes: GroupCommit;

  constructor(private readonly db: Db) {
    this.writes = new GroupCommit(db);
  }

  /** Returns the 1:1 conversation between the two, creating it on first use. */
  async open(userId: string, peerId: string): Promise<string> {
    if (userId === peerId) throw new AppError('bad_request', 'You cannot open a conversation with yourself', { userId: 'is yourself' });
    const key = pairKey(userId, peerId);
    const existing = await CONVERSATION_OF_PAIR.first(this.db, key);
    if (existing) return existing.id;
    const id = randomUUID();
    try {
      await this.db.transaction().execute((tx) => this.insertConversation(tx, id, key, userId, peerId));
      return id;
    } catch (err) {
      // Both people opened it at the same moment: the unique pair_key kept one.
      const raced = await this.db.selectFrom('conversations').select('id').where('pair_key', '=', key).executeTakeFirst();
      if (raced) return raced.id;
      throw err;
    }
  }

  /** The other member, or throws when `userId` is not a member. */
  async peerOf(userId: string, conversationId: string): Promise<User> {
    const members = await MEMBERS.all(this.db, conversationId);
    if (members.length === 0) throw new AppError('not_found', 'No such conversation');
    if (!members.some((m) => m.id === userId)) throw new AppError('forbidden', 'You are not a member of this conversation');
    const peer = members.find((m) => m.id !== userId);
    if (!peer) throw new AppError('internal', 'Conversation has no peer');
    return toUser(peer);
  }

  private conversationsQuery(userId: string) {
    return this.db
      .selectFrom('conversation_members as me')
      .innerJoin('conversations as c', 'c.id', 'me.conversation_id')
      .innerJoin('conversation_members as other', (j) =>
        j.onRef('other.conversation_id', '=', 'c.id').on('other.user_id', '!=', userId),
      )
      .innerJoin('users as u', 'u.id', 'other.user_id')
      .leftJoin('messages as lm', (j) => j.onRef('lm.conversation_id', '=', 'c.id').onRef('lm.seq', '=', 'c.last_seq'))
      .where('me.user_id', '=', userId)
      .select([
        'c.id as id',
        'c.last_seq as last_seq',
        'c.last_message_at as last_message_at',
        'c.created_at as created_at',
        'u.id as peer_id',
        'u.email as peer_email',
        'u.name as peer_name',
        'u.role as peer_role',
        'u.active as peer_active',
        'lm.id as lm_id',
        'lm.sender_id as lm_sender_id',
        'lm.body as lm_body',
        'lm.created_at as lm_created_at',
        'lm.kind as lm_kind',
        'lm.call_json as lm_call_json',
      ])
      .select(
        sql<number>`(select count(*) from messages m where m.conversation_id = c.id and m.seq > me.read_seq and m.sender_id <> ${userId})`.as(
          'unread',
        ),
      );
  }

  private toView(r: Awaited<ReturnType<ReturnType<ChatStore['conversationsQuery']>['execute']>>[number]): ConversationView {
    return {
      id: r.id,
      lastSeq: r.last_seq,
      unread: Number(r.unread),
      peer: { id: r.peer_id, email: r.peer_email, name: r.peer_name, role: r.peer_role as User['role'], active: r.peer_active === 1 },
      lastMessage:
        r.lm_id && r.lm_sender_id && r.lm_body !== null && r.lm_created_at !== null
          ? toMessage({
              id: r.lm_id,
              conversation_id: r.id,
              seq: r.last_seq,
              sender_id: r.lm_sender_id,
              body: r.lm_body,
              kind: r.lm_kind,
              call_json: r.lm_call_json,
              created_at: r.lm_created_at,
            })
          : null,
    };
  }

  /** The user's conversations, most recent activity first. */
  async list(userId: string): Promise<ConversationView[]> {
    const rows = await this.conversationsQuery(userId).execute();
    rows.sort((a, b) => (b.last_message_at ?? b.created_at) - (a.last_message_at ?? a.created_at));
    return rows.map((r) => this.toView(r));
  }

  async get(userId: string, conversationId: string): Promise<ConversationView> {
    const row = await this.conversationsQuery(userId).where('c.id', '=', conversationId).executeTakeFirst();
    if (!row) {
      await this.peerOf(userId, conversationId); // throws not_found or forbidden
      throw new AppError('not_found', 'No such conversation');
    }
    return this.toView(row);
  }

  /**
   * Stores a message exactly once. A retry with the same id returns the stored message; the same id
   * with a different sender, conversation or body is a conflict. `created` tells the caller whether to fan out.
   */
  async send(senderId: string, input: SendMessage): Promise<{ message: Message; created: boolean; peer: User }> {
    const peer = await this.peerOf(senderId, input.conversationId);
    if (!peer.active) {
      // A retry of a message stored before the peer was deactivated still gets its message back.
      const existing = await this.findRetry(senderId, input);
      if (existing) return { message: existing, created: false, peer };
      throw new AppError('recipient_inactive', `${peer.name}'s account is deactivated`);
    }
    // A retry is rare: the insert's primary key finds it (below), so a new message costs no lookup.
    try {
      // May run twice (group-commit.ts): database work only, until the commit.
      const message = await this.writes.run(async (tx) => {
        const now = Date.now();
        // The row update takes the conversation's lock in PostgreSQL, so seq order is commit order.
        const updated = await NEXT_SEQ.first(tx, input.conversationId, now);
        if (!updated) throw new AppError('not_found', 'No such conversation');
        const seq = updated.last_seq;
        const row = { id: input.id, conversation_id: input.conversationId, seq, sender_id: senderId, body: input.body, created_at: now };
        await INSERT_TEXT.run(tx, row.id, row.conversation_id, seq, senderId, row.body, now);
        await READ_OWN.run(tx, input.conversationId, senderId, seq);
        return toMessage(row);
      });
      return { message, created: true, peer };
    } catch (err) {
      // A retry, or the same id sent twice at once: the primary key kept the first.
      const raced = await this.findRetry(senderId, input);
      if (raced) return { message: raced, created: false, peer };
      throw err;
    }
  }

  /**
   * Writes a finished call into the callers' conversation (sender: the caller). Idempotent on the
   * call id. An answered call is read by both; a missed one stays unread for the callee.
   */
  async appendCall(record: CallRecord, calleeId: string): Promise<Message> {
    const key = pairKey(record.callerId, calleeId);
    const conversation = await CONVERSATION_OF_PAIR.first(this.db, key);
    try {
      // A pair's first call writes its conversation and its entry in one transaction (one commit).
      return await this.writes.run(async (tx) => {
        const id = conversation?.id ?? randomUUID();
        if (!conversation) await this.insertConversation(tx, id, key, record.callerId, calleeId);
        return this.insertCall(tx, id, record, calleeId);
      });
    } catch (err) {
      // Rare, so looked for only now: the entry was written before (its id is the call id)…
      const existing = await MESSAGE_BY_ID.first(this.db, record.callId);
      if (existing) return toMessage(existing);
      if (conversation) throw err;
      // …or both people's conversation was opened at the same moment: the unique pair_key kept the other.
      const id = await this.open(record.callerId, calleeId);
      return this.writes.run((tx) => this.insertCall(tx, id, record, calleeId));
    }
  }

  private async insertConversation(tx: Db, id: string, key: string, userId: string, peerId: string): Promise<void> {
    await INSERT_CONVERSATION.run(tx, id, key, Date.now());
    await INSERT_MEMBERS.run(tx, id, userId, peerId);
  }

  private async insertCall(tx: Db, conversationId: string, record: CallRecord, calleeId: string): Promise<Message> {
    const now = Date.now();
    const updated = await NEXT_SEQ.first(tx, conversationId, now);
    if (!updated) throw new AppError('not_found', 'No such conversation');
    const seq = updated.last_seq;
    const row = {
      id: record.callId,
      conversation_id: conversationId,
      seq,
      sender_id: record.callerId,
      body: describeCall(record),
      kind: 'call',
      call_json: JSON.stringify(record),
      created_at: now,
    };
    await INSERT_CALL.run(tx, row.id, conversationId, seq, row.sender_id, row.body, row.kind, row.call_json, now);
    // An answered call is read by both; a missed one only by the caller.
    if (record.durationS !== null) await READ_BOTH.run(tx, conversationId, record.callerId, calleeId, seq);
    else await READ_OWN.run(tx, conversationId, record.callerId, seq);
    return toMessage(row);
  }

  /**
   * How a finished call ended, as `userId` took part in it as the callee; undefined when there is
   * no entry for it (not ended, or capped) or they were not its callee.
   */
  async endedCallFor(userId: string, callId: string): Promise<CallRecord | undefined> {
    const row = await MESSAGE_BY_ID.first(this.db, callId);
    if (!row?.call_json || row.sender_id === userId) return undefined;
    const members = await MEMBERS.all(this.db, row.conversation_id);
    if (!members.some((m) => m.id === userId)) return undefined;
    return CallRecord.parse(JSON.parse(row.call_json));
  }

  async hasMessage(id: string): Promise<boolean> {
    return !!(await this.db.selectFrom('messages').select('id').where('id', '=', id).executeTakeFirst());
  }

  private async findRetry(senderId: string, input: SendMessage): Promise<Message | undefined> {
    const row = await MESSAGE_BY_ID.first(this.db, input.id);
    if (!row) return undefined;
    if (row.sender_id !== senderId || row.conversation_id !== input.conversationId || row.body !== input.body) {
      throw new AppError('conflict', 'A different message with this id already exists');
    }
    return toMessage(row);
  }

  /** A page of messages, oldest first. */
  async messages(
    userId: string,
    conversationId: string,
    page: { before?: number | undefined; after?: number | undefined; limit: number },
  ): Promise<{ messages: Message[]; hasMore: boolean }> {
    await this.peerOf(userId, conversationId);
    let q = this.db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId);
    if (page.after !== undefined) {
      q = q.where('seq', '>', page.after).orderBy('seq', 'asc');
    } else {
      if (page.before !== undefined) q = q.where('seq', '<', page.before);
      q = q.orderBy('seq', 'desc');
    }
    const rows = await q.limit(page.limit + 1).execute();
    const hasMore = rows.length > page.limit;
    const pageRows = rows.slice(0, page.limit);
    if (page.after === undefined) pageRows.reverse();
    return { messages: pageRows.map(toMessage), hasMore };
  }

  /** Moves the user's read mark forward (never back, never past the last message) and returns what is still unread. */
  async markRead(userId: string, conversationId: string, seq: number): Promise<{ seq: number; unread: number }> {
    const before = await this.get(userId, conversationId);
    const target = Math.min(seq, before.lastSeq);
    await this.db
      .updateTable('conversation_members')
      .set({ read_seq: target })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .where('read_seq', '<', target)
      .execute();
    const after = await this.get(userId, conversationId);
    return { seq: target, unread: after.unread };
  }

  /** Everything newer than the client's cursors, one page per conversation at most. */
  async sync(userId: string, cursors: Record<string, number>): Promise<Omit<SyncResult, 'conversations'> & { conversations: ConversationView[] }> {
    const conversations = await this.list(userId);
    const messages: Message[] = [];
    const truncated: string[] = [];
    for (const c of conversations) {
      const since = cursors[c.id];
      if (since === undefined || since >= c.lastSeq) continue;
      const page = await this.messages(userId, c.id, { after: since, limit: LIMITS.pageSizeMax });
      messages.push(...page.messages);
      if (page.hasMore) truncated.push(c.id);
    }
    return { conversations, messages, truncated };
  }
}
