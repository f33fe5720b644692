import type { Conversation, Message, PublicUser } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { applyMessage, sortConversations, totalUnread, upsertConversation } from './conversations.ts';

const me = '11111111-1111-4111-8111-111111111111';
const peer: PublicUser = {
  id: '22222222-2222-4222-8222-222222222222',
  name: 'Nina Nurse',
  email: 'nina@clinic.test',
  role: 'nurse',
  active: true,
  online: false,
};

const message = (conversationId: string, seq: number, senderId: string, minute = seq): Message => ({
  id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
  conversationId,
  seq,
  senderId,
  body: `m${seq}`,
  kind: 'text',
  call: null,
  createdAt: new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString(),
});

const conversation = (id: string, lastSeq: number, unread = 0, minute = lastSeq): Conversation => ({
  id,
  peer,
  lastMessage: lastSeq > 0 ? message(id, lastSeq, peer.id, minute) : null,
  lastSeq,
  unread,
});

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';

describe('applyMessage', () => {
  it("counts a new message from the peer as unread, not one's own", () => {
    const fromPeer = applyMessage(conversation(A, 2, 0), message(A, 3, peer.id), me);
    expect(fromPeer).toMatchObject({ lastSeq: 3, unread: 1, lastMessage: { seq: 3 } });
    const mine = applyMessage(fromPeer, message(A, 4, me), me);
    expect(mine).toMatchObject({ lastSeq: 4, unread: 1, lastMessage: { seq: 4 } });
  });

  it('ignores a message it has already counted', () => {
    const held = conversation(A, 5, 2);
    expect(applyMessage(held, message(A, 5, peer.id), me)).toBe(held);
    expect(applyMessage(held, message(A, 3, peer.id), me)).toBe(held);
  });
});

describe('upsertConversation', () => {
  it('does not let an older summary undo a live message', () => {
    const live = conversation(A, 7, 3);
    const stale = { ...conversation(A, 6, 2), peer: { ...peer, name: 'Nina N. Nurse' } };
    const merged = upsertConversation(live, stale);
    expect(merged.lastSeq).toBe(7);
    expect(merged.unread).toBe(3);
    expect(merged.peer.name).toBe('Nina N. Nurse');
  });

  it('takes a newer or equal summary as is (the server knows the unread count)', () => {
    const fresh = conversation(A, 7, 0);
    expect(upsertConversation(conversation(A, 7, 3), fresh)).toBe(fresh);
    expect(upsertConversation(undefined, fresh)).toBe(fresh);
  });
});

describe('sortConversations', () => {
  it('puts the most recent first; a just-opened empty one by when it was opened', () => {
    const list = [conversation(A, 1, 0, 1), conversation(B, 1, 0, 30), conversation(C, 0)];
    expect(sortConversations(list).map((c) => c.id)).toEqual([B, A, C]);
    const opened = { [C]: Date.UTC(2025, 0, 1, 0, 10) };
    expect(sortConversations(list, opened).map((c) => c.id)).toEqual([B, C, A]);
  });

  it('sums unread', () => {
    expect(totalUnread([conversation(A, 3, 2), conversation(B, 1, 1)])).toBe(3);
  });
});
