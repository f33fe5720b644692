import type { Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { firstHole, highestSeq, lowestSeq, mergeMessages } from './messages.ts';

const conversationId = '9a3c1c5e-6f0a-4c7e-8f38-2d9b1b0c0e01';
const msg = (seq: number, id = `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`): Message => ({
  id,
  conversationId,
  seq,
  senderId: '11111111-1111-4111-8111-111111111111',
  body: `message ${seq}`,
  kind: 'text',
  call: null,
  createdAt: new Date(Date.UTC(2025, 0, 1, 0, seq)).toISOString(),
});

describe('mergeMessages', () => {
  it('orders by seq whatever the arrival order', () => {
    const merged = mergeMessages([msg(3)], [msg(5), msg(1), msg(4), msg(2)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('never holds a message twice (ack + echo, overlapping pages)', () => {
    const merged = mergeMessages([msg(1), msg(2)], [msg(2), msg(3), msg(3)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('keeps the held array when nothing is new', () => {
    const held = [msg(1), msg(2)];
    expect(mergeMessages(held, [msg(2)])).toBe(held);
    expect(mergeMessages(held, [])).toBe(held);
  });

  it('prepends an earlier page', () => {
    const merged = mergeMessages([msg(51), msg(52)], Array.from({ length: 50 }, (_, i) => msg(i + 1)));
    expect(merged).toHaveLength(52);
    expect(merged[0]?.seq).toBe(1);
    expect(merged.at(-1)?.seq).toBe(52);
  });
});

describe('seq helpers', () => {
  it('finds the ends of what is held', () => {
    expect(highestSeq([])).toBe(0);
    expect(lowestSeq([])).toBeNull();
    expect(highestSeq([msg(4), msg(9), msg(2)])).toBe(9);
    expect(lowestSeq([msg(4), msg(9), msg(2)])).toBe(2);
  });

  it('spots a hole between held messages', () => {
    expect(firstHole([])).toBeNull();
    expect(firstHole([msg(4), msg(5), msg(6)])).toBeNull();
    expect(firstHole([msg(1), msg(2), msg(6), msg(7), msg(9)])).toBe(2);
    expect(firstHole(mergeMessages([msg(1), msg(2)], [msg(3), msg(5)]))).toBe(3);
  });
});
