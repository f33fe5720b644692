import type { Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { OutboxEntry } from './outbox.ts';
import { buildTimeline } from './timeline.ts';

const me = '11111111-1111-4111-8111-111111111111';
const peer = '22222222-2222-4222-8222-222222222222';
const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const at = (day: number, hour: number, minute = 0) => new Date(2025, 2, day, hour, minute).toISOString();
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const message = (n: number, senderId: string, createdAt: string): Message => ({
  id: id(n),
  conversationId: A,
  seq: n,
  senderId,
  body: `m${n}`,
  kind: 'text',
  call: null,
  createdAt,
});
const pending = (n: number, conversationId = A, status: OutboxEntry['status'] = 'sending'): OutboxEntry => ({
  id: id(n),
  conversationId,
  body: `p${n}`,
  createdAt: at(2, 12, 0),
  status,
  error: status === 'failed' ? 'No.' : null,
});

const shape = (items: ReturnType<typeof buildTimeline>) =>
  items.map((i) => (i.kind === 'day' ? 'day' : i.kind === 'call' ? 'call' : `${i.id.slice(-2)}:${i.status}${i.mine ? ':mine' : ''}${i.continued ? ':cont' : ''}`));

describe('buildTimeline', () => {
  it('puts pending messages of this conversation after the stored ones', () => {
    const items = buildTimeline([message(1, peer, at(2, 9))], [pending(90), pending(91, B), pending(92, A, 'failed')], A, me);
    expect(shape(items)).toEqual(['day', '01:sent', '90:sending:mine', '92:failed:mine:cont']);
  });

  it('hides a pending entry once its message is stored', () => {
    const items = buildTimeline([message(1, me, at(2, 9)), message(90, me, at(2, 9, 1))], [pending(90)], A, me);
    expect(shape(items)).toEqual(['day', '01:sent:mine', '90:sent:mine:cont']);
  });

  it('separates days and groups quick runs by one sender', () => {
    const items = buildTimeline(
      [message(1, peer, at(1, 9)), message(2, peer, at(1, 9, 2)), message(3, me, at(1, 9, 3)), message(4, me, at(1, 9, 30)), message(5, me, at(2, 8))],
      [],
      A,
      me,
    );
    expect(shape(items)).toEqual(['day', '01:sent', '02:sent:cont', '03:sent:mine', '04:sent:mine', 'day', '05:sent:mine']);
  });

  it("words a call entry from the viewer's side and breaks the run around it", () => {
    const call: Message = {
      ...message(2, peer, at(1, 9, 1)),
      kind: 'call',
      body: 'Missed video call',
      call: { callId: id(77), kind: 'video', callerId: peer, reason: 'no_answer', durationS: null },
    };
    const items = buildTimeline([message(1, peer, at(1, 9)), call, message(3, peer, at(1, 9, 2))], [], A, me);
    expect(shape(items)).toEqual(['day', '01:sent', 'call', '03:sent']);
    expect(items[2]).toMatchObject({ kind: 'call', text: 'Missed video call' });
    const asCaller = buildTimeline([call], [], A, peer);
    expect(asCaller[1]).toMatchObject({ kind: 'call', text: 'Video call · no answer', quality: null });
  });

  it('adds how an answered call travelled, the same for both sides', () => {
    const call: Message = {
      ...message(2, peer, at(1, 9, 1)),
      kind: 'call',
      body: 'Video call · 3:12',
      call: { callId: id(78), kind: 'video', callerId: peer, reason: 'user_hangup', durationS: 192, quality: { path: 'relay', protocol: 'udp', rttMs: 48, lossPct: 0.2 } },
    };
    for (const viewer of [me, peer]) {
      expect(buildTimeline([call], [], A, viewer)[1]).toMatchObject({ kind: 'call', text: 'Video call · 3:12', quality: 'Relayed (TURN) · UDP · 48 ms · 0.2 % loss' });
    }
  });
});
